package billing

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/internal/regtest"
	"github.com/instars/instars/metering"
)

// waitWatching waits until the gateway watches want destinations.
func waitWatching(t *testing.T, g *OnChainGateway, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for g.Watching() != want {
		if time.Now().After(deadline) {
			t.Fatalf("gateway watches %d destinations, want %d", g.Watching(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOnChainGatewayUnwatchesEndedInvoices(t *testing.T) {
	f := newOnchainFixture(t)
	clock := metering.NewFakeClock(time.Now())
	f.gateway.now = clock.Now
	f.gateway.unwatchInterval = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	terms := InvoiceTerms{Price: Price{Currency: "USD", Amount: 1250}, Label: "small 1d"}
	var invoices []*Invoice
	for _, nonce := range []string{"nonce-unwatch-0001", "nonce-unwatch-0002",
		"nonce-unwatch-0003"} {
		inv, err := f.invoicer.CreateInvoice(ctx, testOrder(testCustomer, nonce), terms)
		if err != nil {
			t.Fatalf("CreateInvoice: %v", err)
		}
		invoices = append(invoices, inv)
	}
	unpaid, paid, open := invoices[0], invoices[1], invoices[2]
	if got := f.gateway.Watching(); got != 3 {
		t.Fatalf("gateway watches %d destinations after three invoices, want 3", got)
	}

	runDone := make(chan error, 1)
	go func() { runDone <- f.gateway.Run(ctx, recordPayment(f.store)) }()
	synced := func() bool { ok, _ := f.gateway.Synced(ctx); return ok }
	svcWaitFor(t, 20*time.Second, "the gateway to catch up", synced)

	// The paid invoice's payment is followed until final, however late the clock.
	paidAddress, _ := btcutil.DecodeAddress(paid.Destination, bitcoin.Regtest.Params)
	if _, err := f.node.PayAddress(paidAddress, paid.Amount, false); err != nil {
		t.Fatalf("PayAddress: %v", err)
	}
	waitForInvoice(t, f.store, paid.ID, StateProcessing, StatusNone)
	// Re-watching, as the service's sweep does, keeps each invoice's own window.
	for _, inv := range invoices {
		if err := f.gateway.Watch(ctx, PaymentRequest{Destination: inv.Destination},
			inv.MonitoringUntil); err != nil {
			t.Fatalf("Watch: %v", err)
		}
	}
	clock.Set(unpaid.MonitoringUntil.Add(unwatchDelay + time.Second))
	open.MonitoringUntil = clock.Now().Add(time.Hour)
	if err := f.gateway.Watch(ctx, PaymentRequest{Destination: open.Destination},
		open.MonitoringUntil); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	waitWatching(t, f.gateway, 2)
	if f.gateway.tracker.Watching() != 2 {
		t.Errorf("tracker watches %d scripts, want 2", f.gateway.tracker.Watching())
	}

	if _, err := f.node.Mine(6); err != nil {
		t.Fatalf("Mine: %v", err)
	}
	waitWatching(t, f.gateway, 1)
	settled := waitForInvoice(t, f.store, paid.ID, StateSettled, StatusNone)
	if settled.Confirmed != paid.Amount {
		t.Errorf("settled invoice confirmed %d, want %d", settled.Confirmed, paid.Amount)
	}

	// A payment to an unwatched address is no longer reported.
	unpaidAddress, _ := btcutil.DecodeAddress(unpaid.Destination, bitcoin.Regtest.Params)
	if _, err := f.node.PayAddress(unpaidAddress, unpaid.Amount, false); err != nil {
		t.Fatalf("PayAddress: %v", err)
	}
	openAddress, _ := btcutil.DecodeAddress(open.Destination, bitcoin.Regtest.Params)
	if _, err := f.node.PayAddress(openAddress, 1_000, false); err != nil {
		t.Fatalf("PayAddress: %v", err)
	}
	if _, err := f.node.Mine(1); err != nil {
		t.Fatalf("Mine: %v", err)
	}
	// The payment to the invoice still watched comes in the same block.
	waitForInvoice(t, f.store, open.ID, StateNew, StatusPaidPartial)
	payments, err := f.store.Payments(ctx, unpaid.ID)
	if err != nil {
		t.Fatalf("Payments: %v", err)
	}
	if len(payments) != 0 {
		t.Errorf("unwatched invoice has payments %+v, want none", payments)
	}
	cancel()
	if err := <-runDone; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
}

func TestServiceRewatchesOnlyMonitoredInvoices(t *testing.T) {
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
	var gateway *OnChainGateway
	b := newServiceBundle(t, bundleOptions{configure: func(c *Config) {
		var err error
		gateway, err = NewOnChainGateway(OnChainGatewayConfig{
			Account: testAccountKey(t), Source: source,
			Cursors: StoreCursor{Store: c.Store.(*SQLStore), Name: "regtest"}, Depth: 6,
			Now: c.Clock.Now, Logger: svcTestLogger(),
			// The test clock is moved a day ahead of the clock miners stamp blocks with.
			BlockTimeOffset: func() time.Duration { return time.Until(c.Clock.Now()) },
		})
		if err != nil {
			t.Fatalf("NewOnChainGateway: %v", err)
		}
		gateway.unwatchInterval = 5 * time.Millisecond
		c.Gateway = gateway
	}})
	ctx := context.Background()

	ended := b.submit(t, "")
	address, err := btcutil.DecodeAddress(ended.Destination, bitcoin.Regtest.Params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.PayAddress(address, ended.Amount, false); err != nil {
		t.Fatalf("PayAddress: %v", err)
	}
	// Six blocks make the payment final for the tracker.
	if _, err := node.Mine(6); err != nil {
		t.Fatal(err)
	}
	svcWaitFor(t, 20*time.Second, "the paid invoice to settle", func() bool {
		return b.invoiceState(t, ended.ID) == StateSettled
	})
	b.advance(t, ended.MonitoringUntil.Sub(b.clock.Now())+unwatchDelay+time.Minute)
	open := b.submit(t, "")
	waitWatching(t, gateway, 1)

	b.stopService(t)
	b.startService(t)
	if got := gateway.Watching(); got != 1 {
		t.Fatalf("restarted gateway watches %d destinations, want 1", got)
	}
	gateway.watches.mu.Lock()
	_, watchingOpen := gateway.watches.destinations[open.Destination]
	gateway.watches.mu.Unlock()
	if !watchingOpen {
		t.Errorf("restarted gateway does not watch the open invoice's %s", open.Destination)
	}
	if inv, err := b.svc.Invoice(ctx, ended.ID); err != nil || inv.State != StateSettled {
		t.Errorf("ended invoice after the restart: %v, %v; want it still Settled", inv, err)
	}
}
