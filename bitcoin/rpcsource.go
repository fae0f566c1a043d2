package bitcoin

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"
)

// NodeKind selects how an RPCSource learns about new blocks and transactions.
type NodeKind uint8

const (
	// NodeBitcoind polls over HTTP: the source reads the best block and the mempool every
	// PollInterval, using only calls Bitcoin Core has (getblockcount, getblockhash,
	// getblock with verbosity 0, getrawmempool, getrawtransaction).
	//
	// NOTE: each poll transfers the whole list of mempool txids and each new mempool
	// transaction costs one getrawtransaction; bitcoind's ZMQ feed is not used.
	NodeBitcoind NodeKind = iota + 1
	// NodeBtcd is pushed to: the source opens btcd's websocket, registers for block and
	// transaction notifications (notifyblocks, notifynewtransactions) and sends the same
	// calls over it.
	NodeBtcd
)

// String returns the kind's name.
func (k NodeKind) String() string {
	switch k {
	case NodeBitcoind:
		return "bitcoind"
	case NodeBtcd:
		return "btcd"
	default:
		return fmt.Sprintf("NodeKind(%d)", uint8(k))
	}
}

// RPCSourceConfig configures an RPCSource.
type RPCSourceConfig struct {
	// Kind is the node software. Required.
	Kind NodeKind
	// Host is the node's RPC address as host:port. Required.
	Host string
	// User and Password are the node's rpcuser and rpcpassword.
	User     string
	Password string
	// DisableTLS talks plain HTTP, as bitcoind serves it. btcd serves TLS unless started
	// with --notls.
	DisableTLS bool
	// Certificates is the PEM certificate the node's TLS server presents (btcd's rpc.cert);
	// nil trusts the system's roots.
	Certificates []byte
	// PollInterval is how often the best block, and for bitcoind the mempool, are read.
	// Default 2 s for bitcoind and 30 s for btcd, where polling only backs up the
	// notifications.
	PollInterval time.Duration
	// CallTimeout bounds each RPC call. Default 30 s.
	CallTimeout time.Duration
	// Logger receives connection losses and recoveries. Default slog.Default().
	Logger *slog.Logger
}

func (c RPCSourceConfig) withDefaults() (RPCSourceConfig, error) {
	if c.Kind != NodeBitcoind && c.Kind != NodeBtcd {
		return c, fmt.Errorf("bitcoin: rpc source: Kind %s is invalid: expected NodeBitcoind "+
			"or NodeBtcd", c.Kind)
	}
	if c.Host == "" || !strings.Contains(c.Host, ":") {
		return c, fmt.Errorf("bitcoin: rpc source: Host %q is invalid: expected host:port, "+
			"such as 127.0.0.1:8332", c.Host)
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
		if c.Kind == NodeBtcd {
			c.PollInterval = 30 * time.Second
		}
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// RPCSource is a ChainSource that reads a bitcoind or btcd node over JSON-RPC.
type RPCSource struct {
	cfg RPCSourceConfig
	// rpc sends the calls: over HTTP for bitcoind, over the websocket for btcd.
	rpc rpcCaller

	// ws is btcd's websocket client, nil for bitcoind. It reconnects by itself, waiting
	// 5 s more after each failed attempt up to a minute, and registers its notifications
	// again.
	ws *rpcclient.Client
	// subscribers maps the queue of each subscription, which receives pushed notifications,
	// to the channel that signals its poller to replay the mempool after the websocket
	// reconnected.
	mu          sync.Mutex
	subscribers map[*updateQueue]chan struct{}
	// connects counts websocket connections, to tell a reconnection from the first one.
	connects int

	// noMempoolEntry is set once the node has replied that it lacks getmempoolentry.
	noMempoolEntry atomic.Bool
	mempoolListing mempoolListing
}

// DialRPC checks that the node accepts the credentials given and returns a source for it.
// For btcd it also opens the websocket for notifications. The error states whether the node
// was unreachable or rejected the credentials, and where.
func DialRPC(ctx context.Context, cfg RPCSourceConfig) (*RPCSource, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	source := &RPCSource{
		cfg:         cfg,
		subscribers: make(map[*updateQueue]chan struct{}),
	}
	if cfg.Kind == NodeBtcd {
		if err := source.openWebsocket(); err != nil {
			return nil, err
		}
		source.rpc = &wsCaller{client: source.ws, host: cfg.Host, timeout: cfg.CallTimeout}
	} else {
		client, err := newJSONRPCClient(cfg)
		if err != nil {
			return nil, err
		}
		source.rpc = client
	}
	if _, err := source.Tip(ctx); err != nil {
		source.Close()
		return nil, err
	}
	return source, nil
}

// Close stops the websocket client, if any.
func (s *RPCSource) Close() {
	if s.ws != nil {
		s.ws.Shutdown()
		s.ws.WaitForShutdown()
	}
}

// Tip returns the best block. It reads the height first and then the hash at that height,
// so the pair is consistent even when a block arrives in between.
func (s *RPCSource) Tip(ctx context.Context) (BlockID, error) {
	var height int32
	if err := s.rpc.call(ctx, "getblockcount", &height); err != nil {
		return BlockID{}, s.wrap("getblockcount", err)
	}
	hash, err := s.BlockHash(ctx, height)
	if errors.Is(err, ErrNotFound) {
		// A reorganisation to a shorter chain came in between; the caller reads again.
		return BlockID{}, fmt.Errorf("bitcoin: node RPC at %s: chain tip moved while read",
			s.cfg.Host)
	}
	if err != nil {
		return BlockID{}, err
	}
	return BlockID{Hash: hash, Height: height}, nil
}

// BlockHash returns the hash of the best chain's block at height.
func (s *RPCSource) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	var hexHash string
	err := s.rpc.call(ctx, "getblockhash", &hexHash, height)
	if code, ok := rpcErrorCode(err); ok {
		// Bitcoin Core rejects an out-of-range height with code -8, btcd with -1.
		if code == btcjson.ErrRPCInvalidParameter || code == btcjson.ErrRPCOutOfRange {
			return chainhash.Hash{}, fmt.Errorf("block at height %d: %w", height, ErrNotFound)
		}
	}
	if err != nil {
		return chainhash.Hash{}, s.wrap("getblockhash", err)
	}
	hash, err := chainhash.NewHashFromStr(hexHash)
	if err != nil {
		return chainhash.Hash{}, fmt.Errorf("bitcoin: node RPC at %s: getblockhash returned "+
			"%q: %w", s.cfg.Host, hexHash, err)
	}
	return *hash, nil
}

// Block returns the block with the hash, decoded from its raw serialisation.
func (s *RPCSource) Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	var hexBlock string
	err := s.rpc.call(ctx, "getblock", &hexBlock, hash.String(), 0)
	if code, ok := rpcErrorCode(err); ok && code == btcjson.ErrRPCBlockNotFound {
		return nil, fmt.Errorf("block %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap("getblock", err)
	}
	raw, err := hex.DecodeString(hexBlock)
	if err != nil {
		return nil, fmt.Errorf("bitcoin: node RPC at %s: getblock %s: invalid hex: %w",
			s.cfg.Host, hash, err)
	}
	var block wire.MsgBlock
	if err := block.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("bitcoin: node RPC at %s: decode block %s: %w",
			s.cfg.Host, hash, err)
	}
	return &block, nil
}

// Mempool returns the ids of the mempool's transactions.
func (s *RPCSource) Mempool(ctx context.Context) ([]chainhash.Hash, error) {
	var hexIDs []string
	if err := s.rpc.call(ctx, "getrawmempool", &hexIDs, false); err != nil {
		return nil, s.wrap("getrawmempool", err)
	}
	txids := make([]chainhash.Hash, len(hexIDs))
	for i, hexID := range hexIDs {
		txid, err := chainhash.NewHashFromStr(hexID)
		if err != nil {
			return nil, fmt.Errorf("bitcoin: node RPC at %s: getrawmempool returned %q: %w",
				s.cfg.Host, hexID, err)
		}
		txids[i] = *txid
	}
	return txids, nil
}

// Transaction returns a mempool transaction or, on a node with a transaction index, a
// confirmed one.
func (s *RPCSource) Transaction(ctx context.Context, txid chainhash.Hash) (*wire.MsgTx,
	error) {

	var hexTx string
	err := s.rpc.call(ctx, "getrawtransaction", &hexTx, txid.String(), 0)
	if code, ok := rpcErrorCode(err); ok && code == btcjson.ErrRPCNoTxInfo {
		return nil, fmt.Errorf("transaction %s: %w", txid, ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap("getrawtransaction", err)
	}
	return decodeTxHex(hexTx)
}

func decodeTxHex(hexTx string) (*wire.MsgTx, error) {
	raw, err := hex.DecodeString(hexTx)
	if err != nil {
		return nil, fmt.Errorf("bitcoin: invalid transaction hex: %w", err)
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("bitcoin: decode transaction: %w", err)
	}
	return &tx, nil
}

// wrap adds the node's address and the method to an error the node returned.
func (s *RPCSource) wrap(method string, err error) error {
	if _, ok := rpcErrorCode(err); ok {
		return fmt.Errorf("bitcoin: node RPC at %s: %s: %w", s.cfg.Host, method, err)
	}
	return err
}
