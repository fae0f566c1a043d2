package bitcoin

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// trackerStatus is the part of a Tracker's state that other goroutines read.
type trackerStatus struct {
	mu sync.Mutex
	// caughtUp is the tip the last sync reached once the mempool was scanned since Run
	// started or the source reconnected. It is the zero BlockID while catching up,
	// retrying, or not running.
	caughtUp BlockID
}

func (s *trackerStatus) set(caughtUp BlockID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caughtUp = caughtUp
}

func (s *trackerStatus) get() BlockID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caughtUp
}

// Synced reports whether the tracker has caught up with its node: Run has processed the
// block at the node's current tip and, since it started or the source last reconnected,
// has handled every transaction in the node's mempool. It is false while Run is not
// running, is catching up, or is retrying a failed read, and it returns an error, with
// false, when the node's tip cannot be read. It is safe to call at any time.
//
// A consumer that decides something from the absence of a payment, such as expiring an
// invoice, should wait until Synced is true. A payment made while the tracker or its node
// was down is only reported once the tracker has caught up.
func (t *Tracker) Synced(ctx context.Context) (bool, error) {
	reached := t.status.get()
	if reached == (BlockID{}) {
		return false, nil
	}
	tip, err := t.cfg.Source.Tip(ctx)
	if err != nil {
		return false, fmt.Errorf("bitcoin: tracker: read chain tip: %w", err)
	}
	return tip.Hash == reached.Hash, nil
}

// scanMempool handles every transaction in the node's mempool that the tracker does not
// follow yet. The source replays the mempool through Subscribe as well, but the tracker
// cannot detect when that replay ends, so its own scan marks the point from which Synced
// may report true. It returns whether a transaction replaced a followed one.
//
// NOTE: the scan reads each mempool transaction once more after the source's replay,
// which on a full mainnet mempool is many node calls at each start and reconnection.
func (t *Tracker) scanMempool(ctx context.Context) (bool, error) {
	txids, err := t.cfg.Source.Mempool(ctx)
	if err != nil {
		return false, fmt.Errorf("read mempool: %w", err)
	}
	replacedAny := false
	for _, txid := range txids {
		if _, ok := t.txs[txid]; ok {
			continue
		}
		tx, err := t.cfg.Source.Transaction(ctx, txid)
		if errors.Is(err, ErrNotFound) {
			// Mined or evicted since the list was read.
			continue
		}
		if err != nil {
			return replacedAny, fmt.Errorf("read mempool transaction %s: %w", txid, err)
		}
		replaced, err := t.handleMempoolTx(ctx, tx, true)
		if err != nil {
			return replacedAny, err
		}
		replacedAny = replacedAny || replaced
	}
	return replacedAny, nil
}
