package bitcoin

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

var errNodeDown = errors.New("node unreachable")

// downChain is a fakeChain whose reads fail while down is set, as a node that cannot be
// reached. Its subscription keeps delivering what the test announces.
type downChain struct {
	*fakeChain
	down atomic.Bool
	// failedTips counts the reads of the tip that failed.
	failedTips atomic.Int32
}

func (c *downChain) Tip(ctx context.Context) (BlockID, error) {
	if c.down.Load() {
		c.failedTips.Add(1)
		return BlockID{}, errNodeDown
	}
	return c.fakeChain.Tip(ctx)
}

func (c *downChain) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	if c.down.Load() {
		return chainhash.Hash{}, errNodeDown
	}
	return c.fakeChain.BlockHash(ctx, height)
}

func (c *downChain) Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	if c.down.Load() {
		return nil, errNodeDown
	}
	return c.fakeChain.Block(ctx, hash)
}

func (c *downChain) Mempool(ctx context.Context) ([]chainhash.Hash, error) {
	if c.down.Load() {
		return nil, errNodeDown
	}
	return c.fakeChain.Mempool(ctx)
}

func (c *downChain) Transaction(ctx context.Context, txid chainhash.Hash) (*wire.MsgTx,
	error) {

	if c.down.Load() {
		return nil, errNodeDown
	}
	return c.fakeChain.Transaction(ctx, txid)
}

// waitSynced waits until tracker.Synced returns want.
func waitSynced(t *testing.T, tracker *Tracker, want bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := tracker.Synced(context.Background())
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Synced = %v, want %v", got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTrackerSyncedAfterCatchUpAndOutage(t *testing.T) {
	chain := &downChain{fakeChain: newFakeChain()}
	chain.mine()
	script := testScript(1)
	pendingTx := payTx(script, wire.MaxTxInSequenceNum, 10_000)
	chain.accept(pendingTx)

	log := newEventLog()
	tracker, err := NewTracker(TrackerConfig{
		Source: chain, Cursors: &MemoryCursorStore{}, Handler: log,
		RetryInterval: time.Millisecond, MaxRetryInterval: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tracker.Watch(script, "inv"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if synced, err := tracker.Synced(ctx); synced || err != nil {
		t.Fatalf("Synced before Run = %v, %v; want false, nil", synced, err)
	}

	// The node is down when Run starts: the tracker cannot catch up.
	chain.down.Store(true)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tracker.Run(runCtx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	}()
	for chain.failedTips.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	if synced, err := tracker.Synced(ctx); synced || err != nil {
		t.Fatalf("Synced with the node down = %v, %v; want false, nil", synced, err)
	}

	chain.down.Store(false)
	waitSynced(t, tracker, true)
	// The payment already in the mempool is handled before the tracker reports it has
	// caught up.
	select {
	case event := <-log.events:
		if event.Kind != EventMempool || event.OutPoint.Hash != pendingTx.TxHash() {
			t.Fatalf("first event = %s, want the mempool payment", event)
		}
	default:
		t.Fatal("Synced is true before the mempool payment was reported")
	}

	// A node that stops responding makes Synced fail at once.
	chain.down.Store(true)
	if synced, err := tracker.Synced(ctx); synced || !errors.Is(err, errNodeDown) {
		t.Fatalf("Synced with the node down = %v, %v; want false and the node's error",
			synced, err)
	}
	// After a reconnection the tracker catches up again before it reports Synced.
	chain.announce(ChainUpdate{Kind: UpdateReconnected})
	chain.down.Store(false)
	confirmedTx := payTx(script, wire.MaxTxInSequenceNum, 20_000)
	tip := chain.mine(confirmedTx)
	waitSynced(t, tracker, true)
	event := log.expect(t, EventConfirmed, wire.OutPoint{Hash: confirmedTx.TxHash()}, 1)
	if event.Block != tip {
		t.Errorf("confirmed in %s, want %s", event.Block, tip)
	}
	header := chain.blocks[tip.Hash].Header
	if !event.BlockTime.Equal(header.Timestamp) {
		t.Errorf("BlockTime = %v, want the header's %v", event.BlockTime, header.Timestamp)
	}
}
