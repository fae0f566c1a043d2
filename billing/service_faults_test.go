package billing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/eucalyptus"
	"github.com/instars/instars/internal/ec2emu"
	"github.com/instars/instars/metering"
	"github.com/instars/instars/pgp"
)

func TestServiceNodeDownDoesNotExpirePaidInvoice(t *testing.T) {
	b := newServiceBundle(t, bundleOptions{})
	inv := b.submit(t, "")
	b.chain.setSynced(false)
	txid := b.chain.pay(inv.Destination, inv.Amount, 0)

	// The expiry passes while the node is down: the deadline must wait for the gateway.
	b.advance(t, 20*time.Minute)
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if got := b.invoiceState(t, inv.ID); got != StateNew {
			t.Fatalf("invoice is %s while the gateway is catching up, want New", got)
		}
		time.Sleep(20 * time.Millisecond)
	}

	b.chain.setConfirmations(txid, 1)
	b.chain.setSynced(true)
	b.waitLease(t, inv.ID, LeaseRunning)
	kinds := b.eventKinds(t, inv.ID)
	if svcHasKind(kinds, EventInvoiceExpired) {
		t.Fatalf("invoice went through Expired although it was paid while the node was down: %v",
			kinds)
	}
	if !svcHasKind(kinds, EventInvoiceSettled) {
		t.Fatalf("invoice events %v lack %s", kinds, EventInvoiceSettled)
	}
}

func TestServiceExpiresUnpaidInvoice(t *testing.T) {
	b := newServiceBundle(t, bundleOptions{})
	inv := b.submit(t, "")
	b.advance(t, 14*time.Minute)
	if got := b.invoiceState(t, inv.ID); got != StateNew {
		t.Fatalf("invoice is %s before its expiry, want New", got)
	}
	b.advance(t, 2*time.Minute)
	svcWaitFor(t, 5*time.Second, "the invoice to expire", func() bool {
		return b.invoiceState(t, inv.ID) == StateExpired
	})
	if _, err := b.svc.LeaseForInvoice(context.Background(), inv.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an expired invoice has a lease: %v", err)
	}
}

func TestServiceRetriesFlakyCloudWithoutDuplicates(t *testing.T) {
	b := newServiceBundle(t, bundleOptions{})
	// The first launch calls fail outright, then one succeeds on the cloud but its response is
	// lost: the retry must find that instance by its client token, not launch another.
	for _, f := range []ec2emu.Fault{
		{Action: "RunInstances", Kind: ec2emu.FaultUnavailable, Count: 3},
		{Action: "RunInstances", Kind: ec2emu.FaultLostResponse, Count: 1},
	} {
		if err := b.emu.InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
	inv := b.submit(t, "")
	b.chain.pay(inv.Destination, inv.Amount, 1)
	l := b.waitLease(t, inv.ID, LeaseRunning)
	instances := b.emu.Instances()
	if len(instances) != 1 || instances[0].ID != l.InstanceID {
		t.Fatalf("emulator has %d instances (%+v), want exactly the lease's %s",
			len(instances), instances, l.InstanceID)
	}
	if calls := b.emu.Calls("RunInstances"); calls < 4 {
		t.Fatalf("RunInstances called %d times, want at least 4 (3 failures and a success)",
			calls)
	}
}

func TestServiceRefundsLeaseThatCannotLaunch(t *testing.T) {
	b := newServiceBundle(t, bundleOptions{configure: func(c *Config) { c.LaunchAttempts = 3 }})
	if err := b.emu.InjectFault(ec2emu.Fault{Action: "RunInstances",
		Kind: ec2emu.FaultUnavailable, Count: 1000}); err != nil {
		t.Fatal(err)
	}
	inv := b.submit(t, "")
	b.chain.pay(inv.Destination, inv.Amount, 1)
	l := b.waitLease(t, inv.ID, LeaseFailed)
	refunds, err := b.svc.Refunds(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(refunds) != 1 {
		t.Fatalf("%d refunds, want 1", len(refunds))
	}
	r := refunds[0]
	if r.Reason != RefundNotProvisioned || r.Amount != inv.Amount || r.LeaseID != l.ID ||
		r.Address != refundAddrA || r.State != RefundRequested {
		t.Fatalf("refund %+v, want %s of %d to %s for lease %s", r, RefundNotProvisioned,
			inv.Amount, refundAddrA, l.ID)
	}
	var got []AlertKind
	svcWaitFor(t, 5*time.Second, "the launch-failed alert", func() bool {
		select {
		case a := <-b.alerts:
			got = append(got, a.Kind)
		default:
		}
		return slices.Contains(got, AlertLaunchFailed)
	})
	if calls := b.emu.Calls("RunInstances"); calls == 0 {
		t.Fatal("RunInstances was never tried")
	}
	for _, in := range b.emu.Instances() {
		if in.State == ec2emu.StateRunning {
			t.Fatalf("instance %s runs for a lease that failed", in.ID)
		}
	}
	if _, err := b.svc.Credentials(context.Background(), l.ID); !errors.Is(err,
		ErrCredentialsNotReady) {
		t.Fatalf("credentials of a failed lease: %v, want ErrCredentialsNotReady", err)
	}
}

func TestServiceSuspendsLeaseWhenPaymentReorganisedAway(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{})
	inv := b.submit(t, "")
	txid := b.chain.pay(inv.Destination, inv.Amount, 1)
	l := b.waitLease(t, inv.ID, LeaseRunning)

	b.chain.setState(txid, PaymentRemoved)
	svcWaitFor(t, 5*time.Second, "the lease to be suspended", func() bool {
		got, err := b.svc.Lease(ctx, l.ID)
		return err == nil && got.Suspended && got.State == metering.StateSuspended
	})
	svcWaitFor(t, 5*time.Second, "the reorganisation alert", func() bool {
		select {
		case a := <-b.alerts:
			return a.Kind == AlertSettlementReverted
		default:
			return false
		}
	})
	if inv, _ := b.svc.Invoice(ctx, inv.ID); inv.State == StateSettled || !inv.SettlementReverted {
		t.Fatalf("invoice is %s (reverted %v), want no longer settled and flagged", inv.State,
			inv.SettlementReverted)
	}

	b.chain.setState(txid, PaymentSeen)
	svcWaitFor(t, 5*time.Second, "the lease to resume", func() bool {
		got, err := b.svc.Lease(ctx, l.ID)
		return err == nil && !got.Suspended && got.State == metering.StateActive
	})
	kinds := b.eventKinds(t, l.ID)
	for _, k := range []EventKind{EventLeaseSuspended, EventLeaseResumed} {
		if !svcHasKind(kinds, k) {
			t.Errorf("lease events %v lack %s", kinds, k)
		}
	}
	if n := len(b.emu.Instances()); n != 1 {
		t.Fatalf("%d instances after the payment came back, want the same 1", n)
	}
}

func TestServiceExtendsLease(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{})
	inv := b.submit(t, "")
	b.chain.pay(inv.Destination, inv.Amount, 1)
	l := b.waitLease(t, inv.ID, LeaseRunning)

	b.advance(t, 50*time.Minute)
	ext := b.submit(t, l.ID)
	b.chain.pay(ext.Destination, ext.Amount, 1)
	svcWaitFor(t, 5*time.Second, "the extension", func() bool {
		got, err := b.svc.Lease(ctx, l.ID)
		return err == nil && got.EndsAt.Equal(l.EndsAt.Add(time.Hour))
	})
	armored, err := b.svc.Credentials(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := pgp.OpenCredentials(strings.NewReader(armored), b.customer.key,
		b.server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	var creds Credentials
	if err := json.Unmarshal(msg.Payload, &creds); err != nil {
		t.Fatal(err)
	}
	if want := l.EndsAt.Add(time.Hour); !creds.EndsAt.Equal(want) {
		t.Fatalf("credentials state the end %v after the extension, want %v", creds.EndsAt,
			want)
	}
	newEnd := l.EndsAt.Add(time.Hour).UTC().Format(time.RFC3339)
	svcWaitFor(t, 5*time.Second, "the instance's paid-until tag to move", func() bool {
		for _, in := range b.emu.Instances() {
			if in.ID == l.InstanceID {
				return in.Tags[eucalyptus.TagPaidUntil] == newEnd
			}
		}
		return false
	})
	b.advance(t, 25*time.Minute) // past the first end and grace, before the new end
	got, err := b.svc.Lease(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != LeaseRunning || got.State != metering.StateActive {
		t.Fatalf("extended lease is %s/%s after its first end, want running/active",
			got.Status, got.State)
	}

	other := newSvcCustomer(t)
	envelope := other.order(t, b.server.PublicKey(), svcPlan().ID, l.ID, "", b.clock.Now())
	if _, err := b.svc.Extend(ctx, envelope, other.key.PublicKey()); !errors.Is(err,
		ErrLeaseNotExtendable) {
		t.Fatalf("another customer extending the lease: %v, want ErrLeaseNotExtendable", err)
	}
	plain := b.customer.order(t, b.server.PublicKey(), svcPlan().ID, "", "", b.clock.Now())
	if _, err := b.svc.Extend(ctx, plain, b.customer.key.PublicKey()); !errors.Is(err,
		ErrInvalidOrder) {
		t.Fatalf("Extend with an order naming no lease: %v, want ErrInvalidOrder", err)
	}
}

// TestServiceReplayedOrder sends an order again, which returns its first invoice, then
// another order with the same nonce, which is refused, and the order under another key.
func TestServiceReplayedOrder(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{})
	envelope := b.customer.order(t, b.server.PublicKey(), svcPlan().ID, "", "", b.clock.Now())
	first, err := b.svc.SubmitOrder(ctx, envelope, b.customer.key.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.svc.SubmitOrder(ctx, envelope, b.customer.key.PublicKey())
	if err != nil || again.ID != first.ID {
		t.Fatalf("the same envelope again: %v, %v; want invoice %s", again, err, first.ID)
	}
	msg, err := b.server.Open(bytes.NewReader(envelope), b.customer.key.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	var payload OrderPayload
	if err := json.Unmarshal(msg.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	payload.Units = 2
	changed, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	sameNonce, err := pgp.SealOrder(changed, b.customer.key, b.server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.SubmitOrder(ctx, sameNonce, b.customer.key.PublicKey()); !errors.Is(err,
		ErrNonceReused) {
		t.Fatalf("another order with the same nonce: %v, want ErrNonceReused", err)
	}
	other := newSvcCustomer(t)
	if _, err := b.svc.SubmitOrder(ctx, envelope, other.key.PublicKey()); err == nil {
		t.Fatal("an envelope signed by one customer was accepted under another's key")
	}
	invoices, err := b.svc.ListInvoices(ctx, b.customer.key.Fingerprint())
	if err != nil || len(invoices) != 1 {
		t.Fatalf("customer has %d invoices (%v), want 1", len(invoices), err)
	}
}

func TestServiceRefundsOverpayment(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{})
	inv := b.submit(t, "")
	b.chain.pay(inv.Destination, inv.Amount+7_000, 1)
	b.waitLease(t, inv.ID, LeaseRunning)
	refunds, err := b.svc.Refunds(ctx, b.customer.key.Fingerprint(), RefundRequested)
	if err != nil {
		t.Fatal(err)
	}
	if len(refunds) != 1 || refunds[0].Reason != RefundOverpaid || refunds[0].Amount != 7_000 {
		t.Fatalf("refunds %+v, want one overpayment refund of 7000 sat", refunds)
	}
	// A second payment to the settled invoice raises the refund still to be paid.
	b.chain.pay(inv.Destination, 3_000, 1)
	svcWaitFor(t, 5*time.Second, "the refund to grow", func() bool {
		got, err := b.svc.Refunds(ctx, "", "")
		return err == nil && len(got) == 1 && got[0].Amount == 10_000
	})
	txid := strings.Repeat("ab", 32)
	paid, err := b.svc.MarkRefundPaid(ctx, refunds[0].ID, txid)
	if err != nil || paid.State != RefundPaid {
		t.Fatalf("MarkRefundPaid = %+v, %v", paid, err)
	}
}

func TestServiceInvalidatesNeverConfirmedPayment(t *testing.T) {
	b := newServiceBundle(t, bundleOptions{})
	inv := b.submit(t, "")
	b.chain.pay(inv.Destination, inv.Amount, 0)
	svcWaitFor(t, 5*time.Second, "Processing", func() bool {
		return b.invoiceState(t, inv.ID) == StateProcessing
	})
	b.advance(t, 15*time.Minute+DefaultMonitoring+time.Minute)
	svcWaitFor(t, 5*time.Second, "Invalid", func() bool {
		return b.invoiceState(t, inv.ID) == StateInvalid
	})
	if !svcHasKind(b.eventKinds(t, inv.ID), EventInvoiceInvalid) {
		t.Fatalf("events %v lack %s", b.eventKinds(t, inv.ID), EventInvoiceInvalid)
	}
	if _, err := b.svc.LeaseForInvoice(context.Background(), inv.ID); !errors.Is(err,
		ErrNotFound) {
		t.Fatalf("an invalid invoice has a lease: %v", err)
	}
}

func TestServiceAlertsWhenTerminationKeepsFailing(t *testing.T) {
	b := newServiceBundle(t, bundleOptions{})
	inv := b.submit(t, "")
	b.chain.pay(inv.Destination, inv.Amount, 1)
	l := b.waitLease(t, inv.ID, LeaseRunning)
	if err := b.emu.InjectFault(ec2emu.Fault{Action: "TerminateInstances",
		Kind: ec2emu.FaultUnavailable, Count: 1000}); err != nil {
		t.Fatal(err)
	}
	b.advance(t, 71*time.Minute)
	var got []AlertKind
	svcWaitFor(t, 60*time.Second, "the terminate-failed alert", func() bool {
		select {
		case a := <-b.alerts:
			got = append(got, a.Kind)
		default:
		}
		return slices.Contains(got, AlertTerminateFailed)
	})
	b.emu.ClearFaults()
	svcWaitFor(t, 120*time.Second, "the termination once the cloud recovers", func() bool {
		got, err := b.svc.Lease(context.Background(), l.ID)
		return err == nil && !got.InstanceTerminatedAt.IsZero()
	})
}

// foreignCursorGateway is the test gateway whose Run stops at once, as the on-chain
// gateway does when its saved chain position is not on the node's chain.
type foreignCursorGateway struct {
	*svcGateway
	runs atomic.Int32
}

func (g *foreignCursorGateway) Run(context.Context, PaymentSink) error {
	g.runs.Add(1)
	return fmt.Errorf("tracker stopped: %w", &bitcoin.ForeignCursorError{
		Cursor: bitcoin.BlockID{Height: 120}, NodeGenesis: *chaincfg.MainNetParams.GenesisHash,
	})
}

// TestServiceAlertsOnForeignCursor checks that a gateway stopping because its chain position
// is foreign raises one operator alert, not one per restart, naming the position and what
// to do.
func TestServiceAlertsOnForeignCursor(t *testing.T) {
	var gateway *foreignCursorGateway
	b := newServiceBundle(t, bundleOptions{configure: func(cfg *Config) {
		gateway = &foreignCursorGateway{svcGateway: cfg.Gateway.(*svcGateway)}
		cfg.Gateway = gateway
	}})
	var alert Alert
	select {
	case alert = <-b.alerts:
	case <-time.After(20 * time.Second):
		t.Fatalf("no alert after the gateway stopped")
	}
	if alert.Kind != AlertGatewayStopped {
		t.Fatalf("alert kind %s, want %s", alert.Kind, AlertGatewayStopped)
	}
	for _, want := range []string{"120:", "delete the saved cursor", "not being followed"} {
		if !strings.Contains(alert.Subject+" "+alert.Message, want) {
			t.Errorf("alert %q / %q does not mention %q", alert.Subject, alert.Message, want)
		}
	}
	svcWaitFor(t, 20*time.Second, "the gateway to be restarted", func() bool {
		return gateway.runs.Load() >= 2
	})
	if running, err := b.svc.GatewayRunning(); running ||
		!strings.Contains(fmt.Sprint(err), "saved cursor") {
		t.Errorf("GatewayRunning = %v, %v; want stopped with the cursor error", running, err)
	}
	alerts, err := b.svc.Alerts(context.Background(), 0)
	if err != nil {
		t.Fatalf("Alerts: %v", err)
	}
	stopped := 0
	for _, a := range alerts {
		if a.Kind == AlertGatewayStopped {
			stopped++
		}
	}
	if stopped != 1 {
		t.Errorf("%d gateway alerts after %d restarts, want 1", stopped, gateway.runs.Load())
	}
}

// resumingGateway is the test gateway with a PaymentResumer that fails a number of times
// before it returns a time, and a record of the destinations it watched.
type resumingGateway struct {
	*svcGateway
	from     time.Time
	failures atomic.Int32

	mu      sync.Mutex
	watched map[string]bool
}

func (g *resumingGateway) ResumesFrom(context.Context) (time.Time, error) {
	if g.failures.Add(-1) >= 0 {
		return time.Time{}, errors.New("node unreachable")
	}
	return g.from, nil
}

func (g *resumingGateway) Watch(ctx context.Context, req PaymentRequest, until time.Time) error {
	g.mu.Lock()
	g.watched[req.Destination] = true
	g.mu.Unlock()
	return g.svcGateway.Watch(ctx, req, until)
}

func (g *resumingGateway) watching(destination string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.watched[destination]
}

// TestServiceCatchUpWatchRetried starts the service while its gateway cannot tell since when
// it catches up, and checks that the start still watches the open invoices and that a later
// sweep watches the invoice whose window ended while the service was stopped.
func TestServiceCatchUpWatchRetried(t *testing.T) {
	var gateway *resumingGateway
	b := newServiceBundle(t, bundleOptions{configure: func(cfg *Config) {
		if gateway == nil {
			gateway = &resumingGateway{svcGateway: cfg.Gateway.(*svcGateway),
				watched: map[string]bool{}}
		}
		cfg.Gateway = gateway
	}})
	ctx := context.Background()
	ended := b.submit(t, "")
	b.stopService(t)
	// Stopped past the end of the invoice's window; the gateway resumes from before it.
	gateway.from = b.clock.Now()
	b.clock.Advance(ended.MonitoringUntil.Sub(b.clock.Now()) + time.Minute)
	gateway.mu.Lock()
	clear(gateway.watched)
	gateway.mu.Unlock()
	gateway.failures.Store(1)
	b.startService(t)
	open := b.submit(t, "")
	if gateway.watching(ended.Destination) {
		t.Fatalf("the ended invoice was watched although the gateway could not tell " +
			"since when it catches up")
	}
	if err := b.svc.watchOpenInvoices(ctx); err != nil {
		t.Fatalf("watchOpenInvoices: %v", err)
	}
	if !gateway.watching(ended.Destination) || !gateway.watching(open.Destination) {
		t.Fatalf("after the sweep: ended watched %v, open watched %v; want both",
			gateway.watching(ended.Destination), gateway.watching(open.Destination))
	}
	// Once caught up, the sweep watches only what is open now.
	gateway.mu.Lock()
	clear(gateway.watched)
	gateway.mu.Unlock()
	if err := b.svc.watchOpenInvoices(ctx); err != nil {
		t.Fatalf("watchOpenInvoices: %v", err)
	}
	if gateway.watching(ended.Destination) {
		t.Errorf("the ended invoice is still watched at every sweep after the catch-up")
	}
}

// TestServiceRefundsOnlyConfirmedExcess pays a settled invoice again with a payment that does
// not yet meet the confirmation policy, as an unconfirmed original left on record after a
// fee bump is: no refund is owed until it confirms, and none at all if it disappears.
func TestServiceRefundsOnlyConfirmedExcess(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{})
	inv := b.submit(t, "")
	b.chain.pay(inv.Destination, inv.Amount, 1)
	b.waitLease(t, inv.ID, LeaseRunning)

	extra := b.chain.pay(inv.Destination, 4_000, 0)
	svcWaitFor(t, 5*time.Second, "the unconfirmed payment to count as paid", func() bool {
		got, err := b.svc.Invoice(ctx, inv.ID)
		return err == nil && got.Paid == inv.Amount+4_000
	})
	if refunds, err := b.svc.Refunds(ctx, "", ""); err != nil || len(refunds) != 0 {
		t.Fatalf("refunds %+v (%v) for an unconfirmed excess, want none", refunds, err)
	}
	b.chain.setConfirmations(extra, 1)
	svcWaitFor(t, 5*time.Second, "the refund of the confirmed excess", func() bool {
		got, err := b.svc.Refunds(ctx, "", "")
		return err == nil && len(got) == 1 && got[0].Amount == 4_000 &&
			got[0].Reason == RefundOverpaid
	})
}

// TestServiceExtendLeaseChecksTheLeaseFirst sends an extension of one lease to another
// lease's address and checks that it is rejected before anything is stored.
func TestServiceExtendLeaseChecksTheLeaseFirst(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{})
	var leases []*Lease
	for range 2 {
		inv := b.submit(t, "")
		b.chain.pay(inv.Destination, inv.Amount, 1)
		leases = append(leases, b.waitLease(t, inv.ID, LeaseRunning))
	}
	before, err := b.svc.ListInvoices(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	envelope := b.customer.order(t, b.server.PublicKey(), svcPlan().ID, leases[1].ID,
		refundAddrA, b.clock.Now())
	_, err = b.svc.ExtendLease(ctx, leases[0].ID, envelope, b.customer.key.PublicKey())
	if !errors.Is(err, ErrInvalidOrder) || !strings.Contains(err.Error(), leases[1].ID) {
		t.Fatalf("ExtendLease of the wrong lease = %v, want ErrInvalidOrder naming %s",
			err, leases[1].ID)
	}
	after, err := b.svc.ListInvoices(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("%d invoices after a rejected extension, want %d", len(after), len(before))
	}
	if _, err := b.svc.ExtendLease(ctx, leases[1].ID, envelope,
		b.customer.key.PublicKey()); err != nil {
		t.Fatalf("ExtendLease of the named lease: %v", err)
	}
}
