package bitcoin

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/instars/instars/internal/regtest"
)

// downtime is how long the tracker stays stopped after a payment, so that its restart time
// and the payment's entry time differ by more than the entry time's one-second precision.
const downtime = 2 * time.Second

// waitUntil returns once the wall clock is past instant.
func waitUntil(t *testing.T, instant time.Time) {
	t.Helper()
	for !time.Now().After(instant) {
		time.Sleep(10 * time.Millisecond)
	}
}

// runSyncedTracker runs a tracker on source until the test ends and returns its event log
// once it has caught up, mempool included, so that a payment made afterwards is notified.
func runSyncedTracker(t *testing.T, source ChainSource, cursors CursorStore,
	script []byte) (*eventLog, func()) {

	t.Helper()
	log := newEventLog()
	tracker, err := NewTracker(TrackerConfig{
		Source: source, Cursors: cursors, Handler: log, Depth: 6,
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		synced, err := tracker.Synced(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if synced {
			return log, stop
		}
		if time.Now().After(deadline) {
			t.Fatal("tracker not synced after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkEntryTime checks that entered, a time to the second, lies between before and after.
func checkEntryTime(t *testing.T, field string, entered, before, after time.Time) {
	t.Helper()
	if entered.Before(before.Truncate(time.Second)) || entered.After(after) {
		t.Errorf("%s = %v, want between %v and %v", field, entered, before, after)
	}
}

func TestRPCSourceMempoolEntryTime(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	for _, kind := range []NodeKind{NodeBtcd, NodeBitcoind} {
		t.Run(kind.String(), func(t *testing.T) {
			source := dialNode(t, node, kind)
			before := time.Now()
			tx, err := node.PayScript(newScript(t), 21_000, false)
			if err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			entered, err := source.MempoolEntryTime(context.Background(), tx.TxHash())
			if err != nil {
				t.Fatalf("MempoolEntryTime: %v", err)
			}
			checkEntryTime(t, "entry time", entered, before, after)

			// A second payment is not in the listing read for the first one.
			second, err := node.PayScript(newScript(t), 22_000, false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := source.MempoolEntryTime(context.Background(),
				second.TxHash()); err != nil {
				t.Errorf("second payment: %v", err)
			}

			_, err = source.MempoolEntryTime(context.Background(), chainhash.Hash{1})
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown transaction: error %v, want ErrNotFound", err)
			}

			// A new source, with no earlier listing to look the transaction up in.
			mine(t, node, 1)
			_, err = dialNode(t, node, kind).MempoolEntryTime(context.Background(),
				tx.TxHash())
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("mined transaction: error %v, want ErrNotFound", err)
			}
		})
	}
}

func TestRegtestFirstSeenAfterRestart(t *testing.T) {
	for _, kind := range []NodeKind{NodeBtcd, NodeBitcoind} {
		t.Run(kind.String(), func(t *testing.T) {
			node := regtest.Start(t, regtest.Options{})
			script := newScript(t)
			source := dialNode(t, node, kind)
			cursors := &MemoryCursorStore{}
			log, stop := runSyncedTracker(t, source, cursors, script)

			// A payment notified as it arrives is dated by its handler.
			live, err := node.PayScript(script, 30_000, false)
			if err != nil {
				t.Fatal(err)
			}
			notified := log.expect(t, EventMempool, outpointTo(t, live, script), 0)
			if !notified.FirstSeen.IsZero() {
				t.Errorf("notified payment has FirstSeen %v, want zero", notified.FirstSeen)
			}
			stop()

			paidBefore := time.Now()
			tx, err := node.PayScript(script, 31_000, false)
			if err != nil {
				t.Fatal(err)
			}
			paidAfter := time.Now()
			waitUntil(t, paidAfter.Add(downtime))

			restarted := time.Now()
			log, _ = runTracker(t, source, cursors, 6, script)
			outpoint := outpointTo(t, tx, script)
			var seen PaymentEvent
			for seen.OutPoint != outpoint {
				// The scan reports both unconfirmed payments, in either order.
				seen = log.next(t)
				if seen.Kind != EventMempool {
					t.Fatalf("event = %s, want mempool", seen)
				}
			}
			checkEntryTime(t, "FirstSeen", seen.FirstSeen, paidBefore, paidAfter)
			gap := restarted.Sub(seen.FirstSeen)
			if gap < downtime {
				t.Errorf("FirstSeen %v is %v before the restart, want at least %v",
					seen.FirstSeen, gap, downtime)
			}
			t.Logf("paid at %v, restarted at %v: FirstSeen %v, %v before the restart",
				paidAfter.Format(time.StampMilli), restarted.Format(time.StampMilli),
				seen.FirstSeen.Format(time.StampMilli), gap)

			mine(t, node, 1)
			for {
				event := log.next(t)
				if event.OutPoint != outpoint {
					continue
				}
				if event.Kind != EventConfirmed || !event.FirstSeen.Equal(seen.FirstSeen) {
					t.Errorf("event = %s with FirstSeen %v, want confirmed with %v", event,
						event.FirstSeen, seen.FirstSeen)
				}
				break
			}
		})
	}
}

func TestRegtestFirstSeenRefused(t *testing.T) {
	// btcd rejects a limited RPC user's calls outside a fixed list, which contains what
	// the tracker needs but not getmempoolentry. Over the websocket, btcd v0.24.2 sends no
	// reply to a rejected call, which then fails when CallTimeout ends.
	const user, password = "limited", "limited-password"
	node := regtest.Start(t, regtest.Options{
		ExtraArgs: []string{"--rpclimituser=" + user, "--rpclimitpass=" + password},
	})
	for _, kind := range []NodeKind{NodeBtcd, NodeBitcoind} {
		t.Run(kind.String(), func(t *testing.T) {
			cfg := node.RPCConfig()
			source, err := DialRPC(context.Background(), RPCSourceConfig{
				Kind: kind, Host: cfg.Host, User: user, Password: password,
				Certificates: cfg.Certificates, PollInterval: 50 * time.Millisecond,
				CallTimeout: time.Second, Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(source.Close)
			script := newScript(t)
			tx, err := node.PayScript(script, 32_000, false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := source.MempoolEntryTime(context.Background(),
				tx.TxHash()); err == nil {
				t.Fatal("MempoolEntryTime as a limited user succeeded, want an error")
			}

			log, _ := runTracker(t, source, &MemoryCursorStore{}, 6, script)
			log.timeout = 10 * time.Second
			seen := log.expect(t, EventMempool, outpointTo(t, tx, script), 0)
			if !seen.FirstSeen.IsZero() {
				t.Errorf("FirstSeen = %v after a rejected request, want zero", seen.FirstSeen)
			}
		})
	}
}
