package billing

import (
	"context"
	"errors"
	"fmt"
)

// maxGroupSize bounds how many InTx calls share one SQLite transaction.
const maxGroupSize = 64

// errStoreClosed is returned by InTx on a store being closed.
var errStoreClosed = errors.New("billing: store closed")

// groupCommitter runs the InTx calls that arrive while a SQLite commit is in progress
// together in the next transaction, each inside its own savepoint. SQLite has one writer at
// a time, and a commit writes a log frame for every page its transaction touched. Sharing a
// commit saves the commit's fixed cost and the frames of pages several calls touch, without
// changing what each caller observes: its writes are rolled back alone if its function
// fails, and it returns only once its writes are committed.
//
// A caller shares its batch's fate in one way: if the commit itself fails, every function
// of the batch gets the error. Contexts are checked before a function runs; statements run
// detached from cancellation, because interrupting one SQLite statement rolls back the
// whole transaction, and with it the other callers' work. Writes made through SQLTx (such
// as River's InsertTx) use the caller's context as given.
type groupCommitter struct {
	store    *SQLStore
	requests chan *groupRequest
	quit     chan struct{}
	done     chan struct{}
}

type groupRequest struct {
	ctx        context.Context
	fn         func(tx *storeTx) error
	err        error
	panicValue any
	done       chan struct{}
}

func startGroupCommitter(store *SQLStore) *groupCommitter {
	g := &groupCommitter{
		store:    store,
		requests: make(chan *groupRequest), // unbuffered: a request is either taken or refused
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go g.run()
	return g
}

// submit runs fn in the next group and returns its outcome; a panic in fn is raised again
// in the caller's goroutine.
func (g *groupCommitter) submit(ctx context.Context, fn func(tx *storeTx) error) error {
	req := &groupRequest{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case g.requests <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.quit:
		return errStoreClosed
	}
	<-req.done
	if req.panicValue != nil {
		panic(req.panicValue)
	}
	return req.err
}

func (g *groupCommitter) stop() {
	close(g.quit)
	<-g.done
}

func (g *groupCommitter) run() {
	defer close(g.done)
	for {
		var batch []*groupRequest
		select {
		case req := <-g.requests:
			batch = append(batch, req)
		case <-g.quit:
			return
		}
	gather:
		for len(batch) < maxGroupSize {
			select {
			case req := <-g.requests:
				batch = append(batch, req)
			default:
				break gather
			}
		}
		g.runBatch(batch)
		for _, req := range batch {
			close(req.done)
		}
	}
}

func (g *groupCommitter) runBatch(batch []*groupRequest) {
	ctx := context.Background()
	tx, err := g.store.begin(ctx)
	if err != nil {
		for _, req := range batch {
			req.err = fmt.Errorf("unable to begin a transaction: %w", err)
		}
		return
	}
	tx.conn = detachedConn{tx.conn}
	var committed []*groupRequest
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			req.err = err
			continue
		}
		savepoint := fmt.Sprintf("intx_%d", i)
		if _, err := tx.sqlTx.ExecContext(ctx, "SAVEPOINT "+savepoint); err != nil {
			req.err = fmt.Errorf("unable to begin a transaction: %w", err)
			continue
		}
		g.call(req, tx)
		if req.err != nil || req.panicValue != nil {
			if _, err := tx.sqlTx.ExecContext(ctx, "ROLLBACK TO "+savepoint); err != nil {
				g.abort(tx, batch, fmt.Errorf("unable to roll back a failed call: %w", err))
				return
			}
		}
		if _, err := tx.sqlTx.ExecContext(ctx, "RELEASE "+savepoint); err != nil {
			g.abort(tx, batch, fmt.Errorf("unable to release a savepoint: %w", err))
			return
		}
		if req.err == nil && req.panicValue == nil {
			committed = append(committed, req)
		}
	}
	if err := tx.commit(ctx); err != nil {
		for _, req := range committed {
			req.err = fmt.Errorf("unable to commit the transaction: %w", err)
		}
	}
}

// call runs the request's function, keeping a panic to raise in the caller.
func (g *groupCommitter) call(req *groupRequest, tx *storeTx) {
	defer func() {
		if value := recover(); value != nil {
			req.panicValue = value
		}
	}()
	req.err = req.fn(tx)
}

// abort rolls the whole transaction back and fails every request that had not failed.
func (g *groupCommitter) abort(tx *storeTx, batch []*groupRequest, err error) {
	if rollbackErr := tx.rollback(); rollbackErr != nil {
		g.store.logger.Warn("unable to roll back billing transaction", "err", rollbackErr)
	}
	for _, req := range batch {
		if req.err == nil && req.panicValue == nil {
			req.err = err
		}
	}
}

// detachedConn runs statements without their context's cancellation (see groupCommitter).
type detachedConn struct{ conn storeConn }

func (c detachedConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return c.conn.exec(context.WithoutCancel(ctx), query, args...)
}

func (c detachedConn) query(ctx context.Context, query string, args ...any) (storeRows, error) {
	return c.conn.query(context.WithoutCancel(ctx), query, args...)
}

func (c detachedConn) queryRow(ctx context.Context, query string, args ...any) storeRow {
	return c.conn.queryRow(context.WithoutCancel(ctx), query, args...)
}
