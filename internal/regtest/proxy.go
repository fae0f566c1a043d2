package regtest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards 127.0.0.1 connections to a node. Cut closes every connection and stops
// listening, and Restore listens again on the same port, as a network outage between a server
// and its node would.
type Proxy struct {
	target string
	addr   string

	mu       sync.Mutex
	listener net.Listener
	conns    map[net.Conn]struct{}
}

// StartProxy listens on a free 127.0.0.1 port and forwards to target (host:port). The proxy
// is cut when the test ends.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	listener, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{target: target, addr: listener.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(listener)
	tb.Cleanup(p.Cut)
	return p
}

// Addr returns the host:port clients connect to instead of the node's.
func (p *Proxy) Addr() string { return p.addr }

func (p *Proxy) serve(listener net.Listener) {
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

// Cut stops listening and closes every forwarded connection.
func (p *Proxy) Cut() {
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

// Restore listens again on the proxy's port after Cut.
func (p *Proxy) Restore(tb testing.TB) {
	tb.Helper()
	listener, err := net.Listen("tcp4", p.addr)
	if err != nil {
		tb.Fatal(err)
	}
	p.serve(listener)
}
