package billing

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// sharedTxFate is what one caller of TestSharedTxMixedCallers does.
type sharedTxFate int

const (
	fateCommit       sharedTxFate = iota // writes and returns nil
	fateFail                             // writes and returns an error
	fatePanic                            // writes and panics
	fateCancel                           // gives up at a random moment
	fateCancelInside                     // cancels its own context inside its function
	fateReplay                           // reuses another caller's nonce
	fateSwallow                          // ignores a failed insert and returns nil
	fateBreak                            // ends the transaction behind the store's back
	sharedTxFates
)

// TestSharedTxMixedCallers runs many concurrent callers, more than one group holds, each
// with a random fate. It checks that every caller gets a success exactly when its order is
// stored, that callers who fail or panic get their error or panic, and that the
// derivation indexes of the stored orders run from 0 with none given twice or skipped.
func TestSharedTxMixedCallers(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		const callers, rounds = 3 * maxTxGroup, 3
		errRefused := errors.New("caller refused")
		var kept []uint32
		for round := range rounds {
			type outcome struct {
				fate     sharedTxFate
				order    *Order
				index    uint32
				err      error
				panicked any
			}
			outcomes := make([]outcome, callers)
			var wg sync.WaitGroup
			for i := range callers {
				o := &outcomes[i]
				o.fate = sharedTxFate(rand.N(int(sharedTxFates)))
				nonce := fmt.Sprintf("nonce-mixed-%d-%d", round, i)
				if o.fate == fateReplay && i > 0 {
					nonce = fmt.Sprintf("nonce-mixed-%d-%d", round, i-1)
				}
				o.order = testOrder(testCustomer, nonce)
				ctx, cancel := context.WithCancel(context.Background())
				wg.Go(func() {
					defer cancel()
					defer func() { o.panicked = recover() }()
					o.err = store.InSharedTx(ctx, func(tx StoreTx) error {
						return runFate(ctx, cancel, tx, o.fate, o.order, &o.index, errRefused)
					})
				})
				if o.fate == fateCancel {
					wg.Go(func() {
						for range rand.N(200) {
							runtime.Gosched()
						}
						cancel()
					})
				}
			}
			wg.Wait()

			for i, o := range outcomes {
				_, readErr := store.Order(context.Background(), o.order.ID)
				if readErr != nil && !errors.Is(readErr, ErrNotFound) {
					t.Fatalf("read order of caller %d: %v", i, readErr)
				}
				stored := readErr == nil
				succeeded := o.err == nil && o.panicked == nil
				if stored != succeeded {
					t.Errorf("round %d caller %d (fate %d): err %v, panic %v, order stored %t",
						round, i, o.fate, o.err, o.panicked, stored)
				}
				switch o.fate {
				case fateFail:
					// Its insert may also fail first, when a replaying caller took its
					// nonce.
					if o.err == nil {
						t.Errorf("round %d caller %d failed but succeeded", round, i)
					}
				case fatePanic:
					if o.panicked == nil && o.err == nil {
						t.Errorf("round %d caller %d: no panic and no error", round, i)
					}
				case fateBreak:
					if o.err == nil {
						t.Errorf("round %d caller %d broke the transaction but succeeded",
							round, i)
					}
				}
				if stored {
					kept = append(kept, o.index)
				}
			}
		}
		slices.Sort(kept)
		for i, index := range kept {
			if index != uint32(i) {
				t.Fatalf("kept derivation indexes %v: want 0 to %d, each once", kept,
					len(kept)-1)
			}
		}
		usage, err := store.DerivationUsage(context.Background(), "acct-mixed")
		if err != nil {
			t.Fatalf("DerivationUsage: %v", err)
		}
		if usage.Allocated != uint32(len(kept)) {
			t.Errorf("%d indexes allocated, %d kept: undone allocations were not given back",
				usage.Allocated, len(kept))
		}
	})
}

// runFate is the function of a TestSharedTxMixedCallers caller: it stores the order and
// allocates a derivation index, then acts out its fate.
func runFate(ctx context.Context, cancel context.CancelFunc, tx StoreTx, fate sharedTxFate,
	order *Order, index *uint32, errRefused error) error {
	if fate == fateCancelInside {
		cancel()
	}
	if err := tx.InsertOrder(ctx, order); err != nil {
		return err
	}
	allocated, err := tx.NextDerivationIndex(ctx, "acct-mixed")
	if err != nil {
		return err
	}
	*index = allocated
	switch fate {
	case fateFail:
		return errRefused
	case fatePanic:
		panic("caller panicked")
	case fateSwallow:
		_ = tx.InsertOrder(ctx, order)
	case fateBreak:
		return endBehindStore(ctx, tx)
	}
	return nil
}
