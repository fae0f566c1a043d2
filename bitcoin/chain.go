package bitcoin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// ErrNotFound is returned by a ChainSource when the node has no such block or transaction
// (a transaction neither in the mempool nor, where the node indexes them, in the chain).
var ErrNotFound = errors.New("bitcoin: not found")

// BlockID identifies a block by its hash and its height in the chain it belongs to.
type BlockID struct {
	Hash   chainhash.Hash
	Height int32
}

// String returns height:hash.
func (b BlockID) String() string { return fmt.Sprintf("%d:%s", b.Height, b.Hash) }

// ChainSource is a read-only view of a node's best chain and mempool, which the Tracker reads
// through. Implementations are safe for concurrent use.
type ChainSource interface {
	// Tip returns the best block.
	Tip(ctx context.Context) (BlockID, error)
	// BlockHash returns the hash of the best chain's block at height, or ErrNotFound above
	// the tip.
	BlockHash(ctx context.Context, height int32) (chainhash.Hash, error)
	// Block returns the block with the hash and its transactions, including a block no
	// longer in the best chain if the node still has it, or ErrNotFound.
	Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error)
	// Mempool returns the ids of the transactions in the mempool.
	Mempool(ctx context.Context) ([]chainhash.Hash, error)
	// Transaction returns the transaction from the mempool or, where the node keeps a
	// transaction index, from the chain; ErrNotFound if it has neither.
	Transaction(ctx context.Context, txid chainhash.Hash) (*wire.MsgTx, error)
	// Subscribe sends chain updates until ctx ends, then closes the channel. It first sends
	// every transaction already in the mempool, and after a lost connection comes back it
	// sends UpdateReconnected followed by the mempool transactions it may have missed.
	Subscribe(ctx context.Context) <-chan ChainUpdate
}

// MempoolEntryTimer is implemented by a ChainSource that can report when a transaction
// entered its node's mempool. The tracker calls it for a payment it finds in the mempool at
// start or after a reconnection, which may have been broadcast while the tracker was not
// running. RPCSource implements it, EsploraSource does not.
type MempoolEntryTimer interface {
	// MempoolEntryTime returns when the node accepted the transaction into its mempool, by
	// the node's clock, or an error wrapping ErrNotFound if it is not in the mempool. An
	// implementation may use a recent read of the mempool, so it may still return a time
	// for a transaction that has left the mempool since.
	MempoolEntryTime(ctx context.Context, txid chainhash.Hash) (time.Time, error)
}

// UpdateKind is what a ChainUpdate reports.
type UpdateKind uint8

const (
	// UpdateBlock reports that the best chain changed; Block is the new tip as the source
	// saw it, which may be outdated by the time it is read.
	UpdateBlock UpdateKind = iota + 1
	// UpdateTransaction reports a transaction that entered the mempool; Tx holds it.
	UpdateTransaction
	// UpdateReconnected reports that the connection to the node came back after a loss, so
	// blocks and mempool transactions may have been missed.
	UpdateReconnected
)

// String returns the kind's lowercase name.
func (k UpdateKind) String() string {
	switch k {
	case UpdateBlock:
		return "block"
	case UpdateTransaction:
		return "transaction"
	case UpdateReconnected:
		return "reconnected"
	default:
		return fmt.Sprintf("UpdateKind(%d)", uint8(k))
	}
}

// ChainUpdate is one notification from a ChainSource.
type ChainUpdate struct {
	Kind  UpdateKind
	Block BlockID
	Tx    *wire.MsgTx
}
