package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// holdGroup starts a shared transaction whose caller waits inside it, so that callers who
// come meanwhile queue for the next one. The returned function waits until n callers are
// queued and lets the holding caller finish, after which the queued ones run together.
func holdGroup(t *testing.T, store *SQLStore) (release func(n int)) {
	t.Helper()
	held := make(chan struct{})
	inside := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- store.InSharedTx(context.Background(), func(StoreTx) error {
			close(inside)
			<-held
			return nil
		})
	}()
	<-inside
	return func(n int) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d callers queued", n), func() bool {
			return queuedCallers(store) == n
		})
		close(held)
		if err := <-done; err != nil {
			t.Errorf("holding transaction: %v", err)
		}
	}
}

func queuedCallers(store *SQLStore) int {
	store.group.mu.Lock()
	defer store.group.mu.Unlock()
	return len(store.group.queue)
}

// waitFor polls cond until it holds, failing the test after ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSharedTxKeepsEachCallersOutcome runs callers that commit, fail and panic in one shared
// transaction and checks that exactly the committed callers' writes are kept, that each
// failure and panic reaches its own caller, and that derivation indexes given out in a
// caller's undone writes are given out again, so none is skipped.
func TestSharedTxKeepsEachCallersOutcome(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		const callers = 30
		errRefused := errors.New("caller refused")
		release := holdGroup(t, store)
		type outcome struct {
			order    *Order
			index    uint32
			err      error
			panicked any
		}
		outcomes := make([]outcome, callers)
		var wg sync.WaitGroup
		for i := range callers {
			order := testOrder(testCustomer, fmt.Sprintf("nonce-group-%06d", i))
			outcomes[i].order = order
			wg.Go(func() {
				defer func() { outcomes[i].panicked = recover() }()
				outcomes[i].err = store.InSharedTx(ctx, func(tx StoreTx) error {
					if err := tx.InsertOrder(ctx, order); err != nil {
						return err
					}
					index, err := tx.NextDerivationIndex(ctx, "acct")
					if err != nil {
						return err
					}
					outcomes[i].index = index
					switch i % 5 {
					case 1:
						return errRefused
					case 3:
						panic(fmt.Sprintf("caller %d panicked", i))
					}
					return nil
				})
			})
		}
		release(callers)
		wg.Wait()

		var indexes []uint32
		for i, o := range outcomes {
			_, readErr := store.Order(ctx, o.order.ID)
			switch i % 5 {
			case 1:
				if !errors.Is(o.err, errRefused) || o.panicked != nil {
					t.Errorf("caller %d: err %v, panic %v; want its own error", i, o.err,
						o.panicked)
				}
				if !errors.Is(readErr, ErrNotFound) {
					t.Errorf("caller %d failed but its order is stored (err %v)", i, readErr)
				}
			case 3:
				if o.panicked != fmt.Sprintf("caller %d panicked", i) {
					t.Errorf("caller %d: panic %v in its goroutine, want its own", i,
						o.panicked)
				}
				if !errors.Is(readErr, ErrNotFound) {
					t.Errorf("caller %d panicked but its order is stored (err %v)", i,
						readErr)
				}
			default:
				if o.err != nil || o.panicked != nil {
					t.Errorf("caller %d: err %v, panic %v; want success", i, o.err,
						o.panicked)
				}
				if readErr != nil {
					t.Errorf("caller %d succeeded but its order is missing: %v", i, readErr)
				}
				indexes = append(indexes, o.index)
			}
		}
		slices.Sort(indexes)
		for i, index := range indexes {
			if index != uint32(i) {
				t.Fatalf("kept derivation indexes %v: want 0 to %d with none skipped",
					indexes, len(indexes)-1)
			}
		}
	})
}

// TestSharedTxCancelledWhileQueued checks that a caller whose context ends while it waits
// for a turn returns at once with the context's error, leaves the queue, and that its
// function never runs.
func TestSharedTxCancelledWhileQueued(t *testing.T) {
	store := openSQLiteStore(t, &storeClock{now: invoiceStart})
	release := holdGroup(t, store)
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	done := make(chan error, 1)
	go func() {
		done <- store.InSharedTx(ctx, func(StoreTx) error {
			ran.Store(true)
			return nil
		})
	}()
	waitFor(t, "the caller to queue", func() bool { return queuedCallers(store) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("InSharedTx after cancel = %v, want context.Canceled", err)
	}
	release(0)
	if ran.Load() {
		t.Errorf("the cancelled caller's function ran")
	}
	// The store still serves callers afterwards.
	order := testOrder(testCustomer, "nonce-after-cancel")
	err := store.InSharedTx(context.Background(), func(tx StoreTx) error {
		return tx.InsertOrder(context.Background(), order)
	})
	if err != nil {
		t.Fatalf("InSharedTx after a cancelled caller: %v", err)
	}
	if _, err := store.Order(context.Background(), order.ID); err != nil {
		t.Fatalf("order written after a cancelled caller: %v", err)
	}
}

// TestSharedTxBrokenByACaller has one caller end the shared transaction behind the store's
// back, as an interrupted statement does on SQLite. It checks that the callers before it get
// ErrSharedTxAborted and their writes are really lost, and that the callers after it run in
// a new transaction and are kept.
func TestSharedTxBrokenByACaller(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		release := holdGroup(t, store)
		const callers, breaker = 6, 3
		orders := make([]*Order, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			orders[i] = testOrder(testCustomer, fmt.Sprintf("nonce-broken-%06d", i))
			// Queued one at a time, so the group runs them in this order.
			wg.Go(func() {
				errs[i] = store.InSharedTx(ctx, func(tx StoreTx) error {
					if err := tx.InsertOrder(ctx, orders[i]); err != nil {
						return err
					}
					if i != breaker {
						return nil
					}
					return endBehindStore(ctx, tx)
				})
			})
			waitFor(t, "the caller to queue", func() bool {
				return queuedCallers(store) == i+1
			})
		}
		release(callers)
		wg.Wait()
		for i, err := range errs {
			_, readErr := store.Order(ctx, orders[i].ID)
			if i <= breaker {
				if i < breaker && !errors.Is(err, ErrSharedTxAborted) {
					t.Errorf("caller %d before the break: err %v, want ErrSharedTxAborted",
						i, err)
				}
				if !errors.Is(readErr, ErrNotFound) {
					t.Errorf("caller %d's order survived the broken transaction (err %v)",
						i, readErr)
				}
				continue
			}
			if err != nil || readErr != nil {
				t.Errorf("caller %d after the break: err %v, read %v; want it kept", i, err,
					readErr)
			}
		}
	})
}

// endBehindStore rolls the transaction back with a statement, so that the store's own
// savepoint commands find no transaction.
func endBehindStore(ctx context.Context, tx StoreTx) error {
	if sqlTx := tx.SQLTx(); sqlTx != nil {
		_, err := sqlTx.ExecContext(ctx, "ROLLBACK")
		return err
	}
	_, err := tx.PgxTx().Exec(ctx, "ROLLBACK")
	return err
}
