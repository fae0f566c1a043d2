package bitcoin

import (
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// start sets the position from which sync rescans: Depth blocks below the saved cursor,
// after walking back to the best chain if the cursor's block left it, or Depth blocks below
// the tip when nothing was saved.
func (t *Tracker) start(ctx context.Context) error {
	cursor, found, err := t.cfg.Cursors.LoadCursor(ctx)
	if err != nil {
		return fmt.Errorf("load cursor: %w", err)
	}
	tip, err := t.cfg.Source.Tip(ctx)
	if err != nil {
		return fmt.Errorf("read chain tip: %w", err)
	}
	if !found {
		cursor = tip
	} else {
		onChain, err := t.onBestChain(ctx, cursor, tip)
		if err != nil {
			return err
		}
		if !onChain {
			// A block that left the best chain is still known to the node, which keeps
			// stale blocks; one it never had belongs to another chain.
			_, err := t.cfg.Source.Block(ctx, cursor.Hash)
			if errors.Is(err, ErrNotFound) {
				return t.foreignCursor(ctx, cursor)
			}
			if err != nil {
				return fmt.Errorf("read cursor block %s: %w", cursor, err)
			}
		}
		t.position = cursor
		for {
			onChain, err := t.onBestChain(ctx, t.position, tip)
			if err != nil {
				return err
			}
			if onChain {
				break
			}
			if err := t.disconnectPosition(ctx); err != nil {
				return err
			}
		}
		cursor = t.position
	}
	base := max(cursor.Height-t.cfg.Depth, 0)
	hash, err := t.cfg.Source.BlockHash(ctx, base)
	if err != nil {
		return fmt.Errorf("read hash of block %d: %w", base, err)
	}
	t.position = BlockID{Hash: hash, Height: base}
	t.cfg.Logger.Info("bitcoin tracker: starting", "saved_cursor", found,
		"rescan_from", base+1, "tip", tip.String())
	return nil
}

// onBestChain reports whether block is the tip or one of its ancestors.
func (t *Tracker) onBestChain(ctx context.Context, block, tip BlockID) (bool, error) {
	if block.Height > tip.Height {
		return false, nil
	}
	hash, err := t.cfg.Source.BlockHash(ctx, block.Height)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read hash of block %d: %w", block.Height, err)
	}
	return hash == block.Hash, nil
}

// sync moves the position to the source's tip one block at a time, disconnecting blocks that
// left the best chain and connecting the new ones, then checks that unconfirmed payments are
// still in the mempool.
func (t *Tracker) sync(ctx context.Context) error {
	for {
		tip, err := t.cfg.Source.Tip(ctx)
		if err != nil {
			return fmt.Errorf("read chain tip: %w", err)
		}
		if tip.Hash == t.position.Hash {
			break
		}
		if t.position.Height < tip.Height {
			connected, err := t.connectNext(ctx)
			if err != nil {
				return err
			}
			if connected {
				continue
			}
		}
		// The position is not an ancestor of the tip: its block left the best chain.
		if err := t.disconnectPosition(ctx); err != nil {
			return err
		}
	}
	// Saved here too for a position no block was connected to reach, such as the start.
	if err := t.saveCursor(ctx); err != nil {
		return err
	}
	return t.checkMempool(ctx)
}

// saveCursor saves the position unless it is already saved.
func (t *Tracker) saveCursor(ctx context.Context) error {
	if t.saved == t.position {
		return nil
	}
	if err := t.cfg.Cursors.SaveCursor(ctx, t.position); err != nil {
		return handlerError{fmt.Errorf("save cursor %s: %w", t.position, err)}
	}
	t.saved = t.position
	return nil
}

// connectNext processes the best chain's block after the position if it builds on it, and
// reports false if it does not.
func (t *Tracker) connectNext(ctx context.Context) (bool, error) {
	height := t.position.Height + 1
	hash, err := t.cfg.Source.BlockHash(ctx, height)
	if errors.Is(err, ErrNotFound) {
		// The chain got shorter since the tip was read; the caller reads it again.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read hash of block %d: %w", height, err)
	}
	block, err := t.cfg.Source.Block(ctx, hash)
	if err != nil {
		return false, fmt.Errorf("read block %d:%s: %w", height, hash, err)
	}
	if block.Header.PrevBlock != t.position.Hash {
		return false, nil
	}
	if err := t.connectBlock(ctx, block, BlockID{Hash: hash, Height: height}); err != nil {
		return false, err
	}
	return true, nil
}

// blockMatch is an output of a block's transaction that pays a watched script.
type blockMatch struct {
	tx     *wire.MsgTx
	txid   chainhash.Hash
	index  uint32
	output *wire.TxOut
	id     string
}

// conflict is a followed transaction and another one that spends one of its inputs.
type conflict struct {
	followed chainhash.Hash
	by       chainhash.Hash
}

// scanBlock collects, for one block, the outputs paying watched scripts, the followed
// transactions it confirms and the followed transactions it double-spends. Each output costs
// one watch-set lookup and each input one lookup among the inputs of followed transactions.
func (t *Tracker) scanBlock(block *wire.MsgBlock) (matches []blockMatch,
	confirmed []*trackedTx, conflicts []conflict) {

	t.watches.mu.RLock()
	defer t.watches.mu.RUnlock()
	for i, tx := range block.Transactions {
		txid := tx.TxHash()
		delete(t.signalling, txid)
		if followed, ok := t.txs[txid]; ok {
			confirmed = append(confirmed, followed)
			continue
		}
		if i > 0 {
			for _, in := range tx.TxIn {
				if spender, ok := t.spenders[in.PreviousOutPoint]; ok && spender != txid {
					conflicts = append(conflicts, conflict{followed: spender, by: txid})
				}
			}
		}
		for index, out := range tx.TxOut {
			if id, ok := t.watches.lookupLocked(out.PkScript); ok {
				matches = append(matches, blockMatch{
					tx: tx, txid: txid, index: uint32(index), output: out, id: id,
				})
			}
		}
	}
	return matches, confirmed, conflicts
}

// connectBlock applies a block that extends the position, reports what changed and saves the
// block as the cursor.
func (t *Tracker) connectBlock(ctx context.Context, block *wire.MsgBlock, id BlockID) error {
	matches, confirmed, conflicts := t.scanBlock(block)
	for _, c := range conflicts {
		t.settled[c.followed] = id.Height
		if err := t.reportConflict(ctx, c, EventDoubleSpent); err != nil {
			return err
		}
	}
	for _, followed := range confirmed {
		followed.confirm(id, &block.Header)
	}
	for _, tx := range t.followMatches(matches) {
		tx.confirm(id, &block.Header)
	}
	t.position = id
	if err := t.reportConfirmations(ctx); err != nil {
		return err
	}
	for txid, height := range t.settled {
		if id.Height-height > settledRetention {
			delete(t.settled, txid)
		}
	}
	return t.saveCursor(ctx)
}

// followMatches starts following the transactions of matches, unconfirmed, and returns them.
func (t *Tracker) followMatches(matches []blockMatch) []*trackedTx {
	var added []*trackedTx
	for _, m := range matches {
		followed, ok := t.txs[m.txid]
		if !ok {
			followed = t.follow(m.tx, m.txid, signalsRBF(m.tx))
			added = append(added, followed)
		}
		followed.payments = append(followed.payments, &trackedPayment{
			outpoint: wire.OutPoint{Hash: m.txid, Index: m.index},
			watchID:  m.id,
			script:   m.output.PkScript,
			value:    btcutil.Amount(m.output.Value),
			reported: -1,
		})
	}
	return added
}

// follow records tx and its inputs, with no payments yet.
func (t *Tracker) follow(tx *wire.MsgTx, txid chainhash.Hash, rbf bool) *trackedTx {
	followed := &trackedTx{txid: txid, rbf: rbf, inputs: make([]wire.OutPoint, len(tx.TxIn))}
	for i, in := range tx.TxIn {
		followed.inputs[i] = in.PreviousOutPoint
		t.spenders[in.PreviousOutPoint] = txid
	}
	t.txs[txid] = followed
	return followed
}

// unfollow stops following a transaction.
func (t *Tracker) unfollow(followed *trackedTx) {
	delete(t.txs, followed.txid)
	for _, in := range followed.inputs {
		if t.spenders[in] == followed.txid {
			delete(t.spenders, in)
		}
	}
}

// reportConfirmations sends the new confirmation count of every confirmed payment whose
// count changed, and stops following those that reach Depth.
func (t *Tracker) reportConfirmations(ctx context.Context) error {
	for _, followed := range t.txs {
		if !followed.confirmed() {
			continue
		}
		confirmations := t.position.Height - followed.block.Height + 1
		final := confirmations >= t.cfg.Depth
		for _, p := range followed.payments {
			if p.reported == confirmations {
				continue
			}
			event := t.event(EventConfirmed, followed, p, confirmations)
			event.Final = final
			if err := t.emit(ctx, event); err != nil {
				return err
			}
			p.reported = confirmations
		}
		if final {
			t.unfollow(followed)
			t.settled[followed.txid] = t.position.Height
		}
	}
	return nil
}

func (t *Tracker) event(kind EventKind, followed *trackedTx, p *trackedPayment,
	confirmations int32) PaymentEvent {

	return PaymentEvent{
		Kind:          kind,
		OutPoint:      p.outpoint,
		WatchID:       p.watchID,
		Script:        p.script,
		Value:         p.value,
		Confirmations: confirmations,
		Block:         followed.block,
		BlockTime:     followed.blockTime,
		FirstSeen:     followed.firstSeen,
		SignalsRBF:    followed.rbf,
	}
}

// reportConflict reports every payment of the followed transaction as replaced or
// double-spent by c.by and then stops following it, so that it is still followed if the
// handler fails.
func (t *Tracker) reportConflict(ctx context.Context, c conflict, kind EventKind) error {
	followed, ok := t.txs[c.followed]
	if !ok {
		return nil
	}
	followed.unconfirm()
	for _, p := range followed.payments {
		event := t.event(kind, followed, p, 0)
		event.ConflictTxID = c.by
		if err := t.emit(ctx, event); err != nil {
			return err
		}
	}
	t.unfollow(followed)
	return nil
}

// disconnectPosition undoes the position's block, which left the best chain: its payments
// become unconfirmed and are reported as reorganised, and the position moves to its parent.
func (t *Tracker) disconnectPosition(ctx context.Context) error {
	stale := t.position
	if stale.Height == 0 {
		// Every chain of a network starts at the same genesis block.
		return t.foreignCursor(ctx, stale)
	}
	parent := BlockID{Height: stale.Height - 1}
	block, err := t.cfg.Source.Block(ctx, stale.Hash)
	switch {
	case err == nil:
		parent.Hash = block.Header.PrevBlock
	case errors.Is(err, ErrNotFound):
		// Payments followed since this run started are still reported; earlier ones in
		// this block cannot be found without it.
		t.cfg.Logger.Warn("bitcoin tracker: node no longer has a block that left the best "+
			"chain; payments it held before this start are not reported as reorganised",
			"block", stale.String())
		if parent, err = t.nodeAncestor(ctx, parent.Height); err != nil {
			return err
		}
	default:
		return fmt.Errorf("read block %s that left the best chain: %w", stale, err)
	}
	t.cfg.Logger.Info("bitcoin tracker: block left the best chain", "block", stale.String())

	var reorged []*trackedTx
	for _, followed := range t.txs {
		if followed.block.Hash == stale.Hash {
			reorged = append(reorged, followed)
		}
	}
	if block != nil {
		matches, _, _ := t.scanBlock(block)
		reorged = append(reorged, t.followMatches(matches)...)
	}
	for _, followed := range reorged {
		delete(t.settled, followed.txid)
		followed.unconfirm()
		for _, p := range followed.payments {
			event := t.event(EventReorged, followed, p, 0)
			event.Block = stale
			if err := t.emit(ctx, event); err != nil {
				return err
			}
			p.reported = 0
		}
	}
	t.position = parent
	return t.saveCursor(ctx)
}

// nodeAncestor returns the node's best-chain block at height, or its tip when its chain is
// shorter: a node that was reset, or replaced by one with a shorter chain, has none of
// the blocks between.
func (t *Tracker) nodeAncestor(ctx context.Context, height int32) (BlockID, error) {
	hash, err := t.cfg.Source.BlockHash(ctx, height)
	if err == nil {
		return BlockID{Hash: hash, Height: height}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return BlockID{}, fmt.Errorf("read hash of block %d: %w", height, err)
	}
	tip, err := t.cfg.Source.Tip(ctx)
	if err != nil {
		return BlockID{}, fmt.Errorf("read chain tip: %w", err)
	}
	if tip.Height >= height {
		// The chain grew back since the hash was first read.
		if hash, err = t.cfg.Source.BlockHash(ctx, height); err != nil {
			return BlockID{}, fmt.Errorf("read hash of block %d: %w", height, err)
		}
		return BlockID{Hash: hash, Height: height}, nil
	}
	t.cfg.Logger.Warn("bitcoin tracker: node's chain is shorter than the saved position; "+
		"continuing from its tip", "position_height", height, "tip", tip.String())
	return tip, nil
}

// checkMempool reports unconfirmed payments whose transaction is no longer in the node's
// mempool as dropped.
func (t *Tracker) checkMempool(ctx context.Context) error {
	var missing []*trackedTx
	for _, followed := range t.txs {
		if followed.confirmed() {
			continue
		}
		_, err := t.cfg.Source.Transaction(ctx, followed.txid)
		if errors.Is(err, ErrNotFound) {
			missing = append(missing, followed)
			continue
		}
		if err != nil {
			return fmt.Errorf("look up transaction %s: %w", followed.txid, err)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// A block that arrived since the tip was read may hold the missing transactions; the
	// sync that its notification starts checks again.
	tip, err := t.cfg.Source.Tip(ctx)
	if err != nil {
		return fmt.Errorf("read chain tip: %w", err)
	}
	if tip.Hash != t.position.Hash {
		return nil
	}
	for _, followed := range missing {
		for _, p := range followed.payments {
			if err := t.emit(ctx, t.event(EventDropped, followed, p, 0)); err != nil {
				return err
			}
		}
		t.unfollow(followed)
	}
	return nil
}
