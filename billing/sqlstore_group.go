package billing

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SharedTxStore is a Store that can run the transactions of concurrent callers as one
// database transaction, committed once for all of them (a group commit). SQLite runs one
// writer at a time, and each commit writes every changed page to the log. Sharing the
// commit turns a queue of writers into one commit, so concurrent callers wait less and more
// of them are served per second. The Invoicer uses it when the store offers it.
type SharedTxStore interface {
	Store

	// InSharedTx runs fn in a transaction that it may share with other callers of
	// InSharedTx. fn's writes are kept if it returns nil and undone (to a savepoint) if it
	// returns an error or panics, without touching the other callers' writes. A panic is
	// raised again in the caller's goroutine. InSharedTx returns once the shared
	// transaction has committed, or with the error that prevented the commit, in which
	// case none of fn's writes were kept. If ctx ends before fn starts, fn does not run
	// and InSharedTx returns ctx's error: at once, unless the caller leads the transaction,
	// as the first of a group does. A leader runs the other callers' functions, so it
	// returns when the transaction ends, or once every caller in it has given up.
	//
	// fn may run on another caller's goroutine and must not wait for anything outside
	// the transaction. That includes calling InSharedTx, InTx or the store's own methods
	// on the same store: they wait for the transaction running fn, which cannot end before
	// fn returns. A nested InSharedTx returns only when its ctx ends. A nested InTx or
	// store method waits as SQLStoreOptions.MaxOpenConns describes on SQLite, and for the
	// row locks the shared transaction holds on PostgreSQL.
	//
	// If fn calls runtime.Goexit (as t.FailNow does), the goroutine running it ends, even
	// if it is another caller's. InSharedTx then ends its own caller's goroutine too, and
	// the other callers sharing the transaction get ErrSharedTxAborted.
	//
	// The store's queries on tx ignore the cancellation of ctx once fn has started,
	// because a statement interrupted part way rolls back the whole transaction on SQLite,
	// other callers' writes included. Code that writes to tx.SQLTx() or tx.PgxTx()
	// directly should do the same with context.WithoutCancel. It must not commit or roll
	// back the transaction itself: a COMMIT there would keep writes that InSharedTx then
	// reports as lost. If a function breaks the transaction anyway, the callers whose
	// functions ran before it in that transaction get an error wrapping ErrSharedTxAborted
	// and lose their writes, and the callers after it run in a new transaction.
	InSharedTx(ctx context.Context, fn func(tx StoreTx) error) error
}

// ErrSharedTxAborted is returned by InSharedTx when the shared transaction was rolled back
// by something other than the caller's own function, or when the commit of a transaction
// shared by several callers failed. The caller's writes were not kept and may be tried
// again.
var ErrSharedTxAborted = errors.New("billing: shared transaction aborted")

var _ SharedTxStore = (*SQLStore)(nil)

// maxTxGroup bounds how many callers share one transaction, so that the first of them does
// not wait for an unbounded queue.
const maxTxGroup = 64

// txGroup queues the callers of InSharedTx. When no transaction is running, the caller at
// the head of the queue leads. It takes the queue (up to maxTxGroup callers, itself first),
// runs their functions in one transaction, wakes them, and hands the lead to the next caller
// in the queue. Callers who arrive while a transaction runs thus form the next
// group, and no goroutine runs other callers' work for longer than one transaction.
type txGroup struct {
	mu      sync.Mutex
	queue   []*txMember
	running bool
}

// txMember is one caller waiting in a txGroup.
type txMember struct {
	ctx context.Context
	fn  func(tx StoreTx) error
	// wake is signalled when the member may lead.
	wake chan struct{}
	// run is the group that took the member, set with taken.
	run   *txRun
	taken bool
	// started is set when the member's function starts. abandoned is set when the member
	// gave up before that, so its function never runs.
	started   bool
	abandoned bool
	// finished is closed once the member's transaction has ended and err and panicked
	// hold its outcome.
	finished chan struct{}
	err      error
	panicked any
	exited   bool
}

// InSharedTx runs fn in a transaction shared with concurrent callers; see SharedTxStore.
func (s *SQLStore) InSharedTx(ctx context.Context, fn func(tx StoreTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m := &txMember{ctx: ctx, fn: fn, wake: make(chan struct{}, 1),
		finished: make(chan struct{})}
	g := &s.group
	g.mu.Lock()
	g.queue = append(g.queue, m)
	g.mu.Unlock()
	for waiting := true; waiting; {
		if run := g.lead(m); run != nil {
			// The leader runs the others' functions, so it returns only when the
			// transaction ends. Its own function is still skipped if ctx ends first.
			stop := context.AfterFunc(ctx, func() { g.withdraw(m) })
			s.runGroup(run)
			stop()
			break
		}
		select {
		case <-m.finished:
			waiting = false
		case <-m.wake:
		case <-ctx.Done():
			if g.withdraw(m) {
				return ctx.Err()
			}
			// The member's function has started, and its writes may be kept. A taken
			// member never leads, so the end of that transaction is all there is to wait
			// for.
			<-m.finished
			waiting = false
		}
	}
	if m.exited {
		runtime.Goexit()
	}
	if m.panicked != nil {
		panic(m.panicked)
	}
	return m.err
}

// txRun is a group of members taken from the queue to share transactions.
type txRun struct {
	members []*txMember
	// beginCtx ends once every member has given up before its function started, so that
	// the leader stops waiting for a connection that no member needs any more.
	beginCtx    context.Context
	cancelBegin context.CancelFunc
	// interested counts the members that have not given up.
	interested int
}

// lead returns the group m leads, or nil when m is not at the head of the queue or a
// transaction is running.
func (g *txGroup) lead(m *txMember) *txRun {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running || m.taken || len(g.queue) == 0 || g.queue[0] != m {
		return nil
	}
	n := min(len(g.queue), maxTxGroup)
	run := &txRun{members: make([]*txMember, n), interested: n}
	run.beginCtx, run.cancelBegin = context.WithCancel(context.WithoutCancel(m.ctx))
	copy(run.members, g.queue)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	for _, member := range run.members {
		member.taken = true
		member.run = run
	}
	g.running = true
	return run
}

// start marks m's function as started and returns nil, or returns the context's error when
// the member has given up, in which case its function must not run.
func (g *txGroup) start(m *txMember) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := m.ctx.Err(); err != nil || m.abandoned {
		m.abandon()
		return m.ctx.Err()
	}
	m.started = true
	return nil
}

// abandon records that a taken member gave up before its function started; g.mu must be
// held.
func (m *txMember) abandon() {
	if m.abandoned {
		return
	}
	m.abandoned = true
	m.run.interested--
	if m.run.interested == 0 {
		m.run.cancelBegin()
	}
}

// finish gives the members of the running transaction their outcomes, wakes them, ends
// the transaction and wakes the next caller in the queue to lead.
func (g *txGroup) finish(batch []*txMember, outcomes []txOutcome) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, m := range batch {
		m.err = outcomes[i].err
		m.panicked = outcomes[i].panicked
		m.exited = outcomes[i].exited
		if m.abandoned {
			// Its function never ran, whatever stopped the transaction.
			m.err, m.panicked, m.exited = m.ctx.Err(), nil, false
		}
		close(m.finished)
	}
	g.running = false
	if len(g.queue) > 0 {
		g.queue[0].signal()
	}
}

// withdraw removes m from the queue, or from the group that took it if its function has
// not started, and reports whether it did. A member whose function started must wait for
// its transaction to finish.
func (g *txGroup) withdraw(m *txMember) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m.started {
		return false
	}
	if m.taken {
		m.abandon()
		return true
	}
	for i, queued := range g.queue {
		if queued == m {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			break
		}
	}
	if !g.running && len(g.queue) > 0 {
		g.queue[0].signal()
	}
	return true
}

func (m *txMember) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// runGroup runs the members' functions in shared transactions, gives each member its
// outcome and hands the lead on. When a function breaks the transaction, the members after
// it run in another.
func (s *SQLStore) runGroup(run *txRun) {
	defer run.cancelBegin()
	batch := run.members
	outcomes := make([]txOutcome, len(batch))
	settled := 0
	defer func() {
		// Deferred so that the members receive their outcomes and the lead passes on even
		// when a function ends this goroutine (runtime.Goexit, as t.FailNow does) or the
		// driver panics. The transaction was rolled back then, so what had not settled is
		// lost.
		for i := settled; i < len(batch); i++ {
			if !outcomes[i].exited {
				outcomes[i] = txOutcome{err: fmt.Errorf("%w: the goroutine running the "+
					"transaction ended before it committed", ErrSharedTxAborted)}
			}
		}
		s.group.finish(batch, outcomes)
	}()
	for settled < len(batch) {
		settled += s.runGroupTx(run.beginCtx, batch[settled:], outcomes[settled:])
	}
}

type txOutcome struct {
	err      error
	panicked any
	// exited is set when the function called runtime.Goexit.
	exited bool
}

func (o txOutcome) failed() bool { return o.err != nil || o.panicked != nil || o.exited }

// runGroupTx runs members in one transaction and fills in their outcomes. It begins the
// transaction with beginCtx, which ends only when every member has given up, and runs
// its statements without cancellation. It returns how many members it settled: all of
// them, or, when a function broke the transaction, those up to and including it. A group
// of one runs as InTx would, without a savepoint.
func (s *SQLStore) runGroupTx(beginCtx context.Context, members []*txMember,
	outcomes []txOutcome) int {
	ctx := context.WithoutCancel(beginCtx)
	failAll := func(err error) int {
		for i := range outcomes {
			if !outcomes[i].failed() {
				outcomes[i].err = err
			}
		}
		return len(members)
	}
	tx, err := s.begin(beginCtx)
	if err != nil {
		return failAll(fmt.Errorf("unable to begin a transaction: %w", err))
	}
	tx.conn = detachedConn{tx.conn}
	committed := false
	defer func() {
		if !committed {
			if err := tx.rollback(); err != nil {
				s.logger.Warn("unable to roll back shared billing transaction", "err", err)
			}
		}
	}()
	if len(members) == 1 {
		if err := s.group.start(members[0]); err != nil {
			outcomes[0].err = err
			return 1
		}
		callMember(members[0], tx, &outcomes[0])
		if !outcomes[0].failed() && !txOpen(tx) {
			outcomes[0].err = errors.New("the transaction ended before its commit: the " +
				"function committed or rolled it back itself")
		}
		if outcomes[0].failed() {
			return 1
		}
		if err := tx.commit(ctx); err != nil {
			return failAll(fmt.Errorf("unable to commit the transaction: %w", err))
		}
		committed = true
		return 1
	}
	for i, m := range members {
		if err := s.group.start(m); err != nil {
			outcomes[i].err = err
			continue
		}
		if _, err := tx.conn.exec(ctx, "SAVEPOINT instars_member"); err != nil {
			return failAll(fmt.Errorf("%w: unable to set a savepoint: %w",
				ErrSharedTxAborted, err))
		}
		callMember(m, tx, &outcomes[i])
		if err := endSavepoint(ctx, tx, &outcomes[i]); err != nil {
			// The transaction is gone, such as after an interrupted statement: no write
			// made in it survives. The members after this one run in a new transaction.
			for j := range i + 1 {
				if !outcomes[j].failed() {
					outcomes[j].err = fmt.Errorf("%w: %w", ErrSharedTxAborted, err)
				}
			}
			return i + 1
		}
	}
	if err := tx.commit(ctx); err != nil {
		err = fmt.Errorf("unable to commit the transaction: %w", err)
		if s.commitRolledBack(err) {
			// No member can tell whether its own writes or another's failed the commit.
			err = fmt.Errorf("%w: %w", ErrSharedTxAborted, err)
		}
		return failAll(err)
	}
	committed = true
	return len(members)
}

// txOpen reports whether the transaction is still open as far as the store can tell. It
// checks PostgreSQL's transaction status, because a COMMIT there after a ROLLBACK that a
// function ran itself only warns, and would report a success with nothing kept. On SQLite
// such a COMMIT fails by itself.
func txOpen(tx *storeTx) bool {
	return tx.pgxTx == nil || tx.pgxTx.Conn().PgConn().TxStatus() != 'I'
}

// commitRolledBack reports whether a failed commit certainly rolled the transaction back:
// PostgreSQL returned an error for the commit, or SQLite, whose driver (modernc.org/sqlite
// v1.63, tx.Commit) rolls back a transaction whose commit failed. An error from a lost
// PostgreSQL connection leaves the outcome unknown.
func (s *SQLStore) commitRolledBack(err error) bool {
	if s.dialect == DialectSQLite {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) || errors.Is(err, pgx.ErrTxCommitRollback)
}

// endSavepoint keeps the writes of a member whose function succeeded and undoes those of
// one whose function failed. It returns an error only when the transaction is gone.
func endSavepoint(ctx context.Context, tx *storeTx, outcome *txOutcome) error {
	if !outcome.failed() {
		_, err := tx.conn.exec(ctx, "RELEASE SAVEPOINT instars_member")
		if err == nil {
			return nil
		}
		// On PostgreSQL, a failed statement whose error the function ignored leaves the
		// transaction unusable until it is rolled back to a savepoint: this member's
		// writes cannot be kept, but the other members' can.
		outcome.err = fmt.Errorf("unable to keep the writes of the transaction: %w", err)
	}
	_, err := tx.conn.exec(ctx,
		"ROLLBACK TO SAVEPOINT instars_member; RELEASE SAVEPOINT instars_member")
	return err
}

// detachedConn runs statements without the cancellation of the caller's context, so that a
// caller giving up cannot interrupt a transaction other callers share.
type detachedConn struct{ storeConn }

func (c detachedConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return c.storeConn.exec(context.WithoutCancel(ctx), query, args...)
}

func (c detachedConn) query(ctx context.Context, query string, args ...any) (storeRows, error) {
	return c.storeConn.query(context.WithoutCancel(ctx), query, args...)
}

func (c detachedConn) queryRow(ctx context.Context, query string, args ...any) storeRow {
	return c.storeConn.queryRow(context.WithoutCancel(ctx), query, args...)
}

// callMember runs the member's function and records its outcome, catching a panic or a
// runtime.Goexit so that it can be raised again in the member's own goroutine. A Goexit
// cannot be stopped: it still ends the goroutine running the function.
func callMember(m *txMember, tx *storeTx, outcome *txOutcome) {
	returned := false
	defer func() {
		if r := recover(); r != nil {
			*outcome = txOutcome{panicked: r}
		} else if !returned {
			*outcome = txOutcome{exited: true}
		}
	}()
	err := m.fn(tx)
	returned = true
	*outcome = txOutcome{err: err}
}
