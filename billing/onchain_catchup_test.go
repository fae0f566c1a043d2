package billing

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/internal/regtest"
)

// logRecorder is a slog handler that keeps the messages of the records it handles, with
// their invoice_id attribute.
type logRecorder struct {
	mu      sync.Mutex
	records []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, record slog.Record) error {
	line := record.Message
	record.Attrs(func(a slog.Attr) bool {
		if a.Key == "invoice_id" {
			line += " " + a.Value.String()
		}
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, line)
	return nil
}

func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

func (r *logRecorder) has(line string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, got := range r.records {
		if got == line {
			return true
		}
	}
	return false
}

func TestServiceWaitsForCatchUpBeforeExpiry(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	rpc := node.RPCConfig()
	proxy := regtest.StartProxy(t, rpc.Host)
	source, err := bitcoin.DialRPC(context.Background(), bitcoin.RPCSourceConfig{
		Kind: bitcoin.NodeBtcd, Host: proxy.Addr(), User: rpc.User, Password: rpc.Pass,
		Certificates: rpc.Certificates, PollInterval: 50 * time.Millisecond,
		Logger: svcTestLogger(),
	})
	if err != nil {
		t.Fatalf("DialRPC: %v", err)
	}
	t.Cleanup(source.Close)
	logs := &logRecorder{}
	var gateway *OnChainGateway
	// Each start builds a new gateway, as a restarted server does; its payments are
	// stamped by the service's fake clock.
	b := newServiceBundle(t, bundleOptions{configure: func(c *Config) {
		var err error
		gateway, err = NewOnChainGateway(OnChainGatewayConfig{
			Account: testAccountKey(t), Source: source,
			Cursors: StoreCursor{Store: c.Store.(*SQLStore), Name: "regtest"}, Depth: 6,
			Now: c.Clock.Now, Logger: svcTestLogger(),
		})
		if err != nil {
			t.Fatalf("NewOnChainGateway: %v", err)
		}
		c.Gateway = gateway
		c.Logger = slog.New(logs)
	}})
	ctx := context.Background()
	synced := func() bool { ok, _ := gateway.Synced(ctx); return ok }
	svcWaitFor(t, 20*time.Second, "the gateway to catch up", synced)
	inv := b.submit(t, "")
	b.stopService(t)

	// Paid and confirmed while the server is stopped and cut off from its node; the
	// server comes back after the invoice's expiry, still cut off.
	proxy.Cut()
	address, err := btcutil.DecodeAddress(inv.Destination, bitcoin.Regtest.Params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.PayAddress(address, inv.Amount, false); err != nil {
		t.Fatalf("PayAddress: %v", err)
	}
	if _, err := node.Mine(2); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(inv.ExpiresAt.Add(time.Minute))
	b.startService(t)
	if ok, _ := gateway.Synced(ctx); ok {
		t.Fatal("Synced with the node cut off = true, want false")
	}
	if err := b.svc.Tick(ctx); err != nil {
		t.Fatalf("Tick: %v", err)
	}
	svcWaitFor(t, 20*time.Second, "the expiry to wait for the gateway", func() bool {
		return logs.has("invoice deadline waits for the gateway to catch up " + inv.ID)
	})
	if got := b.invoiceState(t, inv.ID); got != StateNew {
		t.Fatalf("invoice is %s while the gateway catches up, want New", got)
	}

	proxy.Restore(t)
	// rpcclient reconnects its websocket 5 s after the first failed attempt, then 10 s.
	var l *Lease
	svcWaitFor(t, 60*time.Second, "the lease to run", func() bool {
		l, err = b.svc.LeaseForInvoice(ctx, inv.ID)
		return err == nil && l.Status == LeaseRunning
	})
	if l.InstanceID == "" {
		t.Error("running lease without an instance")
	}
	settled, err := b.svc.Invoice(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if settled.State != StateSettled || settled.Status != StatusNone {
		t.Errorf("invoice is %s/%s, want Settled/None: the payment was mined before the "+
			"expiry", settled.State, settled.Status)
	}
	payments, err := b.svc.Payments(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(payments) != 1 || payments[0].SeenAt.After(inv.ExpiresAt) {
		t.Errorf("payments %+v, want one seen before the expiry %v", payments, inv.ExpiresAt)
	}
	kinds := b.eventKinds(t, inv.ID)
	if svcHasKind(kinds, EventInvoiceExpired) || svcHasKind(kinds, EventInvoicePaidLate) {
		t.Errorf("invoice events %v include an expiry or a late payment", kinds)
	}
}
