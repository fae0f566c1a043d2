package bitcoin

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/instars/instars/internal/regtest"
)

// tcpProxy forwards 127.0.0.1 connections to a target and can cut every connection and stop
// listening, then listen again on the same port, as a network outage would.
type tcpProxy struct {
	target string
	addr   string

	mu       sync.Mutex
	listener net.Listener
	conns    map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, conns: make(map[net.Conn]struct{})}
	listener, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = listener.Addr().String()
	p.serve(listener)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(listener net.Listener) {
	p.mu.Lock()
	p.listener = listener
	p.mu.Unlock()
	go func() {
		for {
			client, err := listener.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp4", p.target)
			if err != nil {
				client.Close()
				continue
			}
			p.mu.Lock()
			p.conns[client] = struct{}{}
			p.conns[server] = struct{}{}
			p.mu.Unlock()
			go func() { _, _ = io.Copy(server, client); server.Close() }()
			go func() { _, _ = io.Copy(client, server); client.Close() }()
		}
	}()
}

// cut closes the listener and every open connection.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listener != nil {
		p.listener.Close()
		p.listener = nil
	}
	for conn := range p.conns {
		conn.Close()
	}
	clear(p.conns)
}

// restore listens again on the same address.
func (p *tcpProxy) restore(t *testing.T) {
	t.Helper()
	listener, err := net.Listen("tcp4", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(listener)
}

func TestRPCSourceCatchesUpAfterOutage(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	cfg := node.RPCConfig()
	proxy := startProxy(t, cfg.Host)
	source, err := DialRPC(context.Background(), RPCSourceConfig{
		Kind: NodeBtcd, Host: proxy.addr, User: cfg.User, Password: cfg.Pass,
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

	proxy.cut()
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
	proxy.restore(t)
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
