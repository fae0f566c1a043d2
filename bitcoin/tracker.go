package bitcoin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// TrackerConfig configures a Tracker.
type TrackerConfig struct {
	// Source is the node the tracker reads. Required.
	Source ChainSource
	// Cursors keeps the last processed block across restarts. Required; use a
	// MemoryCursorStore to rescan from the tip at every start.
	Cursors CursorStore
	// Handler receives the payment events. Required.
	Handler EventHandler
	// Depth is the confirmation count at which a payment is final: it is reported once
	// with Final set and no longer followed. It is also how many blocks below the saved
	// cursor the tracker rescans at start. Default 6.
	Depth int32
	// RetryInterval is the first wait after a failed read from the source; it doubles up
	// to MaxRetryInterval. Default 1 s.
	RetryInterval time.Duration
	// MaxRetryInterval caps the wait between retries. Default 1 min.
	MaxRetryInterval time.Duration
	// Logger receives retries and reorganisations. Default slog.Default().
	Logger *slog.Logger
}

func (c TrackerConfig) withDefaults() (TrackerConfig, error) {
	switch {
	case c.Source == nil:
		return c, errors.New("bitcoin: tracker: Source is required")
	case c.Cursors == nil:
		return c, errors.New("bitcoin: tracker: Cursors is required")
	case c.Handler == nil:
		return c, errors.New("bitcoin: tracker: Handler is required")
	case c.Depth < 0:
		return c, fmt.Errorf("bitcoin: tracker: Depth %d is negative: expected 1 or more",
			c.Depth)
	}
	if c.Depth == 0 {
		c.Depth = 6
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = time.Second
	}
	if c.MaxRetryInterval <= 0 {
		c.MaxRetryInterval = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Tracker follows payments to watched output scripts. It reads each new block and mempool
// transaction once from a ChainSource and looks each output up in the watch set. What
// happens to a matching output is reported as PaymentEvents until it reaches the depth.
//
// The cost of a block is one set lookup per output and one per input, whatever the number
// of watched scripts. The tracker makes no per-address calls to the node.
//
// # Restarts
//
// The tracker saves the last processed block through CursorStore after every block. Its
// other state, the unconfirmed and shallow payments it follows, lives in memory only and is
// rebuilt at start: Run walks back from the saved block to where it joins the node's best
// chain (reporting EventReorged for payments in blocks that left it while the tracker was
// down, which needs the node to still hold those blocks), then rescans the last Depth blocks
// up to the tip, and scans the node's mempool. Events of the rescanned blocks are
// therefore sent again; each carries the payment's full state, so handling one twice is
// harmless. Payments found by the mempool scan carry the time the node accepted them, where
// the source implements MempoolEntryTimer, so that one broadcast while the tracker was down
// is not dated at the restart. Synced reports when this catch-up is done. A saved block the
// node does not have at all ends Run with a ForeignCursorError.
type Tracker struct {
	cfg     TrackerConfig
	watches *watchSet
	status  trackerStatus

	// The fields below belong to the goroutine in Run.
	position BlockID
	// saved is the position last saved through Cursors.
	saved    BlockID
	txs      map[chainhash.Hash]*trackedTx
	spenders map[wire.OutPoint]chainhash.Hash
	// signalling contains unconfirmed transactions seen to signal RBF, so that a payment
	// spending one of their outputs inherits the signal.
	signalling map[chainhash.Hash]struct{}
	// settled maps transactions no longer followed because they reached Depth or were
	// double-spent to the height where that happened, so that a late mempool notice of
	// one does not start following it again.
	settled map[chainhash.Hash]int32
}

// trackedTx is a transaction paying at least one watched script.
type trackedTx struct {
	txid     chainhash.Hash
	inputs   []wire.OutPoint
	payments []*trackedPayment
	rbf      bool
	// block is the block holding the transaction; the zero BlockID while unconfirmed.
	block BlockID
	// blockTime is the timestamp in block's header.
	blockTime time.Time
	// firstSeen is when the node accepted the transaction into its mempool. It is set for a
	// transaction found by a mempool scan, and zero otherwise or when the lookup failed.
	firstSeen time.Time
}

func (t *trackedTx) confirmed() bool { return t.block.Hash != chainhash.Hash{} }

// confirm records the block holding the transaction.
func (t *trackedTx) confirm(block BlockID, header *wire.BlockHeader) {
	t.block, t.blockTime = block, header.Timestamp
}

// unconfirm records that the transaction is in no block of the best chain.
func (t *trackedTx) unconfirm() { t.block, t.blockTime = BlockID{}, time.Time{} }

// trackedPayment is one output of a trackedTx that pays a watched script.
type trackedPayment struct {
	outpoint wire.OutPoint
	watchID  string
	script   []byte
	value    btcutil.Amount
	// reported is the confirmation count last sent, -1 before the first event.
	reported int32
}

// NewTracker returns a tracker for the configuration. Call Watch for the scripts to follow,
// then Run.
func NewTracker(cfg TrackerConfig) (*Tracker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Tracker{cfg: cfg, watches: newWatchSet()}, nil
}

// Depth returns the confirmation count at which a payment is final and no longer followed.
func (t *Tracker) Depth() int32 { return t.cfg.Depth }

// Watch adds an output script to follow, reported under id. Watching a script again
// replaces its id for payments found later. Payments already confirmed when Watch is called
// are found only if their block is among those the tracker still has to process, and one
// already in the mempool only once it is mined. It is safe to call at any time.
func (t *Tracker) Watch(script []byte, id string) error {
	return t.watches.add(script, id)
}

// Unwatch stops following an output script. Payments to it already followed are still
// reported until final.
func (t *Tracker) Unwatch(script []byte) {
	t.watches.remove(script)
}

// Watching returns the number of watched scripts.
func (t *Tracker) Watching() int { return t.watches.len() }

// handlerError marks an error returned by the EventHandler, which ends Run, apart from
// errors of the source, which Run retries.
type handlerError struct{ err error }

func (e handlerError) Error() string { return "bitcoin: tracker: handle event: " + e.err.Error() }
func (e handlerError) Unwrap() error { return e.err }

func (t *Tracker) emit(ctx context.Context, event PaymentEvent) error {
	if err := t.cfg.Handler.HandlePaymentEvent(ctx, event); err != nil {
		return handlerError{err}
	}
	return nil
}

// Run follows the chain until ctx ends or the handler fails. It returns ctx.Err() on
// cancellation, a *ForeignCursorError when the saved cursor is not on the node's chain, and
// the handler's error, wrapped, otherwise. Errors reading the source are logged and retried
// with backoff. Run must not be called twice at once. A later call
// starts again from the saved cursor and keeps following the unconfirmed payments the
// earlier one reported, so that one that leaves the mempool meanwhile is reported dropped.
func (t *Tracker) Run(ctx context.Context) error {
	t.saved = BlockID{}
	kept := t.deliveredUnconfirmed()
	t.txs = make(map[chainhash.Hash]*trackedTx)
	t.spenders = make(map[wire.OutPoint]chainhash.Hash)
	for _, followed := range kept {
		t.txs[followed.txid] = followed
		for _, in := range followed.inputs {
			t.spenders[in] = followed.txid
		}
	}
	t.signalling = make(map[chainhash.Hash]struct{})
	t.settled = make(map[chainhash.Hash]int32)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribe before catching up, so that nothing announced meanwhile is lost.
	updates := t.cfg.Source.Subscribe(ctx)

	defer t.status.set(BlockID{})

	retry := t.cfg.RetryInterval
	started := false
	needSync := true
	// scanPending is set until the mempool was scanned after the start or a reconnection.
	scanPending := true
	for {
		if needSync {
			replaced, err := t.catchUp(ctx, &started, &scanPending)
			var handlerErr handlerError
			var cursorErr *ForeignCursorError
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.As(err, &handlerErr), errors.As(err, &cursorErr):
				return err
			case err != nil:
				t.status.set(BlockID{})
				t.cfg.Logger.Warn("bitcoin tracker: chain source failed; retrying",
					"error", err, "retry_in", retry, "position", t.position.String())
				if !sleepContext(ctx, retry) {
					return ctx.Err()
				}
				retry = min(2*retry, t.cfg.MaxRetryInterval)
				continue
			}
			// A replacement found by the scan evicted the replaced transaction's
			// descendants, which the next sync reports dropped.
			needSync = replaced
			retry = t.cfg.RetryInterval
			if needSync {
				continue
			}
		}

		select {
		case <-ctx.Done():
			return ctx.Err()
		case update, ok := <-updates:
			if !ok {
				return ctx.Err()
			}
			switch update.Kind {
			case UpdateBlock:
				needSync = true
			case UpdateReconnected:
				// Blocks and mempool transactions may have been missed meanwhile.
				t.status.set(BlockID{})
				needSync, scanPending = true, true
			case UpdateTransaction:
				// Run reaches this select only once start has succeeded.
				// A notified transaction has only just arrived, so it needs no entry time.
				replaced, err := t.handleMempoolTx(ctx, update.Tx, false)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err != nil {
					return err
				}
				// A sync checks which followed payments are still in the mempool, so that
				// descendants of the replaced transaction are reported dropped now rather
				// than after the next block.
				needSync = replaced
			}
		}
	}
}

// deliveredUnconfirmed returns the unconfirmed transactions a previous Run followed whose
// payments were all reported unconfirmed. Neither the rescan nor the mempool replay finds
// them again once they left the mempool, so Run keeps following them and reports their
// fate after a handler error, which would otherwise be lost.
func (t *Tracker) deliveredUnconfirmed() []*trackedTx {
	var kept []*trackedTx
	for _, followed := range t.txs {
		if followed.confirmed() {
			continue
		}
		delivered := true
		for _, p := range followed.payments {
			delivered = delivered && p.reported == 0
		}
		if delivered {
			kept = append(kept, followed)
		}
	}
	return kept
}

// catchUp starts from the saved cursor unless started, syncs to the node's tip and, if
// scanPending, scans the mempool. Once all of it succeeded it records the tip reached for
// Synced. It returns whether the scan found a replacement of a followed transaction.
func (t *Tracker) catchUp(ctx context.Context, started, scanPending *bool) (bool, error) {
	if !*started {
		if err := t.start(ctx); err != nil {
			return false, err
		}
		*started = true
	}
	if err := t.sync(ctx); err != nil {
		return false, err
	}
	replaced := false
	if *scanPending {
		var err error
		if replaced, err = t.scanMempool(ctx); err != nil {
			return false, err
		}
		*scanPending = false
	}
	if !replaced {
		t.status.set(t.position)
	}
	return replaced, nil
}

func sleepContext(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
