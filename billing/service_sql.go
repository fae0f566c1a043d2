package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// sqlRunner runs the service's own statements on either database the service supports, inside a
// transaction or on the pool. Every statement uses $N placeholders, which PostgreSQL and SQLite
// (modernc.org/sqlite) both accept, and portable column types: TEXT, BIGINT for integers,
// times as Unix microseconds, and 0/1 integers for flags.
type sqlRunner interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	query(ctx context.Context, query string, args ...any) (sqlRows, error)
}

// sqlRows is the part of *sql.Rows and pgx.Rows the service reads results through.
type sqlRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// errNoRows is what queryRow returns when the query matched nothing.
var errNoRows = errors.New("billing: no rows")

// queryRow runs a query expected to return at most one row and scans it into dest.
func queryRow(ctx context.Context, db sqlRunner, dest []any, query string, args ...any) error {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return errNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Err()
}

// stdRunner adapts database/sql (a *sql.DB or a *sql.Tx).
type stdRunner struct {
	db interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
}

func (r stdRunner) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := r.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (r stdRunner) query(ctx context.Context, query string, args ...any) (sqlRows, error) {
	rows, err := r.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return stdRows{rows}, nil
}

type stdRows struct{ *sql.Rows }

func (r stdRows) Close() { _ = r.Rows.Close() }

// pgxRunner adapts pgx (a *pgxpool.Pool or a pgx.Tx).
type pgxRunner struct {
	db interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	}
}

func (r pgxRunner) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := r.db.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (r pgxRunner) query(ctx context.Context, query string, args ...any) (sqlRows, error) {
	rows, err := r.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// runnerFor wraps a transaction or pool of either driver; it panics on any other type because
// only the service's own code calls it.
func runnerFor(tx any) sqlRunner {
	switch v := tx.(type) {
	case *sql.Tx:
		return stdRunner{v}
	case *sql.DB:
		return stdRunner{v}
	case pgx.Tx:
		return pgxRunner{v}
	case *pgxpool.Pool:
		return pgxRunner{v}
	default:
		panic(fmt.Sprintf("billing: unsupported database handle %T", tx))
	}
}
