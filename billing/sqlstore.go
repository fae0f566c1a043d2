package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect is the SQL engine under a SQLStore.
type Dialect int

// The supported engines.
const (
	// DialectSQLite is SQLite through modernc.org/sqlite (pure Go), the default for one
	// server.
	DialectSQLite Dialect = iota + 1
	// DialectPostgres is PostgreSQL through pgx v5, for several server replicas.
	DialectPostgres
)

// String returns the engine's lowercase name, as migration file names use it.
func (d Dialect) String() string {
	switch d {
	case DialectSQLite:
		return "sqlite"
	case DialectPostgres:
		return "postgres"
	default:
		return fmt.Sprintf("Dialect(%d)", int(d))
	}
}

// SQLStore is the Store on SQLite or PostgreSQL. It migrates its schema when opened.
type SQLStore struct {
	storeQueries
	dialect Dialect
	db      *sql.DB
	pool    *pgxpool.Pool
	stmts   *sqliteStatements
	// checkpointer is SQLite's background checkpointer; nil on PostgreSQL.
	checkpointer *checkpointer
	closeOnce    sync.Once
	// group queues the callers of InSharedTx.
	group  txGroup
	logger *slog.Logger
	now    func() time.Time
}

var _ Store = (*SQLStore)(nil)

// SQLStoreOptions tunes a SQLStore; the zero value is the default.
type SQLStoreOptions struct {
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock that stamps rows; nil means time.Now.
	Now func() time.Time
	// MaxOpenConns bounds SQLite's connections; 0 means 1, the setting River's SQLite
	// driver recommends. With one connection, a Store method called inside an InTx callback
	// (instead of the StoreTx) waits for the transaction and so blocks until ctx ends.
	// PostgreSQL's pool size is set in its connection string (pool_max_conns).
	MaxOpenConns int
	// BusyTimeout is how long a SQLite writer waits for another; 0 means 5 seconds.
	BusyTimeout time.Duration
}

func (o *SQLStoreOptions) withDefaults() SQLStoreOptions {
	var opts SQLStoreOptions
	if o != nil {
		opts = *o
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = 1
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	return opts
}

// OpenSQLite opens (creating if needed) the SQLite database file at path and migrates it.
// It enables write-ahead logging, so readers do not block the writer, a busy timeout,
// foreign keys, and immediate transactions, so a transaction takes the write lock when it
// begins instead of failing when it first writes. Synchronous is NORMAL, SQLite's
// recommendation with WAL: a commit survives a crash of the process, and a power loss
// can lose the last commits but never corrupts the database.
func OpenSQLite(ctx context.Context, path string, opts *SQLStoreOptions) (*SQLStore, error) {
	o := opts.withDefaults()
	query := url.Values{}
	query.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	query.Add("_pragma", "journal_mode(WAL)")
	query.Add("_pragma", "synchronous(NORMAL)")
	// The checkpointer copies the log into the database in the background. The automatic
	// checkpoint would stall the commit that triggers it, so it is only a backstop.
	query.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", backstopCheckpointPages))
	query.Add("_pragma", "foreign_keys(ON)")
	// A shared transaction keeps each caller's changes in a savepoint journal, which SQLite
	// moves to a temporary file past 64 KiB unless temporary storage is in memory.
	query.Add("_pragma", "temp_store(MEMORY)")
	query.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + query.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("unable to open SQLite database %s: %w", path, err)
	}
	db.SetMaxOpenConns(o.MaxOpenConns)
	db.SetMaxIdleConns(o.MaxOpenConns)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("unable to open SQLite database %s: %w", path, err)
	}
	stmts := &sqliteStatements{db: db, stmts: make(map[string]*sql.Stmt)}
	s := &SQLStore{
		storeQueries: storeQueries{conn: sqliteConn{q: db, stmts: stmts}, now: o.Now},
		dialect:      DialectSQLite,
		stmts:        stmts,
		db:           db,
		logger:       o.Logger,
		now:          o.Now,
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := stmts.prepareAll(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	s.checkpointer, err = startCheckpointer(dsn, o.Logger)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// OpenPostgres connects to PostgreSQL with a pgx connection string (URL or key=value form,
// with pgx's pool settings such as pool_max_conns) and migrates the schema. Tables are
// created in the connection's search_path, so a search_path setting in the string selects
// a schema.
func OpenPostgres(ctx context.Context, dsn string, opts *SQLStoreOptions) (*SQLStore, error) {
	o := opts.withDefaults()
	config, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("invalid PostgreSQL connection string: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("unable to connect to PostgreSQL at %s:%d: %w",
			config.ConnConfig.Host, config.ConnConfig.Port, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("unable to connect to PostgreSQL at %s:%d: %w",
			config.ConnConfig.Host, config.ConnConfig.Port, err)
	}
	s := &SQLStore{
		storeQueries: storeQueries{conn: postgresConn{pool}, now: o.Now},
		dialect:      DialectPostgres,
		pool:         pool,
		logger:       o.Logger,
		now:          o.Now,
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Dialect returns the engine the store runs on.
func (s *SQLStore) Dialect() Dialect { return s.dialect }

// DB returns the SQLite database handle, for River's riversqlite driver, or nil on
// PostgreSQL.
func (s *SQLStore) DB() *sql.DB { return s.db }

// Pool returns the PostgreSQL connection pool, for River's riverpgxv5 driver, or nil on
// SQLite.
func (s *SQLStore) Pool() *pgxpool.Pool { return s.pool }

// Close closes the store's connections. Calls after the first return nil.
func (s *SQLStore) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.pool != nil {
			s.pool.Close()
			return
		}
		if s.checkpointer != nil {
			s.checkpointer.stop()
		}
		s.stmts.close()
		err = s.db.Close()
	})
	return err
}

// InTx runs fn in one transaction; see Store.InTx.
func (s *SQLStore) InTx(ctx context.Context, fn func(tx StoreTx) error) error {
	return s.inTx(ctx, func(tx *storeTx) error { return fn(tx) })
}

func (s *SQLStore) inTx(ctx context.Context, fn func(tx *storeTx) error) (err error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("unable to begin a transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			if rollbackErr := tx.rollback(); rollbackErr != nil {
				s.logger.Warn("unable to roll back billing transaction", "err", rollbackErr)
			}
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("unable to commit the transaction: %w", err)
	}
	committed = true
	return nil
}

func (s *SQLStore) begin(ctx context.Context) (*storeTx, error) {
	if s.dialect == DialectPostgres {
		tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
		if err != nil {
			return nil, err
		}
		return &storeTx{storeQueries: storeQueries{conn: postgresConn{tx}, now: s.now},
			pgxTx: tx}, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	conn := sqliteConn{q: tx, tx: tx, stmts: s.stmts}
	return &storeTx{storeQueries: storeQueries{conn: conn, now: s.now}, sqlTx: tx}, nil
}

// storeTx is the StoreTx of a SQLStore.
type storeTx struct {
	storeQueries
	sqlTx *sql.Tx
	pgxTx pgx.Tx
}

func (tx *storeTx) SQLTx() *sql.Tx { return tx.sqlTx }
func (tx *storeTx) PgxTx() pgx.Tx  { return tx.pgxTx }

func (tx *storeTx) commit(ctx context.Context) error {
	if tx.pgxTx != nil {
		return tx.pgxTx.Commit(ctx)
	}
	return tx.sqlTx.Commit()
}

// rollback uses a fresh context so that a cancelled request still releases its transaction.
func (tx *storeTx) rollback() error {
	if tx.pgxTx != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tx.pgxTx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
			return err
		}
		return nil
	}
	if err := tx.sqlTx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}
