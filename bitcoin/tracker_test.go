package bitcoin

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// eventLog is an EventHandler that queues events for the test to read in order.
type eventLog struct {
	events chan PaymentEvent
	// timeout bounds the wait for the next event.
	timeout time.Duration
}

func newEventLog() *eventLog {
	return &eventLog{events: make(chan PaymentEvent, 1024), timeout: 5 * time.Second}
}

func (l *eventLog) HandlePaymentEvent(_ context.Context, event PaymentEvent) error {
	l.events <- event
	return nil
}

// next returns the next event, failing the test if none comes within the timeout.
func (l *eventLog) next(t *testing.T) PaymentEvent {
	t.Helper()
	select {
	case event := <-l.events:
		return event
	case <-time.After(l.timeout):
		t.Fatalf("no payment event within %s", l.timeout)
		return PaymentEvent{}
	}
}

// expect reads the next event and checks its kind, outpoint and confirmations.
func (l *eventLog) expect(t *testing.T, kind EventKind, outpoint wire.OutPoint,
	confirmations int32) PaymentEvent {

	t.Helper()
	event := l.next(t)
	if event.Kind != kind || event.OutPoint != outpoint || event.Confirmations != confirmations {
		t.Fatalf("event = %s, want %s %s confirmations=%d", event, kind, outpoint,
			confirmations)
	}
	return event
}

// quiet checks that no event is queued once the tracker has caught up to the tip.
func (l *eventLog) quiet(t *testing.T) {
	t.Helper()
	select {
	case event := <-l.events:
		t.Fatalf("unexpected event %s", event)
	default:
	}
}

var fundingCounter uint32

// payTx returns a transaction spending a fresh outpoint and paying each value to script.
func payTx(script []byte, sequence uint32, values ...btcutil.Amount) *wire.MsgTx {
	fundingCounter++
	var funding chainhash.Hash
	funding[0], funding[1], funding[2] = byte(fundingCounter), byte(fundingCounter>>8), 0xaa
	return spendTx(wire.OutPoint{Hash: funding}, sequence, script, values...)
}

// spendTx returns a transaction spending outpoint and paying each value to script.
func spendTx(outpoint wire.OutPoint, sequence uint32, script []byte,
	values ...btcutil.Amount) *wire.MsgTx {

	tx := wire.NewMsgTx(2)
	in := wire.NewTxIn(&outpoint, nil, nil)
	in.Sequence = sequence
	tx.AddTxIn(in)
	for _, value := range values {
		tx.AddTxOut(wire.NewTxOut(int64(value), script))
	}
	return tx
}

func testScript(n byte) []byte {
	script := make([]byte, 22)
	script[1] = 20
	script[2] = n
	return script
}

// trackerBundle runs a tracker on a fake chain until the test ends.
type trackerBundle struct {
	chain   *fakeChain
	cursors *MemoryCursorStore
	log     *eventLog
	tracker *Tracker
	stop    func()
}

func setupTracker(t *testing.T, chain *fakeChain, cursors *MemoryCursorStore,
	depth int32, scripts map[string][]byte) *trackerBundle {

	t.Helper()
	b := &trackerBundle{chain: chain, cursors: cursors, log: newEventLog()}
	tracker, err := NewTracker(TrackerConfig{
		Source: chain, Cursors: cursors, Handler: b.log, Depth: depth,
		RetryInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, script := range scripts {
		if err := tracker.Watch(script, id); err != nil {
			t.Fatal(err)
		}
	}
	b.tracker = tracker
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tracker.Run(ctx) }()
	b.stop = func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
		b.stop = func() {}
	}
	t.Cleanup(func() { b.stop() })
	return b
}

// waitCursor waits until the tracker saved want as its cursor.
func waitCursor(t *testing.T, cursors *MemoryCursorStore, want BlockID) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _, _ := cursors.LoadCursor(context.Background())
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cursor = %s, want %s", got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTrackerMempoolToFinal(t *testing.T) {
	chain := newFakeChain()
	chain.mine()
	script := testScript(1)
	b := setupTracker(t, chain, &MemoryCursorStore{}, 3, map[string][]byte{"inv1": script})
	waitCursor(t, b.cursors, BlockID{Hash: chain.best[1], Height: 1})

	tx := payTx(script, wire.MaxTxInSequenceNum, 40_000)
	outpoint := wire.OutPoint{Hash: tx.TxHash(), Index: 0}
	chain.accept(tx)
	seen := b.log.expect(t, EventMempool, outpoint, 0)
	if seen.WatchID != "inv1" || seen.Value != 40_000 || seen.SignalsRBF {
		t.Errorf("mempool event = %+v, want inv1, 40000 sat, not RBF", seen)
	}

	first := chain.mine(tx)
	confirmed := b.log.expect(t, EventConfirmed, outpoint, 1)
	if confirmed.Block != first || confirmed.Final {
		t.Errorf("first confirmation = %+v, want block %s, not final", confirmed, first)
	}
	chain.mine()
	b.log.expect(t, EventConfirmed, outpoint, 2)
	chain.mine()
	final := b.log.expect(t, EventConfirmed, outpoint, 3)
	if !final.Final {
		t.Error("third confirmation at depth 3 is not final")
	}
	last := chain.mine()
	waitCursor(t, b.cursors, last)
	b.log.quiet(t)
}

func TestTrackerCountsEveryOutput(t *testing.T) {
	chain := newFakeChain()
	a, c := testScript(1), testScript(2)
	b := setupTracker(t, chain, &MemoryCursorStore{}, 6, map[string][]byte{"a": a, "c": c})
	waitCursor(t, b.cursors, BlockID{Hash: chain.best[0], Height: 0})

	// Two outputs to one script, and one transaction paying both invoices.
	twice := payTx(a, wire.MaxTxInSequenceNum, 1000, 2000)
	both := payTx(a, wire.MaxTxInSequenceNum, 3000)
	both.AddTxOut(wire.NewTxOut(4000, testScript(9)))
	both.AddTxOut(wire.NewTxOut(5000, c))
	tip := chain.mine(twice, both)

	totals := map[string]btcutil.Amount{}
	seen := map[wire.OutPoint]bool{}
	for range 4 {
		event := b.log.next(t)
		if event.Kind != EventConfirmed || event.Block != tip {
			t.Fatalf("event = %s in %s, want confirmed in %s", event, event.Block, tip)
		}
		if seen[event.OutPoint] {
			t.Fatalf("outpoint %s reported twice", event.OutPoint)
		}
		seen[event.OutPoint] = true
		totals[event.WatchID] += event.Value
	}
	if totals["a"] != 6000 {
		t.Errorf("paid to a = %s, want 6000 sat", totals["a"])
	}
	if totals["c"] != 5000 {
		t.Errorf("paid to c = %s, want 5000 sat", totals["c"])
	}
	waitCursor(t, b.cursors, tip)
	b.log.quiet(t)
}

func TestTrackerReorgAndBack(t *testing.T) {
	chain := newFakeChain()
	chain.mine()
	script := testScript(1)
	b := setupTracker(t, chain, &MemoryCursorStore{}, 6, map[string][]byte{"inv": script})
	waitCursor(t, b.cursors, BlockID{Hash: chain.best[1], Height: 1})

	tx := payTx(script, wire.MaxTxInSequenceNum, 10_000)
	outpoint := wire.OutPoint{Hash: tx.TxHash(), Index: 0}
	mined := chain.mine(tx)
	b.log.expect(t, EventConfirmed, outpoint, 1)
	chain.mine()
	b.log.expect(t, EventConfirmed, outpoint, 2)

	// Three empty blocks replace the two above height 1; the payment goes back to the
	// mempool.
	chain.reorg(1, nil, nil, nil)
	reorged := b.log.expect(t, EventReorged, outpoint, 0)
	if reorged.Block != mined {
		t.Errorf("reorged block = %s, want %s", reorged.Block, mined)
	}
	tip, _ := chain.Tip(context.Background())
	waitCursor(t, b.cursors, tip)
	b.log.quiet(t)

	back := chain.mine(tx)
	confirmed := b.log.expect(t, EventConfirmed, outpoint, 1)
	if confirmed.Block != back {
		t.Errorf("block = %s, want %s", confirmed.Block, back)
	}
}

func TestTrackerReorgWhileStopped(t *testing.T) {
	chain := newFakeChain()
	chain.mine()
	script := testScript(1)
	cursors := &MemoryCursorStore{}
	scripts := map[string][]byte{"inv": script}
	b := setupTracker(t, chain, cursors, 6, scripts)

	tx := payTx(script, wire.MaxTxInSequenceNum, 10_000)
	outpoint := wire.OutPoint{Hash: tx.TxHash(), Index: 0}
	mined := chain.mine(tx)
	b.log.expect(t, EventConfirmed, outpoint, 1)
	waitCursor(t, cursors, mined)
	b.stop()

	// While stopped, the block with the payment is replaced and a conflicting spend of
	// its input is mined instead.
	conflict := spendTx(tx.TxIn[0].PreviousOutPoint, wire.MaxTxInSequenceNum, testScript(7),
		9000)
	tip := chain.reorg(1, []*wire.MsgTx{conflict}, nil)

	restarted := setupTracker(t, chain, cursors, 6, scripts)
	reorged := restarted.log.expect(t, EventReorged, outpoint, 0)
	if reorged.Block != mined {
		t.Errorf("reorged block = %s, want %s", reorged.Block, mined)
	}
	spent := restarted.log.expect(t, EventDoubleSpent, outpoint, 0)
	if spent.ConflictTxID != conflict.TxHash() {
		t.Errorf("conflict = %s, want %s", spent.ConflictTxID, conflict.TxHash())
	}
	waitCursor(t, cursors, tip)
	restarted.log.quiet(t)
}

func TestTrackerPaymentWhileStopped(t *testing.T) {
	chain := newFakeChain()
	chain.mine()
	script := testScript(1)
	cursors := &MemoryCursorStore{}
	scripts := map[string][]byte{"inv": script}
	b := setupTracker(t, chain, cursors, 6, scripts)
	waitCursor(t, cursors, BlockID{Hash: chain.best[1], Height: 1})
	b.stop()

	confirmedTx := payTx(script, wire.MaxTxInSequenceNum, 10_000)
	chain.mine(confirmedTx)
	chain.mine()
	pendingTx := payTx(script, wire.MaxTxInSequenceNum-2, 20_000)
	chain.accept(pendingTx)

	restarted := setupTracker(t, chain, cursors, 6, scripts)
	// The rescan replays the two blocks, then the mempool.
	restarted.log.expect(t, EventConfirmed, wire.OutPoint{Hash: confirmedTx.TxHash()}, 1)
	restarted.log.expect(t, EventConfirmed, wire.OutPoint{Hash: confirmedTx.TxHash()}, 2)
	pending := restarted.log.expect(t, EventMempool, wire.OutPoint{Hash: pendingTx.TxHash()}, 0)
	if !pending.SignalsRBF {
		t.Error("payment with sequence 0xfffffffd not reported as signalling RBF")
	}
}

func TestTrackerReplacementAndInheritedRBF(t *testing.T) {
	chain := newFakeChain()
	script := testScript(1)
	b := setupTracker(t, chain, &MemoryCursorStore{}, 6, map[string][]byte{"inv": script})
	waitCursor(t, b.cursors, BlockID{Hash: chain.best[0], Height: 0})

	// A signalling parent that pays elsewhere, and a child paying the invoice from it
	// that does not signal itself.
	parent := payTx(testScript(8), wire.MaxTxInSequenceNum-2, 50_000)
	chain.accept(parent)
	child := spendTx(wire.OutPoint{Hash: parent.TxHash()}, wire.MaxTxInSequenceNum, script,
		30_000)
	chain.accept(child)
	inherited := b.log.expect(t, EventMempool, wire.OutPoint{Hash: child.TxHash()}, 0)
	if !inherited.SignalsRBF {
		t.Error("child of a signalling parent not reported as signalling RBF")
	}

	replacement := spendTx(wire.OutPoint{Hash: parent.TxHash()}, wire.MaxTxInSequenceNum,
		testScript(9), 29_000)
	chain.accept(replacement)
	replaced := b.log.expect(t, EventReplaced, wire.OutPoint{Hash: child.TxHash()}, 0)
	if replaced.ConflictTxID != replacement.TxHash() {
		t.Errorf("conflict = %s, want %s", replaced.ConflictTxID, replacement.TxHash())
	}
	b.log.quiet(t)
}

func TestTrackerDroppedFromMempool(t *testing.T) {
	chain := newFakeChain()
	script := testScript(1)
	b := setupTracker(t, chain, &MemoryCursorStore{}, 6, map[string][]byte{"inv": script})
	waitCursor(t, b.cursors, BlockID{Hash: chain.best[0], Height: 0})

	tx := payTx(script, wire.MaxTxInSequenceNum, 10_000)
	chain.accept(tx)
	b.log.expect(t, EventMempool, wire.OutPoint{Hash: tx.TxHash()}, 0)
	chain.evict(tx.TxHash())
	chain.mine()
	b.log.expect(t, EventDropped, wire.OutPoint{Hash: tx.TxHash()}, 0)
}

func TestTrackerUnwatchAndBadInput(t *testing.T) {
	chain := newFakeChain()
	script := testScript(1)
	b := setupTracker(t, chain, &MemoryCursorStore{}, 6, map[string][]byte{"inv": script})
	if err := b.tracker.Watch(nil, "empty"); err == nil {
		t.Error("Watch accepted an empty script")
	}
	b.tracker.Unwatch(script)
	if n := b.tracker.Watching(); n != 0 {
		t.Errorf("Watching = %d after Unwatch, want 0", n)
	}
	tip := chain.mine(payTx(script, wire.MaxTxInSequenceNum, 10_000))
	waitCursor(t, b.cursors, tip)
	b.log.quiet(t)

	if _, err := NewTracker(TrackerConfig{Cursors: b.cursors, Handler: b.log}); err == nil {
		t.Error("NewTracker accepted a configuration without Source")
	}
}

func TestScriptKeyLongScripts(t *testing.T) {
	long := make([]byte, 80)
	other := make([]byte, 80)
	other[79] = 1
	if keyOfScript(long) == keyOfScript(other) {
		t.Error("two long scripts that differ share a key")
	}
	short := testScript(1)
	if keyOfScript(short) == keyOfScript(append(short, 0)) {
		t.Error("a script and the same script with a trailing zero share a key")
	}
}

func TestTrackerRejectsForeignCursor(t *testing.T) {
	chain := newFakeChain()
	chain.mine()
	tip := chain.mine()
	genesis := BlockID{Hash: chain.best[0], Height: 0}
	cases := []struct {
		name   string
		cursor BlockID
	}{
		// Another network's genesis block.
		{"genesis", BlockID{Hash: *Mainnet.Params.GenesisHash, Height: 0}},
		// A block of another chain, below and above the node's tip.
		{"below tip", BlockID{Hash: chainhash.Hash{1}, Height: tip.Height - 1}},
		{"above tip", BlockID{Hash: chainhash.Hash{2}, Height: tip.Height + 10}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cursors := &MemoryCursorStore{}
			if err := cursors.SaveCursor(context.Background(), tc.cursor); err != nil {
				t.Fatal(err)
			}
			log := newEventLog()
			tracker, err := NewTracker(TrackerConfig{
				Source: chain, Cursors: cursors, Handler: log,
				RetryInterval: time.Millisecond, Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = tracker.Run(ctx)
			var foreign *ForeignCursorError
			if !errors.As(err, &foreign) {
				t.Fatalf("Run returned %v, want a ForeignCursorError", err)
			}
			if foreign.Cursor != tc.cursor {
				t.Errorf("error names cursor %s, want %s", foreign.Cursor, tc.cursor)
			}
			if foreign.NodeTip != tip || foreign.NodeGenesis != genesis.Hash {
				t.Errorf("error names node tip %s genesis %s, want %s and %s",
					foreign.NodeTip, foreign.NodeGenesis, tip, genesis.Hash)
			}
			if !strings.Contains(err.Error(), tc.cursor.String()) {
				t.Errorf("message %q does not name the cursor %s", err, tc.cursor)
			}
			if saved, _, _ := cursors.LoadCursor(ctx); saved != tc.cursor {
				t.Errorf("cursor changed to %s, want it left at %s", saved, tc.cursor)
			}
		})
	}
}

func TestForeignCursorErrorNamesNetwork(t *testing.T) {
	err := &ForeignCursorError{
		Cursor:      BlockID{Hash: chainhash.Hash{3}, Height: 840_000},
		NodeTip:     BlockID{Hash: chainhash.Hash{4}, Height: 150},
		NodeGenesis: *Regtest.Params.GenesisHash,
	}
	for _, want := range []string{"840000:", "regtest node", "tip 150:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not contain %q", err, want)
		}
	}
}

func TestTrackerIgnoresLateMempoolNotice(t *testing.T) {
	chain := newFakeChain()
	script := testScript(1)
	b := setupTracker(t, chain, &MemoryCursorStore{}, 1, map[string][]byte{"inv": script})
	waitCursor(t, b.cursors, BlockID{Hash: chain.best[0], Height: 0})

	// Sync reads the node's tip rather than the notified block, so a notice of a
	// transaction entering the mempool can be handled after the block that settled it.
	final := payTx(script, wire.MaxTxInSequenceNum, 10_000)
	chain.mine(final)
	settled := b.log.expect(t, EventConfirmed, wire.OutPoint{Hash: final.TxHash()}, 1)
	if !settled.Final {
		t.Fatal("first confirmation at depth 1 is not final")
	}
	chain.announce(ChainUpdate{Kind: UpdateTransaction, Tx: final})

	pending := payTx(script, wire.MaxTxInSequenceNum, 20_000)
	chain.accept(pending)
	b.log.expect(t, EventMempool, wire.OutPoint{Hash: pending.TxHash()}, 0)
	conflict := spendTx(pending.TxIn[0].PreviousOutPoint, wire.MaxTxInSequenceNum,
		testScript(7), 19_000)
	chain.mine(conflict)
	b.log.expect(t, EventDoubleSpent, wire.OutPoint{Hash: pending.TxHash()}, 0)
	chain.announce(ChainUpdate{Kind: UpdateTransaction, Tx: pending})

	last := chain.mine()
	waitCursor(t, b.cursors, last)
	b.log.quiet(t)
}

// failingHandler passes events to log but fails the first one of kind.
type failingHandler struct {
	log    *eventLog
	kind   EventKind
	failed bool
}

func (h *failingHandler) HandlePaymentEvent(ctx context.Context, event PaymentEvent) error {
	if event.Kind == h.kind && !h.failed {
		h.failed = true
		return errors.New("store unavailable")
	}
	return h.log.HandlePaymentEvent(ctx, event)
}

func TestTrackerRepeatsEventAfterHandlerError(t *testing.T) {
	chain := newFakeChain()
	script := testScript(1)
	cursors := &MemoryCursorStore{}
	handler := &failingHandler{log: newEventLog(), kind: EventReplaced}
	tracker, err := NewTracker(TrackerConfig{
		Source: chain, Cursors: cursors, Handler: handler, Depth: 6,
		RetryInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tracker.Watch(script, "inv"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tracker.Run(ctx) }()
	waitCursor(t, cursors, BlockID{Hash: chain.best[0], Height: 0})

	pending := payTx(script, wire.MaxTxInSequenceNum-2, 20_000)
	outpoint := wire.OutPoint{Hash: pending.TxHash()}
	chain.accept(pending)
	handler.log.expect(t, EventMempool, outpoint, 0)
	chain.accept(spendTx(pending.TxIn[0].PreviousOutPoint, wire.MaxTxInSequenceNum,
		testScript(7), 19_000))
	if err := <-done; err == nil || ctx.Err() != nil {
		t.Fatalf("Run returned %v, want the handler's error", err)
	}

	// The replacement is no conflict of anything the second run follows from the mempool,
	// so the payment that left the mempool is reported as dropped.
	go func() { done <- tracker.Run(ctx) }()
	handler.log.expect(t, EventDropped, outpoint, 0)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	handler.log.quiet(t)
}

func TestTrackerCancelDuringHandler(t *testing.T) {
	chain := newFakeChain()
	script := testScript(1)
	entered := make(chan struct{})
	blocking := EventHandlerFunc(func(ctx context.Context, _ PaymentEvent) error {
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	})
	tracker, err := NewTracker(TrackerConfig{
		Source: chain, Cursors: &MemoryCursorStore{}, Handler: blocking,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tracker.Watch(script, "inv"); err != nil {
		t.Fatal(err)
	}
	chain.accept(payTx(script, wire.MaxTxInSequenceNum, 10_000))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tracker.Run(ctx) }()
	<-entered
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v, want context.Canceled itself", err)
	}
}

func TestTrackerCatchUpResumesAfterHandlerError(t *testing.T) {
	chain := newFakeChain()
	chain.mine()
	script := testScript(1)
	cursors := &MemoryCursorStore{}
	scripts := map[string][]byte{"inv": script}
	b := setupTracker(t, chain, cursors, 2, scripts)
	waitCursor(t, cursors, BlockID{Hash: chain.best[1], Height: 1})
	b.stop()

	// While stopped, five blocks arrive, two of them with a payment.
	early := payTx(script, wire.MaxTxInSequenceNum, 10_000)
	late := payTx(script, wire.MaxTxInSequenceNum, 20_000)
	chain.mine(early)
	chain.mine()
	chain.mine()
	lateBlock := chain.mine(late)
	tip := chain.mine()

	// The first catch-up fails on the late payment's first confirmation.
	log := newEventLog()
	failOn := wire.OutPoint{Hash: late.TxHash()}
	failing := true
	tracker, err := NewTracker(TrackerConfig{
		Source: chain, Cursors: cursors, Depth: 2, Logger: slog.New(slog.DiscardHandler),
		Handler: EventHandlerFunc(func(ctx context.Context, event PaymentEvent) error {
			if event.OutPoint == failOn && event.Confirmations == 1 && failing {
				return errors.New("store unavailable")
			}
			return log.HandlePaymentEvent(ctx, event)
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tracker.Watch(script, "inv"); err != nil {
		t.Fatal(err)
	}
	if err := tracker.Run(context.Background()); err == nil {
		t.Fatal("Run returned nil, want the handler's error")
	}
	saved, _, _ := cursors.LoadCursor(context.Background())
	if saved.Height >= lateBlock.Height {
		t.Errorf("cursor = %s after a failure in block %d, want below it", saved,
			lateBlock.Height)
	}
	log.expect(t, EventConfirmed, wire.OutPoint{Hash: early.TxHash()}, 1)
	log.expect(t, EventConfirmed, wire.OutPoint{Hash: early.TxHash()}, 2)

	failing = false
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tracker.Run(ctx) }()
	seenLate := map[int32]bool{}
	for !seenLate[2] {
		event := log.next(t)
		if event.OutPoint == failOn {
			seenLate[event.Confirmations] = true
		}
	}
	if !seenLate[1] {
		t.Error("first confirmation of the late payment was not sent again")
	}
	waitCursor(t, cursors, tip)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
}

func TestTrackerDropsChildOfReplaced(t *testing.T) {
	chain := newFakeChain()
	parentScript, childScript := testScript(1), testScript(2)
	b := setupTracker(t, chain, &MemoryCursorStore{}, 6,
		map[string][]byte{"parent": parentScript, "child": childScript})
	waitCursor(t, b.cursors, BlockID{Hash: chain.best[0], Height: 0})

	parent := payTx(parentScript, wire.MaxTxInSequenceNum-2, 10_000)
	parent.AddTxOut(wire.NewTxOut(50_000, testScript(8)))
	chain.accept(parent)
	b.log.expect(t, EventMempool, wire.OutPoint{Hash: parent.TxHash()}, 0)
	child := spendTx(wire.OutPoint{Hash: parent.TxHash(), Index: 1}, wire.MaxTxInSequenceNum,
		childScript, 40_000)
	chain.accept(child)
	b.log.expect(t, EventMempool, wire.OutPoint{Hash: child.TxHash()}, 0)

	// A node evicts the descendants of a transaction it replaces, with no notice of its own.
	chain.evict(child.TxHash())
	chain.accept(spendTx(parent.TxIn[0].PreviousOutPoint, wire.MaxTxInSequenceNum,
		testScript(9), 59_000))
	b.log.expect(t, EventReplaced, wire.OutPoint{Hash: parent.TxHash()}, 0)
	b.log.expect(t, EventDropped, wire.OutPoint{Hash: child.TxHash()}, 0)
}
