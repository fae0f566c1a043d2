package billing

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// waiterState returns the scheduler state ("select", "chan receive", "running", ...) of the
// goroutine blocked directly in InSharedTx, that is one waiting for its turn or its result
// rather than running a function, or "" when there is none.
func waiterState(t *testing.T) string {
	t.Helper()
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	state := ""
	for _, block := range strings.Split(string(buf), "\n\n") {
		header, frames, ok := strings.Cut(block, "\n")
		if !ok || !strings.Contains(strings.SplitN(frames, "\n", 2)[0],
			".(*SQLStore).InSharedTx(") {
			continue
		}
		if state != "" {
			t.Fatalf("more than one goroutine waits in InSharedTx:\n%s", buf)
		}
		_, rest, _ := strings.Cut(header, "[")
		state, _, _ = strings.Cut(rest, "]")
		state, _, _ = strings.Cut(state, ",") // drop ", N minutes"
	}
	return state
}

// TestSharedTxCancelledWhileItsFunctionRuns cancels a caller whose function another caller
// is running, and checks that the cancelled caller sleeps until the transaction ends, rather
// than spinning on its ended context, and then reports its kept writes as a success.
func TestSharedTxCancelledWhileItsFunctionRuns(t *testing.T) {
	store := openSQLiteStore(t, &storeClock{now: invoiceStart})
	release := holdGroup(t, store)
	ctx := context.Background()

	leaderOrder := testOrder(testCustomer, "nonce-leader")
	leaderDone := make(chan error, 1)
	go func() {
		leaderDone <- store.InSharedTx(ctx, func(tx StoreTx) error {
			return tx.InsertOrder(ctx, leaderOrder)
		})
	}()
	waitFor(t, "the leader to queue", func() bool { return queuedCallers(store) == 1 })

	memberCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	memberOrder := testOrder(testCustomer, "nonce-member")
	inside, proceed := make(chan struct{}), make(chan struct{})
	memberDone := make(chan error, 1)
	go func() {
		memberDone <- store.InSharedTx(memberCtx, func(tx StoreTx) error {
			close(inside)
			<-proceed
			return tx.InsertOrder(memberCtx, memberOrder)
		})
	}()
	waitFor(t, "the member to queue", func() bool { return queuedCallers(store) == 2 })
	release(2)
	<-inside
	if state := waiterState(t); state != "select" {
		t.Fatalf("member waits in state %q before it is cancelled, want select", state)
	}
	cancel()
	// A waiter that spins is running or runnable, never parked on a channel.
	waitFor(t, "the cancelled member to wait for the transaction", func() bool {
		return waiterState(t) == "chan receive"
	})
	close(proceed)

	if err := <-leaderDone; err != nil {
		t.Errorf("leader: %v", err)
	}
	// The member's function had started, so its statements ignored the cancellation
	// and its writes were committed: success is the true outcome.
	if err := <-memberDone; err != nil {
		t.Errorf("cancelled member whose function ran: %v, want success", err)
	}
	for _, order := range []*Order{leaderOrder, memberOrder} {
		if _, err := store.Order(ctx, order.ID); err != nil {
			t.Errorf("order %s with nonce %s: %v", order.ID, order.Payload.Nonce, err)
		}
	}
}

// TestSharedTxCancelledBeforeItsTurn cancels a caller that a transaction has taken but
// whose function has not started, and checks that its function never runs, that it gets
// the context's error, and that the caller ahead of it is kept.
func TestSharedTxCancelledBeforeItsTurn(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		release := holdGroup(t, store)
		ctx := context.Background()

		leaderOrder := testOrder(testCustomer, "nonce-leader-ahead")
		inside, proceed := make(chan struct{}), make(chan struct{})
		leaderDone := make(chan error, 1)
		go func() {
			leaderDone <- store.InSharedTx(ctx, func(tx StoreTx) error {
				close(inside)
				<-proceed
				return tx.InsertOrder(ctx, leaderOrder)
			})
		}()
		waitFor(t, "the leader to queue", func() bool { return queuedCallers(store) == 1 })

		memberCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		var ran atomic.Bool
		memberDone := make(chan error, 1)
		go func() {
			memberDone <- store.InSharedTx(memberCtx, func(tx StoreTx) error {
				ran.Store(true)
				return nil
			})
		}()
		waitFor(t, "the member to queue", func() bool { return queuedCallers(store) == 2 })
		release(2)
		<-inside
		if queued := queuedCallers(store); queued != 0 {
			t.Fatalf("%d callers still queued, want the member taken", queued)
		}
		cancel()
		close(proceed)

		if err := <-leaderDone; err != nil {
			t.Errorf("leader: %v", err)
		}
		if _, err := store.Order(ctx, leaderOrder.ID); err != nil {
			t.Errorf("leader's order: %v", err)
		}
		if err := <-memberDone; !errors.Is(err, context.Canceled) {
			t.Errorf("member cancelled before its turn: %v, want context.Canceled", err)
		}
		if ran.Load() {
			t.Errorf("the function of a member cancelled before its turn ran")
		}
	})
}

// TestSharedTxCancelledWhileLeaderBegins cancels a caller whose transaction waits to begin,
// because SQLite's only connection is busy, and checks that the caller returns at once
// with the context's error, that its function never runs, and that the leader still
// commits its own write once the connection is free.
func TestSharedTxCancelledWhileLeaderBegins(t *testing.T) {
	store := openSQLiteStore(t, &storeClock{now: invoiceStart})
	ctx := context.Background()
	release := holdGroup(t, store)

	leaderOrder := testOrder(testCustomer, "nonce-leader-begins")
	leaderDone := make(chan error, 1)
	go func() {
		leaderDone <- store.InSharedTx(ctx, func(tx StoreTx) error {
			return tx.InsertOrder(ctx, leaderOrder)
		})
	}()
	waitFor(t, "the leader to queue", func() bool { return queuedCallers(store) == 1 })
	memberCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ran atomic.Bool
	memberDone := make(chan error, 1)
	go func() {
		memberDone <- store.InSharedTx(memberCtx, func(StoreTx) error {
			ran.Store(true)
			return nil
		})
	}()
	waitFor(t, "the member to queue", func() bool { return queuedCallers(store) == 2 })

	// Ask for the connection while the holding transaction has it, so that the connection
	// passes to this request, not to the leader, when the holder commits.
	db := store.DB()
	waitsBefore := db.Stats().WaitCount
	connected := make(chan error, 1)
	var busy *sql.Conn
	go func() {
		var err error
		busy, err = db.Conn(ctx)
		connected <- err
	}()
	waitFor(t, "the connection request to wait", func() bool {
		return db.Stats().WaitCount > waitsBefore
	})
	release(2)
	if err := <-connected; err != nil {
		t.Fatalf("take the connection: %v", err)
	}
	waitFor(t, "the leader to wait for the connection", func() bool {
		return db.Stats().WaitCount > waitsBefore+1
	})
	if queued := queuedCallers(store); queued != 0 {
		t.Fatalf("%d callers still queued, want both taken", queued)
	}

	cancel()
	err := awaitResult(t, "the member cancelled while its transaction begins", memberDone)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("member cancelled while its transaction begins: %v, want context.Canceled",
			err)
	}
	if err := busy.Close(); err != nil {
		t.Fatalf("free the connection: %v", err)
	}
	if err := awaitResult(t, "the leader", leaderDone); err != nil {
		t.Errorf("leader: %v", err)
	}
	if _, err := store.Order(ctx, leaderOrder.ID); err != nil {
		t.Errorf("leader's order: %v", err)
	}
	if ran.Load() {
		t.Errorf("the function of the member cancelled before it started ran")
	}
}

// TestSharedTxLeaderGivesUpWhileBeginning cancels a lone caller while its transaction waits
// to begin, because SQLite's only connection is busy, and checks that it stops waiting and
// returns the context's error without running its function.
func TestSharedTxLeaderGivesUpWhileBeginning(t *testing.T) {
	store := openSQLiteStore(t, &storeClock{now: invoiceStart})
	db := store.DB()
	busy, err := db.Conn(context.Background())
	if err != nil {
		t.Fatalf("take the connection: %v", err)
	}
	defer busy.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waitsBefore := db.Stats().WaitCount
	var ran atomic.Bool
	done := make(chan error, 1)
	go func() {
		done <- store.InSharedTx(ctx, func(StoreTx) error {
			ran.Store(true)
			return nil
		})
	}()
	waitFor(t, "the caller to wait for the connection", func() bool {
		return db.Stats().WaitCount > waitsBefore
	})
	cancel()
	err = awaitResult(t, "the caller cancelled while its transaction begins", done)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("caller cancelled while its transaction begins: %v, want context.Canceled",
			err)
	}
	if ran.Load() {
		t.Errorf("the function of the caller cancelled before it started ran")
	}
}
