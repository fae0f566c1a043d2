package bitcoin

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"
	"github.com/instars/instars/internal/regtest"
)

// syntheticBlock returns a block of txCount segwit-shaped transactions, each with two
// inputs carrying a signature and a public key in their witness, and two P2WPKH outputs
// and one P2TR output: about 1.2 MB for 2,500 transactions.
func syntheticBlock(txCount int) *wire.MsgBlock {
	block := wire.NewMsgBlock(wire.NewBlockHeader(4, &chainhash.Hash{}, &chainhash.Hash{}, 0, 0))
	random := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	for range txCount {
		tx := wire.NewMsgTx(2)
		for range 2 {
			var prev chainhash.Hash
			copy(prev[:], random(32))
			in := wire.NewTxIn(&wire.OutPoint{Hash: prev}, nil, [][]byte{random(72), random(33)})
			tx.AddTxIn(in)
		}
		tx.AddTxOut(wire.NewTxOut(10_000, append([]byte{0x00, 0x14}, random(20)...)))
		tx.AddTxOut(wire.NewTxOut(20_000, append([]byte{0x00, 0x14}, random(20)...)))
		tx.AddTxOut(wire.NewTxOut(30_000, append([]byte{0x51, 0x20}, random(32)...)))
		_ = block.AddTransaction(tx)
	}
	return block
}

// benchTracker returns a tracker, not running, watching count random P2WPKH scripts under
// 30-character identifiers like billing's invoice ids.
func benchTracker(b *testing.B, count int) *Tracker {
	b.Helper()
	tracker, err := NewTracker(TrackerConfig{
		Source: newFakeChain(), Cursors: &MemoryCursorStore{},
		Handler: EventHandlerFunc(func(context.Context, PaymentEvent) error { return nil }),
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	script := make([]byte, 22)
	script[0], script[1] = 0x00, 0x14
	for i := range count {
		_, _ = rand.Read(script[2:])
		if err := tracker.Watch(script, fmt.Sprintf("inv_%026d", i)); err != nil {
			b.Fatal(err)
		}
	}
	tracker.txs = make(map[chainhash.Hash]*trackedTx)
	tracker.spenders = make(map[wire.OutPoint]chainhash.Hash)
	tracker.signalling = make(map[chainhash.Hash]struct{})
	return tracker
}

// BenchmarkTrackerBlock measures processing one 2,500-transaction block (txids, one
// watch-set lookup per output, one lookup per input, cursor save) at three watch-set sizes.
func BenchmarkTrackerBlock(b *testing.B) {
	block := syntheticBlock(2500)
	b.Logf("block size %d bytes", block.SerializeSize())
	for _, count := range []int{10, 10_000, 1_000_000} {
		b.Run(fmt.Sprintf("watched=%d", count), func(b *testing.B) {
			tracker := benchTracker(b, count)
			ctx := context.Background()
			runtime.GC()
			b.ResetTimer()
			for i := range b.N {
				id := BlockID{Height: int32(i + 1)}
				if err := tracker.connectBlock(ctx, block, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTrackerBlockInterleaved processes the same block with trackers watching 10,
// 10,000 and 1,000,000 scripts in turn within each iteration, so that noise from other
// processes on the machine affects the three sizes alike, and reports each one's time per
// block and the ratio of the largest to the smallest.
func BenchmarkTrackerBlockInterleaved(b *testing.B) {
	block := syntheticBlock(2500)
	counts := []int{10, 10_000, 1_000_000}
	trackers := make([]*Tracker, len(counts))
	for i, count := range counts {
		trackers[i] = benchTracker(b, count)
	}
	elapsed := make([]time.Duration, len(counts))
	ctx := context.Background()
	runtime.GC()
	b.ResetTimer()
	for n := range b.N {
		id := BlockID{Height: int32(n + 1)}
		for i, tracker := range trackers {
			start := time.Now()
			if err := tracker.connectBlock(ctx, block, id); err != nil {
				b.Fatal(err)
			}
			elapsed[i] += time.Since(start)
		}
	}
	b.StopTimer()
	for i, count := range counts {
		perBlock := float64(elapsed[i].Microseconds()) / float64(b.N) / 1000
		b.ReportMetric(perBlock, fmt.Sprintf("ms/block@%d", count))
	}
	b.ReportMetric(float64(elapsed[2])/float64(elapsed[0]), "ratio-1M/10")
}

// BenchmarkWatchMemory reports the heap growth per watched script for a million scripts.
func BenchmarkWatchMemory(b *testing.B) {
	const count = 1_000_000
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tracker := benchTracker(b, count)
		runtime.GC()
		runtime.ReadMemStats(&after)
		if tracker.Watching() != count {
			b.Fatalf("watching %d scripts, want %d", tracker.Watching(), count)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/count, "bytes/script")
		runtime.KeepAlive(tracker)
	}
}

// BenchmarkDetectionLatency measures, against a real btcd, the time from btcd's own
// websocket notification of a transaction or block (received by a separate client) to the
// tracker's event for the payment it carries.
func BenchmarkDetectionLatency(b *testing.B) {
	node := regtest.Start(b, regtest.Options{Coins: 50})
	cfg := node.RPCConfig()

	var mu sync.Mutex
	notified := make(map[string]time.Time)
	observer, err := rpcclient.New(&cfg, &rpcclient.NotificationHandlers{
		OnTxAcceptedVerbose: func(details *btcjson.TxRawResult) {
			mu.Lock()
			notified[details.Txid] = time.Now()
			mu.Unlock()
		},
		OnBlockConnected: func(hash *chainhash.Hash, _ int32, _ time.Time) {
			mu.Lock()
			notified[hash.String()] = time.Now()
			mu.Unlock()
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer observer.Shutdown()
	if err := observer.NotifyBlocks(); err != nil {
		b.Fatal(err)
	}
	if err := observer.NotifyNewTransactions(true); err != nil {
		b.Fatal(err)
	}

	source, err := DialRPC(context.Background(), RPCSourceConfig{
		Kind: NodeBtcd, Host: cfg.Host, User: cfg.User, Password: cfg.Pass,
		Certificates: cfg.Certificates, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer source.Close()
	events := make(chan timedEvent, 64)
	tracker, err := NewTracker(TrackerConfig{
		Source: source, Cursors: &MemoryCursorStore{}, Depth: 1,
		Handler: EventHandlerFunc(func(_ context.Context, event PaymentEvent) error {
			events <- timedEvent{event: event, at: time.Now()}
			return nil
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	cursors := &MemoryCursorStore{}
	tracker.cfg.Cursors = cursors
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = tracker.Run(ctx) }()
	waitCursorAtTip(b, node, cursors)

	var txTotal, blockTotal, txMax, blockMax time.Duration
	b.ResetTimer()
	for range b.N {
		script, err := regtest.NewScript()
		if err != nil {
			b.Fatal(err)
		}
		if err := tracker.Watch(script, "inv"); err != nil {
			b.Fatal(err)
		}
		tx, err := node.PayScript(script, 10_000, false)
		if err != nil {
			b.Fatal(err)
		}
		seen := waitEvent(b, events, EventMempool)
		txLatency := seen.at.Sub(notifiedAt(b, &mu, notified, tx.TxHash().String()))

		hashes, err := node.Mine(1)
		if err != nil {
			b.Fatal(err)
		}
		confirmed := waitEvent(b, events, EventConfirmed)
		blockLatency := confirmed.at.Sub(notifiedAt(b, &mu, notified, hashes[0].String()))

		txTotal += txLatency
		blockTotal += blockLatency
		txMax, blockMax = max(txMax, txLatency), max(blockMax, blockLatency)
	}
	b.StopTimer()
	b.ReportMetric(float64(txTotal.Microseconds())/float64(b.N)/1000, "tx-ms")
	b.ReportMetric(float64(txMax.Microseconds())/1000, "tx-max-ms")
	b.ReportMetric(float64(blockTotal.Microseconds())/float64(b.N)/1000, "block-ms")
	b.ReportMetric(float64(blockMax.Microseconds())/1000, "block-max-ms")
}

type timedEvent struct {
	event PaymentEvent
	at    time.Time
}

func waitEvent(b *testing.B, events <-chan timedEvent, kind EventKind) timedEvent {
	b.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.event.Kind == kind {
				return e
			}
		case <-timeout:
			b.Fatalf("no %s event within 10s", kind)
		}
	}
}

// notifiedAt returns when the observer client got btcd's notification for id, waiting for
// it briefly in case the tracker's own notification arrived first.
func notifiedAt(b *testing.B, mu *sync.Mutex, notified map[string]time.Time,
	id string) time.Time {

	b.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		at, ok := notified[id]
		mu.Unlock()
		if ok {
			return at
		}
		if time.Now().After(deadline) {
			b.Fatalf("btcd sent no notification for %s", id)
		}
		time.Sleep(time.Millisecond)
	}
}
