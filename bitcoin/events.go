package bitcoin

import (
	"context"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// EventKind is what happened to a payment.
type EventKind uint8

const (
	// EventMempool reports a payment seen unconfirmed in the mempool.
	EventMempool EventKind = iota + 1
	// EventConfirmed reports a payment's confirmation count: when its block is first seen
	// and after each later block, up to the tracker's depth, where Final is set. A payment
	// that comes back after a reorganisation is reported confirmed again.
	EventConfirmed
	// EventReorged reports that the block holding a payment left the best chain. The
	// payment is unconfirmed again, and usually back in the node's mempool.
	EventReorged
	// EventReplaced reports that a transaction spending an input of the payment's
	// transaction entered the mempool (an RBF replacement); ConflictTxID names it.
	EventReplaced
	// EventDoubleSpent reports that a transaction spending an input of the payment's
	// transaction was confirmed; ConflictTxID names it.
	EventDoubleSpent
	// EventDropped reports that an unconfirmed payment left the mempool without a
	// conflicting transaction the tracker saw: evicted, expired, replaced while the
	// tracker was not looking, or reorganised out and not returned to the mempool.
	EventDropped
)

var eventKindNames = map[EventKind]string{
	EventMempool:     "mempool",
	EventConfirmed:   "confirmed",
	EventReorged:     "reorged",
	EventReplaced:    "replaced",
	EventDoubleSpent: "double-spent",
	EventDropped:     "dropped",
}

// String returns the kind's lowercase name.
func (k EventKind) String() string {
	if name, ok := eventKindNames[k]; ok {
		return name
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// PaymentEvent reports the state of one output paying a watched script. Events are keyed by
// OutPoint and carry the payment's full state, so a consumer that handles one twice changes
// nothing. After a restart the tracker repeats the events of the blocks it rescans.
type PaymentEvent struct {
	Kind EventKind
	// OutPoint is the paying output: transaction id and output index.
	OutPoint wire.OutPoint
	// WatchID is the identifier given to Watch for the script.
	WatchID string
	// Script is the output script paid.
	Script []byte
	// Value is the output's value.
	Value btcutil.Amount
	// Confirmations is the depth of the block holding the transaction in the best chain;
	// 0 while unconfirmed and after a reorganisation, replacement or double spend.
	Confirmations int32
	// Block is the block holding the transaction; for EventReorged, the block that left the
	// best chain. Zero while unconfirmed.
	Block BlockID
	// BlockTime is the timestamp in Block's header, set on EventConfirmed. Miners choose
	// it within consensus limits, so it is close to, but not exactly, when the block was
	// found.
	BlockTime time.Time
	// FirstSeen is when the node accepted the transaction into its mempool, by the node's
	// clock. It is set for a payment the tracker found in the mempool at start or after a
	// reconnection, where it may have waited while the tracker was not running. It is zero
	// for a transaction the tracker was notified of as it arrived, for one it first found in
	// a block, and when the source cannot report it (see MempoolEntryTimer). Later events of
	// the payment repeat it.
	FirstSeen time.Time
	// SignalsRBF is set when the transaction signals replaceability (BIP125), explicitly
	// through an input sequence number or by spending an unconfirmed output of a
	// transaction that signals.
	SignalsRBF bool
	// ConflictTxID is the transaction that spent the same input, for EventReplaced and
	// EventDoubleSpent.
	ConflictTxID chainhash.Hash
	// Final is set on the EventConfirmed that reaches the tracker's depth, after which the
	// payment is no longer reported.
	Final bool
}

// String returns a one-line summary for logs.
func (e PaymentEvent) String() string {
	return fmt.Sprintf("%s %s watch=%s value=%s confirmations=%d", e.Kind, e.OutPoint,
		e.WatchID, e.Value, e.Confirmations)
}

// EventHandler receives payment events. An error stops the tracker's Run, which returns it.
// When Run is called again, the events of the block being processed are sent again, and so
// is the event that failed or, for an unconfirmed payment that has since left the mempool,
// EventDropped.
type EventHandler interface {
	HandlePaymentEvent(ctx context.Context, event PaymentEvent) error
}

// EventHandlerFunc adapts a function to EventHandler.
type EventHandlerFunc func(ctx context.Context, event PaymentEvent) error

// HandlePaymentEvent calls f.
func (f EventHandlerFunc) HandlePaymentEvent(ctx context.Context, event PaymentEvent) error {
	return f(ctx, event)
}
