package billing

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/internal/regtest"
	"github.com/instars/instars/metering"
)

// regtestBundle is the service with the real on-chain gateway and tracker on a btcd regtest
// node, and the real eucalyptus driver on the EC2 emulator.
type regtestBundle struct {
	*serviceBundle
	node *regtest.Node
}

func newRegtestBundle(t testing.TB, node *regtest.Node) *regtestBundle {
	t.Helper()
	return newRegtestBundleWith(t, node, regtestOptions{})
}

// regtestOptions adjust a regtest bundle.
type regtestOptions struct {
	// configure is applied to the service's Config after the bundle's own settings.
	configure func(*Config)
	// blockTimeOffset is the on-chain gateway's BlockTimeOffset.
	blockTimeOffset time.Duration
}

// newRegtestBundleWith is newRegtestBundle with options.
func newRegtestBundleWith(t testing.TB, node *regtest.Node, opts regtestOptions) *regtestBundle {
	t.Helper()
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
	dir := t.TempDir()
	var gateway *OnChainGateway
	b := newServiceBundle(t, bundleOptions{dir: dir, configure: func(c *Config) {
		store := c.Store.(*SQLStore)
		gateway, err = NewOnChainGateway(OnChainGatewayConfig{
			Account: testAccountKey(t), Source: source,
			Cursors: StoreCursor{Store: store, Name: "regtest"}, Depth: 6,
			BlockTimeOffset: func() time.Duration { return opts.blockTimeOffset },
			Logger:          svcTestLogger(),
		})
		if err != nil {
			t.Fatalf("NewOnChainGateway: %v", err)
		}
		c.Gateway = gateway
		// The tracker stamps payments with the wall clock, so the service uses it too.
		c.Clock = nil
		if opts.configure != nil {
			opts.configure(c)
		}
	}})
	return &regtestBundle{serviceBundle: b, node: node}
}

// pay sends amount to the invoice's address from the node's wallet.
func (b *regtestBundle) pay(t testing.TB, inv *Invoice, amount btcutil.Amount) {
	t.Helper()
	addr, err := btcutil.DecodeAddress(inv.Destination, bitcoin.Regtest.Params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.node.PayAddress(addr, amount, false); err != nil {
		t.Fatalf("paying %s: %v", inv.Destination, err)
	}
}

// reorganiseAway has other, which never saw the invoice's payment, mine a longer chain and
// reconnect to miner, which then reorganises to it. It waits for the lease to be suspended
// and checks that the invoice is flagged as reverted.
func (b *regtestBundle) reorganiseAway(t *testing.T, miner, other *regtest.Node, invoiceID,
	leaseID string) {
	t.Helper()
	ctx := context.Background()
	if _, err := other.Mine(3); err != nil {
		t.Fatal(err)
	}
	if err := regtest.Connect(other, miner); err != nil {
		t.Fatal(err)
	}
	svcWaitFor(t, 30*time.Second, "the lease to be suspended", func() bool {
		got, err := b.svc.Lease(ctx, leaseID)
		return err == nil && got.Suspended
	})
	inv, err := b.svc.Invoice(ctx, invoiceID)
	if err != nil {
		t.Fatal(err)
	}
	if !inv.SettlementReverted {
		t.Fatalf("invoice %s is not flagged as reverted after the reorganisation", inv.State)
	}
}

func TestServiceEndToEndOnRegtest(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	b := newRegtestBundle(t, node)
	start := time.Now()
	inv := b.submit(t, "")
	b.pay(t, inv, inv.Amount)
	svcWaitFor(t, 20*time.Second, "the payment in the mempool to make the invoice Processing",
		func() bool { return b.invoiceState(t, inv.ID) == StateProcessing })
	if _, err := node.Mine(1); err != nil {
		t.Fatal(err)
	}
	l := b.waitLease(t, inv.ID, LeaseRunning)
	t.Logf("order to running instance: %v", time.Since(start))
	if l.State != metering.StateActive || l.InstanceID == "" {
		t.Fatalf("lease is %s with instance %q, want active with an instance", l.State,
			l.InstanceID)
	}
	if n := len(b.emu.Instances()); n != 1 {
		t.Fatalf("%d instances, want 1", n)
	}
}

func TestServiceFindsPaymentsMadeWhileStopped(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	b := newRegtestBundle(t, node)
	inv := b.submit(t, "")
	b.stopService(t)

	// Paid and confirmed while the service and its tracker are down.
	b.pay(t, inv, inv.Amount)
	if _, err := node.Mine(2); err != nil {
		t.Fatal(err)
	}
	if got := b.invoiceState(t, inv.ID); got != StateNew {
		t.Fatalf("invoice is %s before the restart, want New", got)
	}
	b.startService(t)
	l := b.waitLease(t, inv.ID, LeaseRunning)
	payments, err := b.svc.Payments(context.Background(), inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(payments) != 1 || payments[0].Amount != inv.Amount {
		t.Fatalf("payments after the restart: %+v, want the one payment of %d", payments,
			inv.Amount)
	}
	if l.InstanceID == "" {
		t.Fatal("running lease without an instance")
	}
}

func TestServiceSuspendsOnRegtestReorg(t *testing.T) {
	miner := regtest.Start(t, regtest.Options{})
	other := regtest.Start(t, regtest.Options{Empty: true})
	if err := regtest.Connect(other, miner); err != nil {
		t.Fatal(err)
	}
	b := newRegtestBundle(t, miner)
	ctx := context.Background()
	inv := b.submit(t, "")
	// The other node is cut off before the payment, so it never sees it; it then mines a
	// longer chain without it, and once reconnected the miner reorganises to that chain and
	// the payment goes back to its mempool.
	if err := regtest.Disconnect(other, miner); err != nil {
		t.Fatal(err)
	}
	b.pay(t, inv, inv.Amount)
	svcWaitFor(t, 20*time.Second, "Processing", func() bool {
		return b.invoiceState(t, inv.ID) == StateProcessing
	})
	if _, err := miner.Mine(1); err != nil {
		t.Fatal(err)
	}
	l := b.waitLease(t, inv.ID, LeaseRunning)
	b.reorganiseAway(t, miner, other, inv.ID, l.ID)
	if _, err := miner.Mine(1); err != nil {
		t.Fatal(err)
	}
	svcWaitFor(t, 30*time.Second, "the lease to resume", func() bool {
		got, err := b.svc.Lease(ctx, l.ID)
		return err == nil && !got.Suspended && got.State == metering.StateActive
	})
	if n := len(b.emu.Instances()); n != 1 {
		t.Fatalf("%d instances after the reorganisation, want the same 1", n)
	}
}

// TestServiceFollowsSettledPaymentAfterRestart settles an invoice on one confirmation, lets
// its monitoring window end, restarts the service and then reorganises the payment away:
// the restarted service must still be watching the address to notice.
func TestServiceFollowsSettledPaymentAfterRestart(t *testing.T) {
	miner := regtest.Start(t, regtest.Options{})
	other := regtest.Start(t, regtest.Options{Empty: true})
	if err := regtest.Connect(other, miner); err != nil {
		t.Fatal(err)
	}
	b := newRegtestBundleWith(t, miner, regtestOptions{configure: func(c *Config) {
		c.InvoiceExpiry, c.InvoiceMonitoring = 3*time.Second, time.Second
	}})
	if err := regtest.Disconnect(other, miner); err != nil {
		t.Fatal(err)
	}
	inv := b.submit(t, "")
	b.pay(t, inv, inv.Amount)
	if _, err := miner.Mine(1); err != nil {
		t.Fatal(err)
	}
	l := b.waitLease(t, inv.ID, LeaseRunning)
	svcWaitFor(t, 20*time.Second, "the monitoring window to end", func() bool {
		return time.Now().After(inv.MonitoringUntil)
	})
	b.stopService(t)
	b.startService(t)

	b.reorganiseAway(t, miner, other, inv.ID, l.ID)
}

// TestServiceFindsPaymentAfterWindowEndedWhileStopped pays and confirms an invoice while the
// service is stopped, and restarts it only after the invoice's monitoring window has
// ended: the payment, made in time, must still be found and counted.
func TestServiceFindsPaymentAfterWindowEndedWhileStopped(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	// Blocks mined in quick succession carry timestamps ahead of the clock, and a payment
	// is dated by its block when that is earlier than when it is found. The gateway takes
	// that lead off block times, as an operator would for a node whose clock runs ahead.
	tipHash, _, err := node.BestBlock()
	if err != nil {
		t.Fatal(err)
	}
	tip, err := node.Client().GetBlockHeader(tipHash)
	if err != nil {
		t.Fatal(err)
	}
	lead := max(time.Until(tip.Timestamp)+time.Second, 0)
	b := newRegtestBundleWith(t, node, regtestOptions{
		configure: func(c *Config) {
			c.InvoiceExpiry, c.InvoiceMonitoring = 3*time.Second, time.Second
		},
		blockTimeOffset: -lead,
	})
	inv := b.submit(t, "")
	b.stopService(t)
	b.pay(t, inv, inv.Amount)
	if _, err := node.Mine(1); err != nil {
		t.Fatal(err)
	}
	svcWaitFor(t, 20*time.Second, "the monitoring window to end", func() bool {
		return time.Now().After(inv.MonitoringUntil)
	})
	b.startService(t)
	b.waitLease(t, inv.ID, LeaseRunning)
	got, err := b.svc.Invoice(context.Background(), inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateSettled || got.Status == StatusPaidLate {
		t.Fatalf("invoice is %s (%s), want Settled and not paid late", got.State, got.Status)
	}
}

// TestServiceRemovesPaymentDoubleSpentWhileStopped accepts a payment at zero confirmations,
// stops the service, mines a double spend of it, and checks that after the restart the
// payment is recorded as removed and the lease it paid for is suspended.
func TestServiceRemovesPaymentDoubleSpentWhileStopped(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	b := newRegtestBundleWith(t, node, regtestOptions{configure: func(c *Config) {
		c.Policy = ConfirmationPolicy{ZeroConf: true}
	}})
	ctx := context.Background()
	inv := b.submit(t, "")
	addr, err := btcutil.DecodeAddress(inv.Destination, bitcoin.Regtest.Params)
	if err != nil {
		t.Fatal(err)
	}
	original, err := node.PayAddress(addr, inv.Amount, false)
	if err != nil {
		t.Fatal(err)
	}
	l := b.waitLease(t, inv.ID, LeaseRunning)
	b.stopService(t)

	// A transaction spending the same coins to another script (a P2WPKH of a made-up
	// key hash) replaces the payment.
	script := append([]byte{0x00, 0x14}, bytes.Repeat([]byte{7}, 20)...)
	conflict, err := node.BuildConflict(original,
		[]regtest.Payment{{Script: script, Amount: inv.Amount}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.MineTransactions(conflict); err != nil {
		t.Fatal(err)
	}
	b.startService(t)
	svcWaitFor(t, 30*time.Second, "the double-spent payment to be removed", func() bool {
		if err := b.svc.removeVanishedPayments(ctx); err != nil {
			t.Fatal(err)
		}
		payments, err := b.svc.Payments(ctx, inv.ID)
		return err == nil && len(payments) == 1 && payments[0].State == PaymentRemoved
	})
	svcWaitFor(t, 30*time.Second, "the lease to be suspended", func() bool {
		got, err := b.svc.Lease(ctx, l.ID)
		return err == nil && got.Suspended
	})
}

// TestServiceKeepsUnconfirmedPaymentAcrossRestart restarts the service while a payment it
// accepted at zero confirmations is still in the mempool, and checks that the check for
// vanished payments leaves it alone.
func TestServiceKeepsUnconfirmedPaymentAcrossRestart(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	b := newRegtestBundleWith(t, node, regtestOptions{configure: func(c *Config) {
		c.Policy = ConfirmationPolicy{ZeroConf: true}
	}})
	ctx := context.Background()
	inv := b.submit(t, "")
	b.pay(t, inv, inv.Amount)
	l := b.waitLease(t, inv.ID, LeaseRunning)
	b.stopService(t)
	b.startService(t)
	svcWaitFor(t, 30*time.Second, "the check of payments from before the start", func() bool {
		if err := b.svc.removeVanishedPayments(ctx); err != nil {
			t.Fatal(err)
		}
		b.svc.catchUpMu.Lock()
		defer b.svc.catchUpMu.Unlock()
		return !b.svc.vanishPending
	})
	payments, err := b.svc.Payments(ctx, inv.ID)
	if err != nil || len(payments) != 1 || payments[0].State != PaymentSeen {
		t.Fatalf("payments %+v (%v), want the one payment still seen", payments, err)
	}
	if got, err := b.svc.Lease(ctx, l.ID); err != nil || got.Suspended {
		t.Fatalf("lease %+v (%v), want it running", got, err)
	}
}
