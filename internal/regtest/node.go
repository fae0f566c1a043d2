package regtest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/integration/rpctest"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"
)

// Options configures a node. The zero value starts a funded node.
type Options struct {
	// Empty starts the node with only the genesis block and no coins, for a node that will
	// take its chain from another one through Connect.
	Empty bool
	// MatureOutputs is the number of spendable coinbase outputs the harness wallet starts
	// with. Default 25. Ignored when Empty is set.
	MatureOutputs uint32
	// Coins is the number of outputs of CoinValue the node's own key starts with; sends that
	// go through Pay spend them. Default 20. Ignored when Empty is set.
	Coins int
	// CoinValue is the value of each starting coin. Default 1 BTC.
	CoinValue btcutil.Amount
	// ExtraArgs are passed to btcd after the harness's own arguments. --txindex is always
	// added.
	ExtraArgs []string
	// Handlers receive the harness client's websocket notifications; nil for none.
	Handlers *rpcclient.NotificationHandlers
}

// Node is a running btcd regtest node with a funded wallet.
type Node struct {
	// Harness is the underlying rpctest harness; its Client is connected over websocket.
	Harness *rpctest.Harness

	wallet *keyWallet

	stopOnce sync.Once
	stopErr  error
}

// startAttempts bounds retries when a freshly chosen listening port was taken by another
// process between the check and btcd's bind.
const startAttempts = 3

// setUpTimeout bounds how long the harness may take to start, mine its first chain and
// sync its wallet.
const setUpTimeout = 2 * time.Minute

// New builds btcd if needed, starts a regtest node and funds its wallets. Call Stop when done.
func New(opts Options) (*Node, error) {
	opts = opts.withDefaults()
	exe, err := BtcdPath()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		node, err := start(exe, opts)
		if err == nil {
			return node, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("start btcd regtest node (%d attempts): %w", startAttempts, lastErr)
}

// Start is New for tests: it fails the test on error and stops the node at cleanup.
func Start(tb testing.TB, opts Options) *Node {
	tb.Helper()
	node, err := New(opts)
	if err != nil {
		tb.Fatalf("regtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := node.Stop(); err != nil {
			tb.Errorf("regtest: stop node: %v", err)
		}
	})
	return node
}

func (o Options) withDefaults() Options {
	if o.MatureOutputs == 0 {
		o.MatureOutputs = 25
	}
	if o.Coins == 0 {
		o.Coins = 20
	}
	if o.CoinValue == 0 {
		o.CoinValue = btcutil.SatoshiPerBitcoin
	}
	return o
}

func start(exe string, opts Options) (*Node, error) {
	args := append([]string{"--txindex"}, opts.ExtraArgs...)
	harness, err := rpctest.New(&chaincfg.RegressionNetParams, opts.Handlers, args, exe)
	if err != nil {
		return nil, fmt.Errorf("create harness: %w", err)
	}
	outputs := opts.MatureOutputs
	if opts.Empty {
		outputs = 0
	}
	if err := setUpWithTimeout(harness, outputs); err != nil {
		_ = harness.TearDown()
		return nil, err
	}
	node := &Node{Harness: harness}
	node.wallet, err = newKeyWallet(harness)
	if err == nil && !opts.Empty {
		err = node.wallet.fund(opts.Coins, opts.CoinValue)
	}
	if err != nil {
		_ = harness.TearDown()
		return nil, err
	}
	return node, nil
}

// setUpWithTimeout runs SetUp, whose wallet sync loop has no deadline of its own.
func setUpWithTimeout(harness *rpctest.Harness, outputs uint32) error {
	done := make(chan error, 1)
	go func() { done <- harness.SetUp(outputs > 0, outputs) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("set up harness: %w", err)
		}
		return nil
	case <-time.After(setUpTimeout):
		return fmt.Errorf("set up harness: timed out after %s", setUpTimeout)
	}
}

// Stop shuts the node down and removes its data directory. Later calls return the first
// result.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() { n.stopErr = n.Harness.TearDown() })
	return n.stopErr
}

// Client returns the node's websocket RPC client.
func (n *Node) Client() *rpcclient.Client { return n.Harness.Client }

// RPCConfig returns a configuration another client can connect with: the websocket endpoint,
// the node's TLS certificate, and its user name and password.
func (n *Node) RPCConfig() rpcclient.ConnConfig { return n.Harness.RPCConfig() }

// P2PAddress returns the host:port the node accepts peers on.
func (n *Node) P2PAddress() string { return n.Harness.P2PAddress() }

// Mine mines count blocks on top of the node's best chain, including its mempool.
func (n *Node) Mine(count uint32) ([]*chainhash.Hash, error) {
	hashes, err := n.Harness.Client.Generate(count)
	if err != nil {
		return nil, fmt.Errorf("mine %d blocks: %w", count, err)
	}
	return hashes, nil
}

// MineTransactions mines one block that holds exactly txs (and no mempool transactions),
// even when they conflict with transactions in the mempool, which the node then evicts.
func (n *Node) MineTransactions(txs ...*wire.MsgTx) (*chainhash.Hash, error) {
	wrapped := make([]*btcutil.Tx, len(txs))
	for i, tx := range txs {
		wrapped[i] = btcutil.NewTx(tx)
	}
	block, err := n.Harness.GenerateAndSubmitBlock(wrapped, -1, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("mine block with %d transactions: %w", len(txs), err)
	}
	return block.Hash(), nil
}

// BestBlock returns the hash and height of the node's chain tip.
func (n *Node) BestBlock() (*chainhash.Hash, int32, error) {
	return n.Harness.Client.GetBestBlock()
}

// freeLocalAddresses returns two distinct 127.0.0.1 host:port pairs the kernel chose as free.
// Asking the kernel for ephemeral ports, instead of counting up from a fixed port as rpctest
// does, keeps test binaries of different packages from picking the same ports.
func freeLocalAddresses() (string, string) {
	first, err1 := net.Listen("tcp4", "127.0.0.1:0")
	second, err2 := net.Listen("tcp4", "127.0.0.1:0")
	if err := errors.Join(err1, err2); err != nil {
		panic(fmt.Sprintf("regtest: no free local port: %v", err))
	}
	defer first.Close()
	defer second.Close()
	return first.Addr().String(), second.Addr().String()
}

func init() {
	rpctest.ListenAddressGenerator = freeLocalAddresses
}
