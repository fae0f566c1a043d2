package bitcoin

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// chainReader is the part of a ChainSource a poller reads.
type chainReader interface {
	Tip(ctx context.Context) (BlockID, error)
	Mempool(ctx context.Context) ([]chainhash.Hash, error)
	Transaction(ctx context.Context, txid chainhash.Hash) (*wire.MsgTx, error)
}

// poller turns periodic reads of a node into chain updates, for nodes that do not push them.
type poller struct {
	reader   chainReader
	interval time.Duration
	logger   *slog.Logger
	// scanMempool reads the mempool on every poll; otherwise only at the start, after a
	// recovery and when rescan fires.
	scanMempool bool
	rescan      <-chan struct{}
}

// run reads the best block, and the mempool when needed, until ctx ends. It retries a
// failed read with a doubling delay of up to a minute. The first success after failures is
// reported as UpdateReconnected and followed by a mempool replay.
func (p *poller) run(ctx context.Context, queue *updateQueue) {
	var (
		lastTip BlockID
		known   = make(map[chainhash.Hash]struct{})
		replay  = true
		failing = false
		retry   = time.Second
	)
	for {
		err := p.once(ctx, queue, &lastTip, known, replay || p.scanMempool)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if !failing {
				p.logger.Warn("bitcoin chain source: node read failed; retrying", "error", err)
			}
			failing = true
			if !sleepContext(ctx, retry) {
				return
			}
			retry = min(2*retry, time.Minute)
			continue
		case failing:
			p.logger.Info("bitcoin chain source: node reachable again")
			queue.push(ChainUpdate{Kind: UpdateReconnected})
			failing, retry = false, time.Second
			// Read the mempool now: transactions announced during the outage are lost.
			replay = true
			continue
		}
		replay = false

		timer := time.NewTimer(p.interval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-p.rescan:
			replay = true
		case <-timer.C:
		}
		timer.Stop()
	}
}

// once reports a changed tip and, with scanMempool, every mempool transaction not in
// known, which it then replaces with the current mempool.
func (p *poller) once(ctx context.Context, queue *updateQueue, lastTip *BlockID,
	known map[chainhash.Hash]struct{}, scanMempool bool) error {

	tip, err := p.reader.Tip(ctx)
	if err != nil {
		return err
	}
	if tip != *lastTip {
		*lastTip = tip
		queue.push(ChainUpdate{Kind: UpdateBlock, Block: tip})
	}
	if !scanMempool {
		return nil
	}
	txids, err := p.reader.Mempool(ctx)
	if err != nil {
		return err
	}
	current := make(map[chainhash.Hash]struct{}, len(txids))
	for _, txid := range txids {
		current[txid] = struct{}{}
		if _, ok := known[txid]; ok {
			continue
		}
		tx, err := p.reader.Transaction(ctx, txid)
		if errors.Is(err, ErrNotFound) {
			// Confirmed or evicted since the list was read.
			continue
		}
		if err != nil {
			return err
		}
		queue.push(ChainUpdate{Kind: UpdateTransaction, Tx: tx})
	}
	clear(known)
	for txid := range current {
		known[txid] = struct{}{}
	}
	return nil
}
