package bitcoin

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// timedChain is a fakeChain that dates its mempool transactions and records the txids whose
// entry time is requested.
type timedChain struct {
	*fakeChain
	mu        sync.Mutex
	entered   map[chainhash.Hash]time.Time
	requested []chainhash.Hash
	// fail, when set, is returned for every request.
	fail error
}

func (c *timedChain) MempoolEntryTime(_ context.Context, txid chainhash.Hash) (time.Time,
	error) {

	c.mu.Lock()
	defer c.mu.Unlock()
	c.requested = append(c.requested, txid)
	if c.fail != nil {
		return time.Time{}, c.fail
	}
	entered, ok := c.entered[txid]
	if !ok {
		return time.Time{}, ErrNotFound
	}
	return entered, nil
}

func (c *timedChain) requests() []chainhash.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]chainhash.Hash(nil), c.requested...)
}

// runTimedTracker runs a tracker on chain watching script as "inv" until the test ends.
func runTimedTracker(t *testing.T, chain *timedChain, script []byte) *eventLog {
	t.Helper()
	log := newEventLog()
	tracker, err := NewTracker(TrackerConfig{
		Source: chain, Cursors: &MemoryCursorStore{}, Handler: log, Depth: 3,
		RetryInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
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
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
	return log
}

func TestTrackerFirstSeenFromScan(t *testing.T) {
	chain := &timedChain{fakeChain: newFakeChain(), entered: map[chainhash.Hash]time.Time{}}
	script := testScript(1)
	waited := payTx(script, wire.MaxTxInSequenceNum, 15_000)
	enteredAt := time.Unix(1_700_000_000, 0)
	chain.entered[waited.TxHash()] = enteredAt
	chain.accept(waited)
	for n := range 50 {
		other := payTx(testScript(byte(100+n)), wire.MaxTxInSequenceNum, 1_000)
		chain.entered[other.TxHash()] = enteredAt
		chain.accept(other)
	}

	log := runTimedTracker(t, chain, script)
	waitedOut := wire.OutPoint{Hash: waited.TxHash()}
	seen := log.expect(t, EventMempool, waitedOut, 0)
	if !seen.FirstSeen.Equal(enteredAt) {
		t.Errorf("FirstSeen = %v, want the node's entry time %v", seen.FirstSeen, enteredAt)
	}
	// Only the paying transaction is looked up, not the 50 others in the mempool.
	requested := chain.requests()
	if len(requested) != 1 || requested[0] != waited.TxHash() {
		t.Errorf("requested entry times of %v, want only %s", requested, waited.TxHash())
	}

	// A transaction notified as it arrives is dated when handled, with no request.
	live := payTx(script, wire.MaxTxInSequenceNum, 16_000)
	chain.accept(live)
	notified := log.expect(t, EventMempool, wire.OutPoint{Hash: live.TxHash()}, 0)
	if !notified.FirstSeen.IsZero() {
		t.Errorf("notified payment has FirstSeen %v, want zero", notified.FirstSeen)
	}
	if got := len(chain.requests()); got != 1 {
		t.Errorf("%d requests after a notified payment, want still 1", got)
	}

	// Later events of the payment repeat the entry time.
	chain.mine(waited)
	confirmed := log.expect(t, EventConfirmed, waitedOut, 1)
	if !confirmed.FirstSeen.Equal(enteredAt) {
		t.Errorf("confirmed FirstSeen = %v, want %v", confirmed.FirstSeen, enteredAt)
	}
}

func TestTrackerFirstSeenUnavailable(t *testing.T) {
	chain := &timedChain{fakeChain: newFakeChain(), fail: errors.New("node busy")}
	script := testScript(1)
	waited := payTx(script, wire.MaxTxInSequenceNum, 15_000)
	chain.accept(waited)

	log := runTimedTracker(t, chain, script)
	seen := log.expect(t, EventMempool, wire.OutPoint{Hash: waited.TxHash()}, 0)
	if !seen.FirstSeen.IsZero() {
		t.Errorf("FirstSeen = %v after a failed request, want zero", seen.FirstSeen)
	}
	if got := len(chain.requests()); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}
