package bitcoin

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/instars/instars/internal/regtest"
)

func TestRPCSourceCatchesUpAfterOutage(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	cfg := node.RPCConfig()
	proxy := regtest.StartProxy(t, cfg.Host)
	source, err := DialRPC(context.Background(), RPCSourceConfig{
		Kind: NodeBtcd, Host: proxy.Addr(), User: cfg.User, Password: cfg.Pass,
		Certificates: cfg.Certificates, PollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(source.Close)
	script := newScript(t)
	cursors := &MemoryCursorStore{}
	log, _ := runTracker(t, source, cursors, 6, script)
	waitCursorAtTip(t, node, cursors)

	proxy.Cut()
	confirmedTx, err := node.PayScript(script, 11_000, false)
	if err != nil {
		t.Fatal(err)
	}
	mine(t, node, 1)
	pendingTx, err := node.PayScript(script, 12_000, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.WaitInMempool(pendingTx.TxHash()); err != nil {
		t.Fatal(err)
	}
	log.quiet(t)
	proxy.Restore(t)
	// rpcclient retries the websocket 5 s after the first failed attempt, then 10 s.
	log.timeout = 20 * time.Second

	// After a reconnect the tracker scans the mempool and catches up on blocks; either may
	// report first.
	want := map[wire.OutPoint]EventKind{
		outpointTo(t, confirmedTx, script): EventConfirmed,
		outpointTo(t, pendingTx, script):   EventMempool,
	}
	for len(want) > 0 {
		event := log.next(t)
		kind, ok := want[event.OutPoint]
		if !ok || event.Kind != kind {
			t.Fatalf("event = %s, want one of %v", event, want)
		}
		wantConfirmations := int32(0)
		if kind == EventConfirmed {
			wantConfirmations = 1
		}
		if event.Confirmations != wantConfirmations {
			t.Fatalf("event = %s, want confirmations=%d", event, wantConfirmations)
		}
		delete(want, event.OutPoint)
	}
	waitCursorAtTip(t, node, cursors)
}
