package billing

import (
	"context"
	"errors"
	"runtime"
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
// function ran in the same transaction, and checks that the other caller is told its
// write was lost (ErrSharedTxAborted) and that it really is.
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
