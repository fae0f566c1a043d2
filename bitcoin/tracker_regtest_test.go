package bitcoin

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/instars/instars/internal/regtest"
)

// dialNode returns an RPC source for a regtest node.
func dialNode(t *testing.T, node *regtest.Node, kind NodeKind) *RPCSource {
	t.Helper()
	cfg := node.RPCConfig()
	source, err := DialRPC(context.Background(), RPCSourceConfig{
		Kind: kind, Host: cfg.Host, User: cfg.User, Password: cfg.Pass,
		Certificates: cfg.Certificates, PollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(source.Close)
	return source
}

// runTracker runs a tracker on source until the test ends and returns its event log.
func runTracker(t *testing.T, source ChainSource, cursors CursorStore, depth int32,
	script []byte) (*eventLog, func()) {

	t.Helper()
	log := newEventLog()
	tracker, err := NewTracker(TrackerConfig{
		Source: source, Cursors: cursors, Handler: log, Depth: depth,
		RetryInterval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tracker.Watch(script, "inv"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tracker.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	}
	t.Cleanup(stop)
	return log, stop
}

func newScript(t *testing.T) []byte {
	t.Helper()
	script, err := regtest.NewScript()
	if err != nil {
		t.Fatal(err)
	}
	return script
}

func mine(t *testing.T, node *regtest.Node, count uint32) {
	t.Helper()
	if _, err := node.Mine(count); err != nil {
		t.Fatal(err)
	}
}

func TestRegtestPaymentToDepth(t *testing.T) {
	for _, kind := range []NodeKind{NodeBtcd, NodeBitcoind} {
		t.Run(kind.String(), func(t *testing.T) {
			node := regtest.Start(t, regtest.Options{})
			script := newScript(t)
			cursors := &MemoryCursorStore{}
			log, _ := runTracker(t, dialNode(t, node, kind), cursors, 3, script)
			waitCursorAtTip(t, node, cursors)

			tx, err := node.PayScript(script, 25_000, false)
			if err != nil {
				t.Fatal(err)
			}
			outpoint := outpointTo(t, tx, script)
			seen := log.expect(t, EventMempool, outpoint, 0)
			if seen.Value != 25_000 || seen.SignalsRBF || seen.WatchID != "inv" {
				t.Errorf("mempool event = %+v, want 25000 sat to inv without RBF", seen)
			}
			hashes, err := node.Mine(1)
			if err != nil {
				t.Fatal(err)
			}
			first := log.expect(t, EventConfirmed, outpoint, 1)
			if first.Block.Hash != *hashes[0] {
				t.Errorf("confirmed in %s, want %s", first.Block.Hash, hashes[0])
			}
			mine(t, node, 1)
			log.expect(t, EventConfirmed, outpoint, 2)
			mine(t, node, 1)
			if final := log.expect(t, EventConfirmed, outpoint, 3); !final.Final {
				t.Error("third confirmation at depth 3 is not final")
			}
		})
	}
}

func TestRegtestRBFReplacement(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	script := newScript(t)
	cursors := &MemoryCursorStore{}
	log, _ := runTracker(t, dialNode(t, node, NodeBtcd), cursors, 6, script)
	waitCursorAtTip(t, node, cursors)

	original, err := node.PayScript(script, 30_000, true)
	if err != nil {
		t.Fatal(err)
	}
	outpoint := outpointTo(t, original, script)
	if seen := log.expect(t, EventMempool, outpoint, 0); !seen.SignalsRBF {
		t.Error("payment with an RBF-signalling input not reported as signalling")
	}
	replacement, err := node.Replace(original, []regtest.Payment{
		{Script: newScript(t), Amount: 30_000},
	})
	if err != nil {
		t.Fatal(err)
	}
	replaced := log.expect(t, EventReplaced, outpoint, 0)
	if replaced.ConflictTxID != replacement.TxHash() {
		t.Errorf("conflict = %s, want %s", replaced.ConflictTxID, replacement.TxHash())
	}
}

func TestRegtestDoubleSpendMined(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	script := newScript(t)
	cursors := &MemoryCursorStore{}
	log, _ := runTracker(t, dialNode(t, node, NodeBtcd), cursors, 6, script)
	waitCursorAtTip(t, node, cursors)

	original, err := node.PayScript(script, 40_000, false)
	if err != nil {
		t.Fatal(err)
	}
	outpoint := outpointTo(t, original, script)
	log.expect(t, EventMempool, outpoint, 0)
	conflict, err := node.BuildConflict(original, []regtest.Payment{
		{Script: newScript(t), Amount: 40_000},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.MineTransactions(conflict); err != nil {
		t.Fatal(err)
	}
	spent := log.expect(t, EventDoubleSpent, outpoint, 0)
	if spent.ConflictTxID != conflict.TxHash() {
		t.Errorf("conflict = %s, want %s", spent.ConflictTxID, conflict.TxHash())
	}
}

func TestRegtestPaymentWhileStopped(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	script := newScript(t)
	source := dialNode(t, node, NodeBtcd)
	cursors := &MemoryCursorStore{}
	_, stop := runTracker(t, source, cursors, 6, script)
	waitCursorAtTip(t, node, cursors)
	stop()

	tx, err := node.PayScript(script, 50_000, false)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := node.Mine(2)
	if err != nil {
		t.Fatal(err)
	}

	log, _ := runTracker(t, source, cursors, 6, script)
	outpoint := outpointTo(t, tx, script)
	first := log.expect(t, EventConfirmed, outpoint, 1)
	if first.Block.Hash != *hashes[0] {
		t.Errorf("confirmed in %s, want %s", first.Block.Hash, hashes[0])
	}
	log.expect(t, EventConfirmed, outpoint, 2)
}

func TestRegtestReorgRemovesPayment(t *testing.T) {
	main := regtest.Start(t, regtest.Options{})
	side := regtest.Start(t, regtest.Options{Empty: true})
	if err := regtest.Connect(side, main); err != nil {
		t.Fatal(err)
	}
	if err := regtest.WaitSynced(main, side); err != nil {
		t.Fatal(err)
	}
	script := newScript(t)
	cursors := &MemoryCursorStore{}
	log, _ := runTracker(t, dialNode(t, main, NodeBtcd), cursors, 6, script)
	waitCursorAtTip(t, main, cursors)
	if err := regtest.Disconnect(side, main); err != nil {
		t.Fatal(err)
	}

	tx, err := main.PayScript(script, 60_000, false)
	if err != nil {
		t.Fatal(err)
	}
	outpoint := outpointTo(t, tx, script)
	log.expect(t, EventMempool, outpoint, 0)
	mined, err := main.Mine(1)
	if err != nil {
		t.Fatal(err)
	}
	log.expect(t, EventConfirmed, outpoint, 1)

	// The side chain grows longer without the payment; joining makes main switch to it.
	mine(t, side, 2)
	if err := regtest.Connect(side, main); err != nil {
		t.Fatal(err)
	}
	if err := regtest.WaitSynced(main, side); err != nil {
		t.Fatal(err)
	}
	reorged := log.expect(t, EventReorged, outpoint, 0)
	if reorged.Block.Hash != *mined[0] {
		t.Errorf("reorged block = %s, want %s", reorged.Block.Hash, mined[0])
	}

	// btcd put the payment back in its mempool; mining it again confirms it again.
	if err := main.WaitInMempool(tx.TxHash()); err != nil {
		t.Fatal(err)
	}
	again, err := main.Mine(1)
	if err != nil {
		t.Fatal(err)
	}
	back := log.expect(t, EventConfirmed, outpoint, 1)
	if back.Block.Hash != *again[0] {
		t.Errorf("confirmed again in %s, want %s", back.Block.Hash, again[0])
	}
}

func TestRegtestDialErrors(t *testing.T) {
	node := regtest.Start(t, regtest.Options{Empty: true})
	cfg := node.RPCConfig()
	for _, kind := range []NodeKind{NodeBtcd, NodeBitcoind} {
		_, err := DialRPC(context.Background(), RPCSourceConfig{
			Kind: kind, Host: cfg.Host, User: cfg.User, Password: "wrong",
			Certificates: cfg.Certificates,
		})
		if !errors.Is(err, ErrAuthentication) {
			t.Errorf("%s with a wrong password: error %v, want ErrAuthentication", kind, err)
		}
		if err != nil && !strings.Contains(err.Error(), cfg.Host) {
			t.Errorf("%s: error %q does not name %s", kind, err, cfg.Host)
		}
	}

	closed := "127.0.0.1:1"
	_, err := DialRPC(context.Background(), RPCSourceConfig{
		Kind: NodeBitcoind, Host: closed, DisableTLS: true,
	})
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("closed port: error %v, want ErrUnreachable", err)
	}
	if err != nil && !strings.Contains(err.Error(), closed) {
		t.Errorf("error %q does not name %s", err, closed)
	}
}

// outpointTo returns the output of tx that pays script.
func outpointTo(t *testing.T, tx *wire.MsgTx, script []byte) wire.OutPoint {
	t.Helper()
	for i, out := range tx.TxOut {
		if string(out.PkScript) == string(script) {
			return wire.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}
		}
	}
	t.Fatalf("transaction %s does not pay the script", tx.TxHash())
	return wire.OutPoint{}
}

// waitCursorAtTip waits until the tracker has processed the node's best block.
func waitCursorAtTip(t testing.TB, node *regtest.Node, cursors CursorStore) {
	t.Helper()
	hash, height, err := node.BestBlock()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _, err := cursors.LoadCursor(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got.Hash == *hash && got.Height == height {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cursor = %s, want %d:%s", got, height, hash)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRegtestDialUntrustedCertificate(t *testing.T) {
	node := regtest.Start(t, regtest.Options{Empty: true})
	cfg := node.RPCConfig()
	for _, kind := range []NodeKind{NodeBtcd, NodeBitcoind} {
		_, err := DialRPC(context.Background(), RPCSourceConfig{
			Kind: kind, Host: cfg.Host, User: cfg.User, Password: cfg.Pass,
		})
		if !errors.Is(err, ErrUntrustedCertificate) {
			t.Errorf("%s without the node's certificate: error %v, want "+
				"ErrUntrustedCertificate", kind, err)
		}
		if errors.Is(err, ErrUnreachable) {
			t.Errorf("%s: error %v says the node is unreachable", kind, err)
		}
		if err != nil && !strings.Contains(err.Error(), cfg.Host) {
			t.Errorf("%s: error %q does not name %s", kind, err, cfg.Host)
		}
	}
}

func TestRegtestTwoTrackersShareSource(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	source := dialNode(t, node, NodeBtcd)
	first, second := newScript(t), newScript(t)
	firstCursors, secondCursors := &MemoryCursorStore{}, &MemoryCursorStore{}
	firstLog, _ := runTracker(t, source, firstCursors, 6, first)
	waitCursorAtTip(t, node, firstCursors)
	secondLog, _ := runTracker(t, source, secondCursors, 6, second)
	waitCursorAtTip(t, node, secondCursors)

	// Each subscription gets the websocket's notifications: polling, which both also do,
	// would not report mempool transactions in btcd mode.
	tx, err := node.Pay([]regtest.Payment{
		{Script: first, Amount: 10_000}, {Script: second, Amount: 20_000},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	firstLog.expect(t, EventMempool, outpointTo(t, tx, first), 0)
	secondLog.expect(t, EventMempool, outpointTo(t, tx, second), 0)
}

func TestRegtestReorgDeeperThanDepth(t *testing.T) {
	main := regtest.Start(t, regtest.Options{})
	side := regtest.Start(t, regtest.Options{Empty: true})
	if err := regtest.Connect(side, main); err != nil {
		t.Fatal(err)
	}
	if err := regtest.WaitSynced(main, side); err != nil {
		t.Fatal(err)
	}
	script := newScript(t)
	cursors := &MemoryCursorStore{}
	log, _ := runTracker(t, dialNode(t, main, NodeBtcd), cursors, 2, script)
	waitCursorAtTip(t, main, cursors)
	if err := regtest.Disconnect(side, main); err != nil {
		t.Fatal(err)
	}

	tx, err := main.PayScript(script, 70_000, false)
	if err != nil {
		t.Fatal(err)
	}
	outpoint := outpointTo(t, tx, script)
	log.expect(t, EventMempool, outpoint, 0)
	mined, err := main.Mine(4)
	if err != nil {
		t.Fatal(err)
	}
	log.expect(t, EventConfirmed, outpoint, 1)
	if final := log.expect(t, EventConfirmed, outpoint, 2); !final.Final {
		t.Fatal("second confirmation at depth 2 is not final")
	}

	// The side chain mines the same payment in a block of its own and outgrows main by
	// more than the depth.
	if err := side.Broadcast(tx); err != nil {
		t.Fatal(err)
	}
	remined, err := side.Mine(6)
	if err != nil {
		t.Fatal(err)
	}
	if err := regtest.Connect(side, main); err != nil {
		t.Fatal(err)
	}
	if err := regtest.WaitSynced(main, side); err != nil {
		t.Fatal(err)
	}
	reorged := log.expect(t, EventReorged, outpoint, 0)
	if reorged.Block.Hash != *mined[0] {
		t.Errorf("reorged block = %s, want %s", reorged.Block.Hash, mined[0])
	}
	back := log.expect(t, EventConfirmed, outpoint, 1)
	if back.Block.Hash != *remined[0] {
		t.Errorf("confirmed again in %s, want %s", back.Block.Hash, remined[0])
	}
	if final := log.expect(t, EventConfirmed, outpoint, 2); !final.Final {
		t.Error("second confirmation in the new chain is not final")
	}
	waitCursorAtTip(t, main, cursors)
	log.quiet(t)
}
