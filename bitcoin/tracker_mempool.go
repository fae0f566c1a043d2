package bitcoin

import (
	"context"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// maxSignalling bounds the set of unconfirmed RBF-signalling transactions kept for
// inheritance. Entries leave the set when their transaction is confirmed. The tracker never
// sees an eviction from the mempool, so the set is cleared when it grows past the bound.
const maxSignalling = 200_000

// settledRetention is how many blocks a settled transaction is remembered. A mempool notice
// is handled after every block announced before it, so it can only be this late if the
// handler falls more than a week of blocks behind the node.
const settledRetention = 1008

// signalsRBF reports whether tx signals replaceability explicitly (BIP125): an input with a
// sequence number below 0xfffffffe.
func signalsRBF(tx *wire.MsgTx) bool {
	for _, in := range tx.TxIn {
		if in.Sequence < wire.MaxTxInSequenceNum-1 {
			return true
		}
	}
	return false
}

// handleMempoolTx processes a transaction that entered the mempool: it reports followed
// payments it replaces and the outputs it pays to watched scripts. With scanned, the
// transaction comes from a mempool scan, where it may have waited for some time, so a
// payment is dated with the node's entry time. It returns whether it replaced a followed
// transaction, whose descendants the node then evicted too.
func (t *Tracker) handleMempoolTx(ctx context.Context, tx *wire.MsgTx, scanned bool) (bool,
	error) {

	txid := tx.TxHash()
	if _, ok := t.txs[txid]; ok {
		return false, nil
	}
	if _, ok := t.settled[txid]; ok {
		// Sync reads the node's tip, not the notified block, so the notice can come after
		// the block that settled the transaction.
		return false, nil
	}

	rbf := signalsRBF(tx)
	var conflicts []conflict
	for _, in := range tx.TxIn {
		parent := in.PreviousOutPoint.Hash
		if _, ok := t.signalling[parent]; ok {
			rbf = true
		}
		spender, ok := t.spenders[in.PreviousOutPoint]
		if followed := t.txs[spender]; ok && spender != txid && followed != nil &&
			!followed.confirmed() {
			conflicts = append(conflicts, conflict{followed: spender, by: txid})
		}
	}
	if rbf {
		// NOTE: a signalling transaction evicted from the mempool stays in the set until
		// it is cleared, which only makes a later spend of its outputs (impossible while
		// it is gone) look inherited.
		if len(t.signalling) >= maxSignalling {
			clear(t.signalling)
		}
		t.signalling[txid] = struct{}{}
	}

	var matches []blockMatch
	t.watches.mu.RLock()
	for index, out := range tx.TxOut {
		if id, ok := t.watches.lookupLocked(out.PkScript); ok {
			matches = append(matches, blockMatch{
				tx: tx, txid: txid, index: uint32(index), output: out, id: id,
			})
		}
	}
	t.watches.mu.RUnlock()

	for _, c := range conflicts {
		if err := t.reportConflict(ctx, c, EventReplaced); err != nil {
			return false, err
		}
	}
	for _, followed := range t.followMatches(matches) {
		followed.rbf = rbf
		if scanned {
			followed.firstSeen = t.mempoolEntryTime(ctx, followed.txid)
		}
		for _, p := range followed.payments {
			if err := t.emit(ctx, t.event(EventMempool, followed, p, 0)); err != nil {
				return false, err
			}
			p.reported = 0
		}
	}
	return len(conflicts) > 0, nil
}

// mempoolEntryTime requests from the source when the node accepted txid into its mempool.
// It returns the zero time when the source does not implement MempoolEntryTimer or the
// request fails. The payment is then dated when it is handled, which is late only for one
// that waited while the tracker was down.
func (t *Tracker) mempoolEntryTime(ctx context.Context, txid chainhash.Hash) time.Time {
	timer, ok := t.cfg.Source.(MempoolEntryTimer)
	if !ok {
		return time.Time{}
	}
	entered, err := timer.MempoolEntryTime(ctx, txid)
	if err != nil {
		t.cfg.Logger.DebugContext(ctx, "bitcoin tracker: mempool entry time unavailable; "+
			"the payment is dated when handled", "txid", txid.String(), "error", err)
		return time.Time{}
	}
	return entered
}
