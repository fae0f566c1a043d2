package bitcoin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
)

// updateQueue is an unbounded FIFO of chain updates. Producers never block, which matters
// because rpcclient calls notification handlers on the goroutine that reads every websocket
// message: a handler that blocked would stall the replies of the consumer's own calls.
type updateQueue struct {
	mu     sync.Mutex
	items  []ChainUpdate
	signal chan struct{}
}

func newUpdateQueue() *updateQueue {
	return &updateQueue{signal: make(chan struct{}, 1)}
}

func (q *updateQueue) push(update ChainUpdate) {
	q.mu.Lock()
	q.items = append(q.items, update)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pump moves queued updates to out until ctx ends, then closes out.
func (q *updateQueue) pump(ctx context.Context, out chan<- ChainUpdate) {
	defer close(out)
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		q.mu.Unlock()
		for _, update := range items {
			select {
			case out <- update:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-q.signal:
		case <-ctx.Done():
			return
		}
	}
}

// Subscribe sends chain updates until ctx ends. It polls the node's best block every
// PollInterval; for bitcoind it also polls the mempool, and for btcd it forwards the
// websocket's notifications. Each subscription gets every update.
func (s *RPCSource) Subscribe(ctx context.Context) <-chan ChainUpdate {
	out := make(chan ChainUpdate, 64)
	queue := newUpdateQueue()
	rescan := make(chan struct{}, 1)
	s.mu.Lock()
	s.subscribers[queue] = rescan
	s.mu.Unlock()
	go queue.pump(ctx, out)
	go func() {
		p := poller{
			reader:      s,
			interval:    s.cfg.PollInterval,
			logger:      s.cfg.Logger.With("node", s.cfg.Host, "kind", s.cfg.Kind.String()),
			scanMempool: s.cfg.Kind == NodeBitcoind,
			rescan:      rescan,
		}
		p.run(ctx, queue)
		s.mu.Lock()
		delete(s.subscribers, queue)
		s.mu.Unlock()
	}()
	return out
}

// push hands a notification to every subscriber.
func (s *RPCSource) push(update ChainUpdate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for queue := range s.subscribers {
		queue.push(update)
	}
}

// openWebsocket connects to btcd's websocket and registers for block and verbose
// transaction notifications.
func (s *RPCSource) openWebsocket() error {
	handlers := &rpcclient.NotificationHandlers{
		OnClientConnected: s.onWebsocketConnected,
		OnBlockConnected: func(hash *chainhash.Hash, height int32, _ time.Time) {
			s.push(ChainUpdate{Kind: UpdateBlock, Block: BlockID{Hash: *hash, Height: height}})
		},
		OnBlockDisconnected: func(*chainhash.Hash, int32, time.Time) {
			// The tip changed; the tracker reads the new one.
			s.push(ChainUpdate{Kind: UpdateBlock})
		},
		OnTxAcceptedVerbose: func(details *btcjson.TxRawResult) {
			tx, err := decodeTxHex(details.Hex)
			if err != nil {
				s.cfg.Logger.Warn("bitcoin rpc source: undecodable transaction notification",
					"node", s.cfg.Host, "txid", details.Txid, "error", err)
				return
			}
			s.push(ChainUpdate{Kind: UpdateTransaction, Tx: tx})
		},
	}
	ws, err := rpcclient.New(&rpcclient.ConnConfig{
		Host:         s.cfg.Host,
		Endpoint:     "ws",
		User:         s.cfg.User,
		Pass:         s.cfg.Password,
		Certificates: s.cfg.Certificates,
		DisableTLS:   s.cfg.DisableTLS,
	}, handlers)
	if errors.Is(err, rpcclient.ErrInvalidAuth) {
		return fmt.Errorf("bitcoin: node websocket at %s: %w", s.cfg.Host, ErrAuthentication)
	}
	if err != nil {
		return fmt.Errorf("bitcoin: node websocket at %s: %w", s.cfg.Host, connectError(err))
	}
	if err := ws.NotifyBlocks(); err != nil {
		ws.Shutdown()
		return fmt.Errorf("bitcoin: node websocket at %s: notifyblocks: %w", s.cfg.Host, err)
	}
	if err := ws.NotifyNewTransactions(true); err != nil {
		ws.Shutdown()
		return fmt.Errorf("bitcoin: node websocket at %s: notifynewtransactions: %w",
			s.cfg.Host, err)
	}
	s.ws = ws
	return nil
}

// onWebsocketConnected runs on every websocket connection. After the first, it reports the
// reconnection and signals every subscription's poller to replay the mempool.
func (s *RPCSource) onWebsocketConnected() {
	s.mu.Lock()
	s.connects++
	reconnected := s.connects > 1
	s.mu.Unlock()
	if !reconnected {
		return
	}
	s.cfg.Logger.Info("bitcoin rpc source: websocket reconnected", "node", s.cfg.Host)
	s.push(ChainUpdate{Kind: UpdateReconnected})
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rescan := range s.subscribers {
		select {
		case rescan <- struct{}{}:
		default:
		}
	}
}
