package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/instars/instars/bitcoin"
)

// StoreCursor keeps a bitcoin.Tracker's position in the billing store under a name, so the
// tracker resumes where it stopped after a restart.
type StoreCursor struct {
	// Store is the store the cursor is kept in.
	Store Queries
	// Name identifies this tracker's cursor among others in the same store, such as
	// "bitcoin-mainnet".
	Name string
}

var _ bitcoin.CursorStore = StoreCursor{}

// LoadCursor returns the saved block, or found false if none was saved.
func (c StoreCursor) LoadCursor(ctx context.Context) (bitcoin.BlockID, bool, error) {
	saved, err := c.Store.LoadCursor(ctx, c.Name)
	if errors.Is(err, ErrNotFound) {
		return bitcoin.BlockID{}, false, nil
	}
	if err != nil {
		return bitcoin.BlockID{}, false, err
	}
	hash, err := chainhash.NewHashFromStr(saved.Hash)
	if err != nil {
		return bitcoin.BlockID{}, false, fmt.Errorf("chain cursor %s has an invalid block "+
			"hash %q: %w", c.Name, saved.Hash, err)
	}
	return bitcoin.BlockID{Hash: *hash, Height: saved.Height}, true, nil
}

// SaveCursor replaces the saved block.
func (c StoreCursor) SaveCursor(ctx context.Context, block bitcoin.BlockID) error {
	return c.Store.SaveCursor(ctx, c.Name, ChainCursor{Hash: block.Hash.String(),
		Height: block.Height})
}
