package billing

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/internal/regtest"
)

// restartGap is how long the gateway or service stays stopped after a payment, so that the
// restart and the node's entry time, which has one-second precision, differ measurably.
const restartGap = 2 * time.Second

// checkSeenAt checks that seenAt, to the second, lies between before and after.
func checkSeenAt(t *testing.T, seenAt, before, after time.Time) {
	t.Helper()
	if seenAt.Before(before.Truncate(time.Second)) || seenAt.After(after) {
		t.Errorf("SeenAt = %v, want between %v and %v, when it was paid", seenAt, before,
			after)
	}
}

func TestOnChainPaymentSeenAt(t *testing.T) {
	handled := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	earlier, later := handled.Add(-time.Hour), handled.Add(time.Minute)
	tests := []struct {
		name      string
		kind      bitcoin.EventKind
		firstSeen time.Time
		blockTime time.Time
		want      time.Time
	}{
		{"notified mempool payment", bitcoin.EventMempool, time.Time{}, time.Time{}, handled},
		{"mempool payment found at start", bitcoin.EventMempool, earlier, time.Time{}, earlier},
		{"entry time ahead of the handler", bitcoin.EventMempool, later, time.Time{}, handled},
		{"confirmed, block earliest", bitcoin.EventConfirmed, earlier.Add(time.Minute),
			earlier, earlier},
		{"confirmed, entry earliest", bitcoin.EventConfirmed, earlier,
			earlier.Add(time.Minute), earlier},
		{"confirmed, block time only", bitcoin.EventConfirmed, time.Time{}, earlier, earlier},
		{"block time ignored unconfirmed", bitcoin.EventReorged, time.Time{}, earlier,
			handled},
		{"dropped with entry time", bitcoin.EventDropped, earlier, time.Time{}, earlier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			event := bitcoin.PaymentEvent{Kind: tt.kind, Value: 1_000,
				FirstSeen: tt.firstSeen, BlockTime: tt.blockTime}
			got := paymentFromEvent(event, handled)
			if !got.SeenAt.Equal(tt.want) {
				t.Errorf("SeenAt = %v, want %v", got.SeenAt, tt.want)
			}
			if !got.UpdatedAt.Equal(handled) {
				t.Errorf("UpdatedAt = %v, want the handling time %v", got.UpdatedAt, handled)
			}
		})
	}
}

func TestOnChainGatewayEntryTimeAfterRestart(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	rpc := node.RPCConfig()
	source, err := bitcoin.DialRPC(context.Background(), bitcoin.RPCSourceConfig{
		Kind: bitcoin.NodeBtcd, Host: rpc.Host, User: rpc.User, Password: rpc.Pass,
		Certificates: rpc.Certificates, PollInterval: 50 * time.Millisecond,
		Logger: svcTestLogger(),
	})
	if err != nil {
		t.Fatalf("DialRPC: %v", err)
	}
	t.Cleanup(source.Close)
	store, err := OpenSQLite(context.Background(), t.TempDir()+"/billing.db", nil)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	account := testAccountKey(t)
	// newGateway builds a gateway on the same store, as a restarted server does.
	newGateway := func() *OnChainGateway {
		gateway, err := NewOnChainGateway(OnChainGatewayConfig{
			Account: account, Source: source,
			Cursors: StoreCursor{Store: store, Name: "regtest"}, Depth: 6,
			Logger: svcTestLogger(),
		})
		if err != nil {
			t.Fatalf("NewOnChainGateway: %v", err)
		}
		return gateway
	}
	// runGateway runs gateway until it has caught up and returns the function that stops it.
	runGateway := func(gateway *OnChainGateway, inv *Invoice) func() {
		ctx, cancel := context.WithCancel(context.Background())
		request := PaymentRequest{Destination: inv.Destination}
		if err := gateway.Watch(ctx, request, inv.MonitoringUntil); err != nil {
			t.Fatalf("Watch: %v", err)
		}
		done := make(chan error, 1)
		go func() { done <- gateway.Run(ctx, recordPayment(store)) }()
		stop := func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		}
		svcWaitFor(t, 20*time.Second, "the gateway to catch up", func() bool {
			synced, _ := gateway.Synced(ctx)
			return synced
		})
		return stop
	}

	gateway := newGateway()
	invoicer, err := NewInvoicer(InvoicerConfig{
		Store: store, Gateway: gateway,
		Rates: &FixedRateSource{Rates: map[string]int64{"USD": 10_000_000}},
	})
	if err != nil {
		t.Fatalf("NewInvoicer: %v", err)
	}
	inv, err := invoicer.CreateInvoice(context.Background(),
		testOrder(testCustomer, "nonce-entrytime-01"),
		InvoiceTerms{Price: Price{Currency: "USD", Amount: 1250}, Label: "small 1d"})
	if err != nil {
		t.Fatalf("CreateInvoice: %v", err)
	}
	stop := runGateway(gateway, inv)
	stop()

	address, err := btcutil.DecodeAddress(inv.Destination, bitcoin.Regtest.Params)
	if err != nil {
		t.Fatal(err)
	}
	paidBefore := time.Now()
	if _, err := node.PayAddress(address, inv.Amount, false); err != nil {
		t.Fatalf("PayAddress: %v", err)
	}
	paidAfter := time.Now()
	svcWaitFor(t, 10*time.Second, "the gap before the restart", func() bool {
		return time.Now().After(paidAfter.Add(restartGap))
	})

	restarted := time.Now()
	stop = runGateway(newGateway(), inv)
	defer stop()
	waitForInvoice(t, store, inv.ID, StateProcessing, StatusNone)
	payments, err := store.Payments(context.Background(), inv.ID)
	if err != nil {
		t.Fatalf("Payments: %v", err)
	}
	if len(payments) != 1 {
		t.Fatalf("%d payments stored, want 1", len(payments))
	}
	seenAt := payments[0].SeenAt
	checkSeenAt(t, seenAt, paidBefore, paidAfter)
	if gap := restarted.Sub(seenAt); gap < restartGap {
		t.Errorf("SeenAt %v is %v before the restart, want at least %v", seenAt, gap,
			restartGap)
	} else {
		t.Logf("paid at %v, restarted %v later; SeenAt is %v before the restart",
			paidAfter.Format(time.StampMilli), restarted.Sub(paidAfter), gap)
	}
}

func TestRegtestServicePaidOnTimeWhileStopped(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	b := newRegtestBundleWith(t, node, regtestOptions{configure: func(c *Config) {
		c.InvoiceExpiry, c.InvoiceMonitoring = 3*time.Second, time.Minute
		// A payment taken as late would become a refund instead of a lease.
		c.LatePayments = LateDecline
	}})
	ctx := context.Background()
	inv := b.submit(t, "")
	b.stopService(t)

	paidBefore := time.Now()
	b.pay(t, inv, inv.Amount)
	paidAfter := time.Now()
	if !paidAfter.Before(inv.ExpiresAt) {
		t.Fatalf("paid at %v, not before the expiry %v: lengthen InvoiceExpiry", paidAfter,
			inv.ExpiresAt)
	}
	// The service comes back after the expiry, the payment still unconfirmed.
	svcWaitFor(t, 20*time.Second, "the invoice's expiry to pass", func() bool {
		return time.Now().After(inv.ExpiresAt.Add(restartGap))
	})
	restarted := time.Now()
	b.startService(t)
	svcWaitFor(t, 20*time.Second, "the payment to make the invoice Processing", func() bool {
		return b.invoiceState(t, inv.ID) == StateProcessing
	})
	processing, err := b.svc.Invoice(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if processing.Status != StatusNone {
		t.Errorf("invoice status is %s, want None: it was paid before the expiry",
			processing.Status)
	}
	payments, err := b.svc.Payments(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(payments) != 1 {
		t.Fatalf("%d payments, want 1", len(payments))
	}
	seenAt := payments[0].SeenAt
	checkSeenAt(t, seenAt, paidBefore, paidAfter)
	t.Logf("expiry %v after the payment, restart %v after it; SeenAt is %v before the restart",
		inv.ExpiresAt.Sub(paidAfter), restarted.Sub(paidAfter), restarted.Sub(seenAt))

	if _, err := node.Mine(1); err != nil {
		t.Fatal(err)
	}
	l := b.waitLease(t, inv.ID, LeaseRunning)
	if l.InstanceID == "" {
		t.Error("running lease without an instance")
	}
	settled, err := b.svc.Invoice(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if settled.State != StateSettled || settled.Status != StatusNone {
		t.Errorf("invoice is %s/%s, want Settled/None", settled.State, settled.Status)
	}
	kinds := b.eventKinds(t, inv.ID)
	if svcHasKind(kinds, EventInvoiceExpired) || svcHasKind(kinds, EventInvoicePaidLate) {
		t.Errorf("invoice events %v include an expiry or a late payment", kinds)
	}
	refunds, err := b.svc.Refunds(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(refunds) != 0 {
		t.Errorf("refunds %+v, want none", refunds)
	}
}
