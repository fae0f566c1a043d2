package billing

import (
	"context"
	"runtime"
	"strings"
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
