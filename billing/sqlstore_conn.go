package billing

import (
	"context"
	"database/sql"
	"errors"
	"strings"
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

// sqlQuerier is what *sql.DB and *sql.Tx have in common.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type sqliteConn struct{ q sqlQuerier }

func sqlitePlaceholders(query string) string { return strings.ReplaceAll(query, "$", "?") }

func (c sqliteConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, sqlitePlaceholders(query), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c sqliteConn) query(ctx context.Context, query string, args ...any) (storeRows, error) {
	rows, err := c.q.QueryContext(ctx, sqlitePlaceholders(query), args...)
	if err != nil {
		return nil, err
	}
	return sqliteRows{rows}, nil
}

func (c sqliteConn) queryRow(ctx context.Context, query string, args ...any) storeRow {
	return sqliteRow{c.q.QueryRowContext(ctx, sqlitePlaceholders(query), args...)}
}

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

// pgxQuerier is what *pgxpool.Pool and pgx.Tx have in common.
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
		if code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
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
