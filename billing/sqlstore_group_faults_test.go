package billing

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// awaitResult returns the error sent on done, failing the test if none comes within ten
// seconds, which means the caller hangs.
func awaitResult(t *testing.T, who string, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return within 10 s", who)
		return nil
	}
}

// TestSharedTxSurvivesGoexitAlone has a lone caller's function end its goroutine with
// runtime.Goexit, as t.FailNow does, and checks that its write is undone and that later
// callers are still served.
func TestSharedTxSurvivesGoexitAlone(t *testing.T) {
	store := openSQLiteStore(t, &storeClock{now: invoiceStart})
	ctx := context.Background()
	exitedOrder := testOrder(testCustomer, "nonce-goexit")
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		_ = store.InSharedTx(ctx, func(tx StoreTx) error {
			if err := tx.InsertOrder(ctx, exitedOrder); err != nil {
				return err
			}
			runtime.Goexit()
			return nil
		})
		t.Error("InSharedTx returned after its function called runtime.Goexit")
	}()
	<-exited

	laterOrder := testOrder(testCustomer, "nonce-after-goexit")
	done := make(chan error, 1)
	go func() {
		done <- store.InSharedTx(ctx, func(tx StoreTx) error {
			return tx.InsertOrder(ctx, laterOrder)
		})
	}()
	if err := awaitResult(t, "the caller after the goroutine exit", done); err != nil {
		t.Fatalf("InSharedTx after a goroutine exit: %v", err)
	}
	if _, err := store.Order(ctx, laterOrder.ID); err != nil {
		t.Errorf("order of the caller after the goroutine exit: %v", err)
	}
	if _, err := store.Order(ctx, exitedOrder.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("order written before runtime.Goexit: err %v, want ErrNotFound", err)
	}
}

// TestSharedTxSurvivesGoexitInGroup has the second function of a group end the goroutine
// running it, which is the first caller's, and checks that the second caller's goroutine
// ends too, as if its function had run there, that the first caller's write is undone, and
// that later callers are still served.
func TestSharedTxSurvivesGoexitInGroup(t *testing.T) {
	store := openSQLiteStore(t, &storeClock{now: invoiceStart})
	ctx := context.Background()
	release := holdGroup(t, store)

	leaderOrder := testOrder(testCustomer, "nonce-before-goexit")
	leaderExited := make(chan struct{})
	go func() {
		defer close(leaderExited)
		_ = store.InSharedTx(ctx, func(tx StoreTx) error {
			return tx.InsertOrder(ctx, leaderOrder)
		})
		t.Error("the leader's InSharedTx returned, although its goroutine ran " +
			"runtime.Goexit")
	}()
	waitFor(t, "the leader to queue", func() bool { return queuedCallers(store) == 1 })
	memberExited := make(chan struct{})
	go func() {
		defer close(memberExited)
		_ = store.InSharedTx(ctx, func(StoreTx) error {
			runtime.Goexit()
			return nil
		})
		t.Error("InSharedTx returned after its function called runtime.Goexit")
	}()
	waitFor(t, "the member to queue", func() bool { return queuedCallers(store) == 2 })
	release(2)
	<-leaderExited
	select {
	case <-memberExited:
	case <-time.After(10 * time.Second):
		t.Fatal("the goroutine of the caller whose function ran runtime.Goexit still runs")
	}
	if _, err := store.Order(ctx, leaderOrder.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("order of the leader: err %v, want ErrNotFound", err)
	}

	laterOrder := testOrder(testCustomer, "nonce-after-group-goexit")
	done := make(chan error, 1)
	go func() {
		done <- store.InSharedTx(ctx, func(tx StoreTx) error {
			return tx.InsertOrder(ctx, laterOrder)
		})
	}()
	if err := awaitResult(t, "the caller after the goroutine exit", done); err != nil {
		t.Fatalf("InSharedTx after a goroutine exit: %v", err)
	}
}

// TestSharedTxAbortsBesideGoexit has a function end its goroutine after another caller's
// function ran in the same transaction. It checks that the other caller gets
// ErrSharedTxAborted and that its write really is lost.
func TestSharedTxAbortsBesideGoexit(t *testing.T) {
	store := openSQLiteStore(t, &storeClock{now: invoiceStart})
	ctx := context.Background()
	release := holdGroup(t, store)

	exited := make(chan struct{})
	go func() {
		defer close(exited)
		_ = store.InSharedTx(ctx, func(tx StoreTx) error { return nil })
	}()
	waitFor(t, "the leader to queue", func() bool { return queuedCallers(store) == 1 })
	memberOrder := testOrder(testCustomer, "nonce-beside-goexit")
	memberDone := make(chan error, 1)
	go func() {
		memberDone <- store.InSharedTx(ctx, func(tx StoreTx) error {
			return tx.InsertOrder(ctx, memberOrder)
		})
	}()
	waitFor(t, "the member to queue", func() bool { return queuedCallers(store) == 2 })
	go func() {
		_ = store.InSharedTx(ctx, func(StoreTx) error {
			runtime.Goexit()
			return nil
		})
	}()
	waitFor(t, "the exiting caller to queue", func() bool { return queuedCallers(store) == 3 })
	release(3)
	<-exited
	err := awaitResult(t, "the caller beside the goroutine exit", memberDone)
	if !errors.Is(err, ErrSharedTxAborted) {
		t.Errorf("caller beside the goroutine exit: %v, want ErrSharedTxAborted", err)
	}
	if _, err := store.Order(ctx, memberOrder.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("order of the caller beside the goroutine exit: err %v, want ErrNotFound",
			err)
	}
}

// TestSharedTxSwallowedErrorStaysLocal has a caller's function ignore a failed insert and
// return nil. On PostgreSQL the failed statement leaves the transaction unusable until it
// is rolled back to a savepoint, so that caller's writes cannot be kept; the test checks
// that the callers before and after it are kept all the same, and that the caller gets an
// error exactly when its write is not kept.
func TestSharedTxSwallowedErrorStaysLocal(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		release := holdGroup(t, store)
		const callers, swallower = 3, 1
		orders := make([]*Order, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			orders[i] = testOrder(testCustomer, fmt.Sprintf("nonce-swallow-%d", i))
			wg.Go(func() {
				errs[i] = store.InSharedTx(ctx, func(tx StoreTx) error {
					if err := tx.InsertOrder(ctx, orders[i]); err != nil {
						return err
					}
					if i == swallower {
						// An insert of the same order again fails, and is ignored.
						_ = tx.InsertOrder(ctx, orders[i])
					}
					return nil
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
			if i == swallower {
				if (err == nil) != (readErr == nil) {
					t.Errorf("caller that ignored an error: err %v, but reading its order: %v",
						err, readErr)
				}
				if errors.Is(err, ErrSharedTxAborted) {
					t.Errorf("caller that ignored an error: %v, want an error of its own", err)
				}
				continue
			}
			if err != nil || readErr != nil {
				t.Errorf("caller %d: err %v, read %v; want it kept", i, err, readErr)
			}
		}
	})
}

// deferViolation makes a write in tx that breaks a constraint checked only at commit, so
// that committing tx fails.
func deferViolation(ctx context.Context, tx StoreTx) error {
	if sqlTx := tx.SQLTx(); sqlTx != nil {
		if _, err := sqlTx.ExecContext(ctx, "PRAGMA defer_foreign_keys = ON"); err != nil {
			return err
		}
		inv := storedInvoice("ord_missing", "bcrt1q-deferred", "acct-deferred", 0)
		return tx.InsertInvoice(ctx, inv)
	}
	_, err := tx.PgxTx().Exec(ctx, `CREATE TEMP TABLE deferred_probe
		(k integer UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP;
		INSERT INTO deferred_probe VALUES (1), (1)`)
	return err
}

// TestSharedTxCommitFailureAborts has one caller's write break a constraint checked at
// commit, so that the shared commit fails, and checks that every caller gets an error
// wrapping ErrSharedTxAborted and that no caller's write is kept.
func TestSharedTxCommitFailureAborts(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		release := holdGroup(t, store)
		const callers, violator = 3, 1
		orders := make([]*Order, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			orders[i] = testOrder(testCustomer, fmt.Sprintf("nonce-commit-fails-%d", i))
			wg.Go(func() {
				errs[i] = store.InSharedTx(ctx, func(tx StoreTx) error {
					if err := tx.InsertOrder(ctx, orders[i]); err != nil {
						return err
					}
					if i == violator {
						return deferViolation(ctx, tx)
					}
					return nil
				})
			})
			waitFor(t, "the caller to queue", func() bool {
				return queuedCallers(store) == i+1
			})
		}
		release(callers)
		wg.Wait()
		for i, err := range errs {
			if !errors.Is(err, ErrSharedTxAborted) {
				t.Errorf("caller %d: %v, want ErrSharedTxAborted", i, err)
			}
			if _, err := store.Order(ctx, orders[i].ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("caller %d's order survived the failed commit (err %v)", i, err)
			}
		}
	})
}

// TestSharedTxPanicAlone has a lone caller's function panic, and checks that the panic
// reaches the caller, that the write before it is undone, and that the store still serves
// callers.
func TestSharedTxPanicAlone(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		order := testOrder(testCustomer, "nonce-panic-alone")
		panicked := func() (value any) {
			defer func() { value = recover() }()
			_ = store.InSharedTx(ctx, func(tx StoreTx) error {
				if err := tx.InsertOrder(ctx, order); err != nil {
					return err
				}
				panic("lone caller panicked")
			})
			return nil
		}()
		if panicked != "lone caller panicked" {
			t.Errorf("recovered %v, want the function's panic", panicked)
		}
		if _, err := store.Order(ctx, order.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("order written before the panic: err %v, want ErrNotFound", err)
		}
		later := testOrder(testCustomer, "nonce-after-panic")
		err := store.InSharedTx(ctx, func(tx StoreTx) error {
			return tx.InsertOrder(ctx, later)
		})
		if err != nil {
			t.Fatalf("InSharedTx after a panic: %v", err)
		}
	})
}

// TestSharedTxNestedCallWaitsForContext has a function call InSharedTx and InTx on the same
// store. Both wait for the transaction that runs the function, which cannot end until the
// function returns; the test checks that they give up when their context ends, that the
// outer caller then gets their error, and that the store serves callers afterwards.
func TestSharedTxNestedCallWaitsForContext(t *testing.T) {
	store := openSQLiteStore(t, &storeClock{now: invoiceStart})
	ctx := context.Background()
	nested := map[string]func(context.Context) error{
		"InSharedTx": func(ctx context.Context) error {
			return store.InSharedTx(ctx, func(StoreTx) error { return nil })
		},
		"InTx": func(ctx context.Context) error {
			return store.InTx(ctx, func(StoreTx) error { return nil })
		},
	}
	for name, call := range nested {
		order := testOrder(testCustomer, "nonce-nested-"+name)
		err := store.InSharedTx(ctx, func(tx StoreTx) error {
			if err := tx.InsertOrder(ctx, order); err != nil {
				return err
			}
			nestedCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			return call(nestedCtx)
		})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s inside InSharedTx: %v, want context.DeadlineExceeded", name, err)
		}
		if _, err := store.Order(ctx, order.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s inside InSharedTx: order kept (err %v)", name, err)
		}
	}
	if queued := queuedCallers(store); queued != 0 {
		t.Errorf("%d callers left queued", queued)
	}
	later := testOrder(testCustomer, "nonce-after-nested")
	if err := store.InSharedTx(ctx, func(tx StoreTx) error {
		return tx.InsertOrder(ctx, later)
	}); err != nil {
		t.Fatalf("InSharedTx after nested calls: %v", err)
	}
}

// TestSharedTxCloseWhileQueued closes the store while one caller's transaction runs and
// others are queued, and checks that every caller returns, that each caller given a
// success has its write in the database, as a store opened afterwards reads it, and that
// each caller given an error does not.
func TestSharedTxCloseWhileQueued(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "billing.db")
		testCloseWhileQueued(t, func() (*SQLStore, error) {
			return OpenSQLite(ctx, path, nil)
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := newPostgresSchema(t)
		testCloseWhileQueued(t, func() (*SQLStore, error) {
			return OpenPostgres(ctx, dsn, nil)
		})
	})
}

func testCloseWhileQueued(t *testing.T, open func() (*SQLStore, error)) {
	ctx := context.Background()
	store, err := open()
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	defer store.Close()
	release := holdGroup(t, store)
	const callers = 8
	orders := make([]*Order, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		orders[i] = testOrder(testCustomer, fmt.Sprintf("nonce-close-%d", i))
		wg.Go(func() {
			errs[i] = store.InSharedTx(ctx, func(tx StoreTx) error {
				return tx.InsertOrder(ctx, orders[i])
			})
		})
	}
	waitFor(t, "the callers to queue", func() bool { return queuedCallers(store) == callers })
	closed := make(chan error, 1)
	go func() { closed <- store.Close() }()
	release(callers)
	if err := awaitResult(t, "Close", closed); err != nil {
		t.Errorf("Close: %v", err)
	}
	finished := make(chan error, 1)
	go func() {
		wg.Wait()
		finished <- nil
	}()
	awaitResult(t, "the queued callers", finished)

	reopened, err := open()
	if err != nil {
		t.Fatalf("reopen the store: %v", err)
	}
	defer reopened.Close()
	for i, err := range errs {
		_, readErr := reopened.Order(ctx, orders[i].ID)
		if err == nil && readErr != nil {
			t.Errorf("caller %d succeeded but its order is missing: %v", i, readErr)
		}
		if err != nil && !errors.Is(readErr, ErrNotFound) {
			t.Errorf("caller %d failed (%v) but its order is stored (err %v)", i, err, readErr)
		}
	}
}

// TestSharedTxBrokenAlone has a lone caller end its transaction behind the store's back and
// return nil, and checks that it gets an error, since nothing it wrote is kept.
func TestSharedTxBrokenAlone(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		order := testOrder(testCustomer, "nonce-broken-alone")
		err := store.InSharedTx(ctx, func(tx StoreTx) error {
			if err := tx.InsertOrder(ctx, order); err != nil {
				return err
			}
			return endBehindStore(ctx, tx)
		})
		if err == nil {
			t.Errorf("InSharedTx whose transaction was rolled back behind it succeeded")
		}
		if _, err := store.Order(ctx, order.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("order of the rolled back transaction: err %v, want ErrNotFound", err)
		}
	})
}
