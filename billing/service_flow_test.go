package billing

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/instars/instars/eucalyptus"
	"github.com/instars/instars/internal/ec2emu"
	"github.com/instars/instars/metering"
	"github.com/instars/instars/pgp"
)

// serviceBundle is a service with real parts around it: a SQLite store, the EC2 emulator
// with the eucalyptus driver, a payment ledger behind the test gateway, and a fake clock.
type serviceBundle struct {
	svc      *Service
	store    *SQLStore
	chain    *svcChain
	emu      *ec2emu.Server
	driver   *eucalyptus.Driver
	clock    *metering.FakeClock
	server   *pgp.Server
	customer svcCustomer

	baseConfig Config
	configure  func(*Config)
	alerts     chan Alert
}

type bundleOptions struct {
	dir       string
	configure func(*Config)
}

// svcTestLogger discards logs unless INSTARS_TEST_LOG is set.
func svcTestLogger() *slog.Logger {
	if os.Getenv("INSTARS_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newServiceBundle(t testing.TB, opts bundleOptions) *serviceBundle {
	t.Helper()
	ctx := context.Background()
	if opts.dir == "" {
		opts.dir = t.TempDir()
	}
	store, err := OpenSQLite(ctx, filepath.Join(opts.dir, "billing.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	chain := newSvcChain()
	chainSrv := httptest.NewServer(chain)
	t.Cleanup(chainSrv.Close)
	emu, driver := svcCloud(t, "")
	b := &serviceBundle{
		store: store, chain: chain, emu: emu, driver: driver,
		// Keys made now are valid only from now, so the clock starts at the wall time.
		clock:    metering.NewFakeClock(time.Now().UTC().Truncate(time.Second)),
		server:   svcServerKey(t, opts.dir),
		customer: newSvcCustomer(t),
		alerts:   make(chan Alert, 100),
	}
	cfg := Config{
		Store:       store,
		Gateway:     &svcGateway{url: chainSrv.URL, client: chainSrv.Client(), interval: 10 * time.Millisecond},
		Provisioner: EucalyptusProvisioner{Driver: driver},
		ServerKey:   b.server, Network: &chaincfg.RegressionNetParams,
		Plans: []metering.Plan{svcPlan()}, Clock: b.clock,
		Notifier: NotifierFunc(func(_ context.Context, a Alert) error {
			b.alerts <- a
			return nil
		}),
		CloudRetryBase: 10 * time.Millisecond, JobPollInterval: 20 * time.Millisecond,
		Logger: svcTestLogger(),
	}
	b.baseConfig, b.configure = cfg, opts.configure
	b.startService(t)
	return b
}

// startService starts a new Service on the bundle's store, as a restarted process would.
func (b *serviceBundle) startService(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	cfg := b.baseConfig
	if b.configure != nil {
		b.configure(&cfg)
	}
	svc, err := NewService(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	b.svc = svc
}

// stopService stops the bundle's Service.
func (b *serviceBundle) stopService(t testing.TB) {
	t.Helper()
	if err := b.svc.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// submit orders the test plan as the bundle's customer.
func (b *serviceBundle) submit(t testing.TB, lease string) *Invoice {
	t.Helper()
	envelope := b.customer.order(t, b.server.PublicKey(), svcPlan().ID, lease, refundAddrA,
		b.clock.Now())
	inv, err := b.svc.SubmitOrder(context.Background(), envelope, b.customer.key.PublicKey())
	if err != nil {
		t.Fatalf("SubmitOrder: %v", err)
	}
	return inv
}

func (b *serviceBundle) invoiceState(t testing.TB, id string) InvoiceState {
	t.Helper()
	inv, err := b.svc.Invoice(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inv.State
}

func (b *serviceBundle) waitLease(t testing.TB, invoiceID string, status LeaseStatus) *Lease {
	t.Helper()
	var l *Lease
	svcWaitFor(t, 20*time.Second, "lease of "+invoiceID+" to be "+string(status), func() bool {
		var err error
		l, err = b.svc.LeaseForInvoice(context.Background(), invoiceID)
		return err == nil && l.Status == status
	})
	return l
}

// advance moves the clock and runs the work that is due.
func (b *serviceBundle) advance(t testing.TB, d time.Duration) {
	t.Helper()
	b.clock.Advance(d)
	if err := b.svc.Tick(context.Background()); err != nil {
		t.Fatalf("Tick: %v", err)
	}
}

func (b *serviceBundle) eventKinds(t testing.TB, subject string) []EventKind {
	t.Helper()
	events, err := b.svc.ListEvents(context.Background(), subject, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []EventKind
	for _, ev := range events {
		kinds = append(kinds, ev.Kind)
	}
	return kinds
}

func svcHasKind(kinds []EventKind, kind EventKind) bool {
	for _, k := range kinds {
		if k == kind {
			return true
		}
	}
	return false
}

func TestServiceOrderToTermination(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{})
	events, cancel := b.svc.Subscribe(256)
	defer cancel()

	inv := b.submit(t, "")
	if inv.State != StateNew || inv.Amount != 50_000 {
		t.Fatalf("new invoice is %v for %d sat, want New for 50000", inv.State, inv.Amount)
	}
	svcWaitFor(t, 5*time.Second, "the gateway to watch the invoice", func() bool {
		return b.chain.isWatched(inv.Destination)
	})

	txid := b.chain.pay(inv.Destination, inv.Amount, 0)
	svcWaitFor(t, 5*time.Second, "Processing", func() bool {
		return b.invoiceState(t, inv.ID) == StateProcessing
	})
	if _, err := b.svc.LeaseForInvoice(ctx, inv.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a lease exists before the payment confirmed: %v", err)
	}
	b.chain.setConfirmations(txid, 1)
	l := b.waitLease(t, inv.ID, LeaseRunning)

	if l.State != metering.StateActive || !l.StartedAt.Equal(b.clock.Now()) {
		t.Fatalf("running lease is %s from %v, want active from %v", l.State, l.StartedAt,
			b.clock.Now())
	}
	if want := b.clock.Now().Add(time.Hour); !l.EndsAt.Equal(want) {
		t.Fatalf("lease ends at %v, want %v", l.EndsAt, want)
	}
	instances := b.emu.Instances()
	if len(instances) != 1 || instances[0].ID != l.InstanceID || instances[0].State != "running" {
		t.Fatalf("emulator has %+v, want one running instance %s", instances, l.InstanceID)
	}
	if instances[0].KeyName != eucalyptus.KeyPairName(l.ID) {
		t.Fatalf("instance key pair %q, want %q", instances[0].KeyName,
			eucalyptus.KeyPairName(l.ID))
	}

	armored, err := b.svc.Credentials(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := pgp.OpenCredentials(strings.NewReader(armored), b.customer.key,
		b.server.PublicKey())
	if err != nil {
		t.Fatalf("customer cannot open the credentials: %v", err)
	}
	var creds Credentials
	if err := json.Unmarshal(msg.Payload, &creds); err != nil {
		t.Fatal(err)
	}
	if creds.Address == "" || creds.Address != instances[0].PublicIP {
		t.Errorf("credentials address %q, want the instance's public IP %q", creds.Address,
			instances[0].PublicIP)
	}
	if len(creds.HostKeys) == 0 || !strings.HasPrefix(creds.HostKeys[0].Fingerprint, "SHA256:") {
		t.Errorf("credentials host keys %+v, want SHA256 fingerprints", creds.HostKeys)
	}
	if !creds.EndsAt.Equal(l.EndsAt) {
		t.Errorf("credentials lease end %v, want %v", creds.EndsAt, l.EndsAt)
	}

	b.advance(t, 31*time.Minute)
	svcWaitFor(t, 5*time.Second, "the reminder", func() bool {
		return svcHasKind(b.eventKinds(t, l.ID), EventLeaseReminder)
	})
	b.advance(t, 29*time.Minute) // the end: grace starts
	if got, _ := b.svc.Lease(ctx, l.ID); got.State != metering.StateGrace ||
		got.Status != LeaseRunning {
		t.Fatalf("at the end the lease is %s/%s, want running in grace", got.Status, got.State)
	}
	b.advance(t, 10*time.Minute) // the end of grace
	svcWaitFor(t, 10*time.Second, "the instance to be terminated", func() bool {
		got, err := b.svc.Lease(ctx, l.ID)
		return err == nil && !got.InstanceTerminatedAt.IsZero()
	})
	for _, in := range b.emu.Instances() {
		if in.ID == l.InstanceID && in.State != "terminated" && in.State != "shutting-down" {
			t.Fatalf("instance %s is %s after the lease ended", in.ID, in.State)
		}
	}
	if len(b.emu.KeyPairs()) != 0 {
		t.Fatalf("key pairs left after the lease ended: %+v", b.emu.KeyPairs())
	}
	want := []EventKind{EventInvoiceCreated, EventInvoicePaymentReceived, EventInvoiceProcessing,
		EventInvoiceSettled, EventInstanceLaunched, EventLeaseStarted, EventLeaseReminder,
		EventLeaseEnded, EventInstanceTerminated}
	got := map[EventKind]bool{}
	timeout := time.After(5 * time.Second)
	for len(got) < len(want) {
		select {
		case ev := <-events:
			got[ev.Kind] = true
		case <-timeout:
			t.Fatalf("subscriber got %v, want all of %v", got, want)
		}
	}
	for _, k := range want {
		if !got[k] {
			t.Errorf("subscriber missed %s", k)
		}
	}
}
