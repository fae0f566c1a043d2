package billing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestGroupCommitKeepsCallsApart(t *testing.T) {
	clock := &storeClock{now: invoiceStart}
	store := openSQLiteStoreWith(t, &SQLStoreOptions{Now: clock.Now, GroupCommit: true})
	ctx := context.Background()
	errRejected := errors.New("rejected")

	const calls = 200
	orders := make([]*Order, calls)
	results := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		orders[i] = testOrder(testCustomer, fmt.Sprintf("nonce-group-%06d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = store.InTx(ctx, func(tx StoreTx) error {
				if err := tx.InsertOrder(ctx, orders[i]); err != nil {
					return err
				}
				if _, err := tx.NextDerivationIndex(ctx, "group"); err != nil {
					return err
				}
				if i%3 == 0 {
					return errRejected // after writing, so the rollback is tested
				}
				return nil
			})
		}()
	}
	wg.Wait()

	kept := 0
	for i, err := range results {
		_, getErr := store.Order(ctx, orders[i].ID)
		if i%3 == 0 {
			if !errors.Is(err, errRejected) {
				t.Errorf("call %d: err = %v, want its own error", i, err)
			}
			if !errors.Is(getErr, ErrNotFound) {
				t.Errorf("call %d failed but its order is stored (%v)", i, getErr)
			}
			continue
		}
		if err != nil || getErr != nil {
			t.Errorf("call %d: err = %v, order read: %v", i, err, getErr)
		}
		kept++
	}
	// The failed calls' derivation indexes were rolled back with them, so the kept calls
	// used 0 to kept-1 and the next is kept.
	next, err := store.NextDerivationIndex(ctx, "group")
	if err != nil || next != uint32(kept) {
		t.Errorf("next index = %d, %v; want %d", next, err, kept)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	err = store.InTx(cancelled, func(StoreTx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("cancelled call: err = %v, ran = %v; want context.Canceled, not run", err, ran)
	}

	if err := store.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := store.InTx(ctx, func(StoreTx) error { return nil }); err == nil {
		t.Errorf("InTx after Close: got no error")
	}
}
