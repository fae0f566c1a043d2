package bitcoin

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// ForeignCursorError is returned by the Tracker's Run when the saved cursor's block is not
// one the node has: the cursor was saved on another network, or on another chain of the
// same network (a regtest node that was reset, say). Run cannot tell where the two chains
// part, and walking back from there could skip blocks or report payments of the other
// chain, so it stops instead of retrying.
type ForeignCursorError struct {
	// Cursor is the saved block.
	Cursor BlockID
	// NodeTip and NodeGenesis identify the node's chain.
	NodeTip     BlockID
	NodeGenesis chainhash.Hash
}

func (e *ForeignCursorError) Error() string {
	return fmt.Sprintf("bitcoin: tracker: saved cursor block %s is unknown to the node "+
		"(%s, tip %s): the cursor was saved on another network or chain; point the "+
		"tracker at a node of the cursor's chain, or delete the saved cursor to start "+
		"from the node's tip", e.Cursor, networkOfGenesis(e.NodeGenesis), e.NodeTip)
}

// networkOfGenesis names the network whose genesis block is hash.
func networkOfGenesis(hash chainhash.Hash) string {
	for _, n := range []*Network{Mainnet, Testnet3, Signet, Regtest} {
		if *n.Params.GenesisHash == hash {
			return n.Name + " node"
		}
	}
	return "node with genesis block " + hash.String()
}

// foreignCursor returns a ForeignCursorError for cursor, read from the node.
func (t *Tracker) foreignCursor(ctx context.Context, cursor BlockID) error {
	tip, err := t.cfg.Source.Tip(ctx)
	if err != nil {
		return fmt.Errorf("read chain tip: %w", err)
	}
	genesis, err := t.cfg.Source.BlockHash(ctx, 0)
	if err != nil {
		return fmt.Errorf("read hash of block 0: %w", err)
	}
	return &ForeignCursorError{Cursor: cursor, NodeTip: tip, NodeGenesis: genesis}
}
