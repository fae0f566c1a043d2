package billing

import (
	"context"
	"fmt"
	"time"
)

// ResumesFrom returns the timestamp of the first block the tracker reads when it starts,
// less the two hours a block's timestamp may be off by, in the gateway's clock
// (BlockTimeOffset applied). The tracker starts Depth blocks before its saved position, or
// before the node's tip when none is saved, and reads every block from there, so payments
// from about then on are reported.
func (g *OnChainGateway) ResumesFrom(ctx context.Context) (time.Time, error) {
	tip, err := g.source.Tip(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("unable to read the chain tip: %w", err)
	}
	cursor, found, err := g.cursors.LoadCursor(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("unable to read the saved chain position: %w", err)
	}
	height := tip.Height
	if found {
		height = min(cursor.Height, tip.Height)
	}
	first := min(max(height-g.tracker.Depth(), 0)+1, tip.Height)
	hash, err := g.source.BlockHash(ctx, first)
	if err != nil {
		return time.Time{}, fmt.Errorf("unable to read the hash of block %d: %w", first, err)
	}
	block, err := g.source.Block(ctx, hash)
	if err != nil {
		return time.Time{}, fmt.Errorf("unable to read block %d: %w", first, err)
	}
	from := block.Header.Timestamp.Add(-unwatchDelay)
	if g.blockOffset != nil {
		from = from.Add(g.blockOffset())
	}
	return from, nil
}
