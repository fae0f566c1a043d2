package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// storeConn runs the store's queries on a pool or a transaction of either engine. Queries
// are written with PostgreSQL's $1 placeholders; the SQLite side turns them into SQLite's
// numbered ?1 placeholders, which bind the same arguments.
type storeConn interface {
	exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	query(ctx context.Context, query string, args ...any) (storeRows, error)
	queryRow(ctx context.Context, query string, args ...any) storeRow
}

type storeRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// storeRow is one result row; its Scan returns errStoreNoRows when there is none.
type storeRow interface {
	Scan(dest ...any) error
}

var errStoreNoRows = errors.New("no rows")

// sqlQuerier is the method set *sql.DB and *sql.Tx share.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqliteConn runs queries on a SQLite database or transaction. Queries with arguments go
// through prepared statements kept for the store's lifetime, because parsing a statement
// costs as much as running one of the store's inserts.
type sqliteConn struct {
	q     sqlQuerier
	tx    *sql.Tx // set when q is a transaction
	stmts *sqliteStatements
}

func sqlitePlaceholders(query string) string { return strings.ReplaceAll(query, "$", "?") }

// sqliteStatements caches one prepared statement per query text.
type sqliteStatements struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// storeQueryTexts lists every query declared with storeQuery.
var storeQueryTexts []string

// storeQuery declares one of the store's queries, so that a SQLite store prepares it when it
// opens; it returns the query unchanged.
func storeQuery(query string) string {
	storeQueryTexts = append(storeQueryTexts, query)
	return query
}

// prepareAll prepares every declared query.
func (c *sqliteStatements) prepareAll(ctx context.Context) error {
	for _, query := range storeQueryTexts {
		if _, err := c.prepare(ctx, query); err != nil {
			return fmt.Errorf("unable to prepare %q: %w", firstWords(query), err)
		}
	}
	return nil
}

func (c *sqliteStatements) lookup(query string) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stmt, ok := c.stmts[query]
	return stmt, ok
}

func (c *sqliteStatements) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	stmt, err := c.db.PrepareContext(ctx, sqlitePlaceholders(query))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if existing, ok := c.stmts[query]; ok {
		_ = stmt.Close()
		return existing, nil
	}
	c.stmts[query] = stmt
	return stmt, nil
}

// firstWords returns the start of a query, for errors.
func firstWords(query string) string {
	words := strings.Fields(query)
	return strings.Join(words[:min(len(words), 4)], " ")
}

func (c *sqliteStatements) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, stmt := range c.stmts {
		_ = stmt.Close()
	}
	clear(c.stmts)
}

// statement returns the prepared statement for the query, bound to the transaction if any.
func (c sqliteConn) statement(ctx context.Context, query string) (*sql.Stmt, error) {
	stmt, ok := c.stmts.lookup(query)
	switch {
	case ok && c.tx != nil:
		return c.tx.StmtContext(ctx, stmt), nil
	case ok:
		return stmt, nil
	case c.tx != nil:
		// Preparing on the database could wait for the connection this transaction
		// holds, so an undeclared query is prepared for the transaction only.
		return c.tx.PrepareContext(ctx, sqlitePlaceholders(query))
	default:
		return c.stmts.prepare(ctx, query)
	}
}

func (c sqliteConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var (
		res sql.Result
		err error
	)
	if len(args) == 0 {
		// Unprepared, so that a migration's several statements run in one call.
		res, err = c.q.ExecContext(ctx, query)
	} else {
		var stmt *sql.Stmt
		if stmt, err = c.statement(ctx, query); err == nil {
			res, err = stmt.ExecContext(ctx, args...)
		}
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c sqliteConn) query(ctx context.Context, query string, args ...any) (storeRows, error) {
	stmt, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return sqliteRows{rows}, nil
}

func (c sqliteConn) queryRow(ctx context.Context, query string, args ...any) storeRow {
	stmt, err := c.statement(ctx, query)
	if err != nil {
		return errorRow{err}
	}
	return sqliteRow{stmt.QueryRowContext(ctx, args...)}
}

// errorRow is a row whose Scan returns the error that prevented the query.
type errorRow struct{ err error }

func (r errorRow) Scan(...any) error { return r.err }

type sqliteRows struct{ *sql.Rows }

func (r sqliteRows) Close() { _ = r.Rows.Close() }

type sqliteRow struct{ row *sql.Row }

func (r sqliteRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return errStoreNoRows
	}
	return err
}

// pgxQuerier is the method set *pgxpool.Pool and pgx.Tx share.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type postgresConn struct{ q pgxQuerier }

func (c postgresConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (c postgresConn) query(ctx context.Context, query string, args ...any) (storeRows, error) {
	rows, err := c.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (c postgresConn) queryRow(ctx context.Context, query string, args ...any) storeRow {
	return postgresRow{c.q.QueryRow(ctx, query, args...)}
}

type postgresRow struct{ row pgx.Row }

func (r postgresRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return errStoreNoRows
	}
	return err
}

// uniqueViolation reports whether err is a unique-constraint violation, with the engine's
// description of the constraint: PostgreSQL's constraint name, or SQLite's message, which
// lists the columns ("UNIQUE constraint failed: orders.customer, orders.nonce").
func uniqueViolation(err error) (detail string, ok bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code()
		if code == sqlite3.SQLITE_CONSTRAINT_UNIQUE ||
			code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return liteErr.Error(), true
		}
	}
	return "", false
}

// unixMicros stores a time as Unix microseconds, and the zero time as 0.
func unixMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// timeFromMicros reads a time stored by unixMicros, in UTC.
func timeFromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func boolToInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
