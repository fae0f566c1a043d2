package billing

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// jobQueue is a River client of either driver with its transaction type hidden, so the service
// can insert a job in whichever transaction its store opened (*sql.Tx on SQLite, pgx.Tx on
// PostgreSQL).
type jobQueue interface {
	// insertTx inserts a job in tx and reports false when a unique job with the same key
	// already exists.
	insertTx(ctx context.Context, tx any, args river.JobArgs, opts *river.InsertOpts) (bool, error)
	insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (bool, error)
	start(ctx context.Context) error
	stop(ctx context.Context) error
	subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	// pool returns the database handle River runs on (*sql.DB or *pgxpool.Pool).
	pool() any
}

// riverQueue implements jobQueue for one driver.
type riverQueue[TTx any] struct {
	client *river.Client[TTx]
	db     any
}

func (q *riverQueue[TTx]) insertTx(ctx context.Context, tx any, args river.JobArgs,
	opts *river.InsertOpts,
) (bool, error) {
	typed, ok := tx.(TTx)
	if !ok {
		var want TTx
		return false, fmt.Errorf("billing: job insert in a %T transaction, expected %T", tx, want)
	}
	res, err := q.client.InsertTx(ctx, typed, args, opts)
	if err != nil {
		return false, fmt.Errorf("billing: inserting %s job: %w", args.Kind(), err)
	}
	return !res.UniqueSkippedAsDuplicate, nil
}

func (q *riverQueue[TTx]) insert(ctx context.Context, args river.JobArgs,
	opts *river.InsertOpts,
) (bool, error) {
	res, err := q.client.Insert(ctx, args, opts)
	if err != nil {
		return false, fmt.Errorf("billing: inserting %s job: %w", args.Kind(), err)
	}
	return !res.UniqueSkippedAsDuplicate, nil
}

func (q *riverQueue[TTx]) start(ctx context.Context) error { return q.client.Start(ctx) }
func (q *riverQueue[TTx]) stop(ctx context.Context) error  { return q.client.Stop(ctx) }
func (q *riverQueue[TTx]) pool() any                       { return q.db }

func (q *riverQueue[TTx]) subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return q.client.Subscribe(kinds...)
}

// jobsConfig is what the service hands to River.
type jobsConfig struct {
	workers      *river.Workers
	periodic     []*river.PeriodicJob
	logger       *slog.Logger
	pollInterval time.Duration
	rescueAfter  time.Duration
	maxWorkers   int
}

// newJobQueue migrates River's tables in db (a *sql.DB opened on SQLite or a *pgxpool.Pool) and
// returns a client for it.
func newJobQueue(ctx context.Context, db any, cfg jobsConfig) (jobQueue, error) {
	switch v := db.(type) {
	case *sql.DB:
		return newRiverQueue(ctx, riversqlite.New(v), v, cfg, true)
	case *pgxpool.Pool:
		return newRiverQueue(ctx, riverpgxv5.New(v), v, cfg, false)
	default:
		return nil, fmt.Errorf("billing: unsupported job database %T, expected *sql.DB (SQLite) "+
			"or *pgxpool.Pool (PostgreSQL)", db)
	}
}

func newRiverQueue[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], db any,
	cfg jobsConfig, pollOnly bool,
) (*riverQueue[TTx], error) {
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quietLogger(cfg.logger)})
	if err != nil {
		return nil, fmt.Errorf("billing: preparing job migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("billing: migrating job tables: %w", err)
	}
	maxWorkers := cfg.maxWorkers
	if maxWorkers <= 0 {
		maxWorkers = 10
	}
	poll := cfg.pollInterval
	if poll <= 0 {
		poll = time.Second
	}
	client, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		Workers:           cfg.workers,
		PeriodicJobs:      cfg.periodic,
		Logger:            quietLogger(cfg.logger),
		FetchPollInterval: poll,
		FetchCooldown:     min(poll, 100*time.Millisecond),
		// SQLite has no LISTEN/NOTIFY, so River polls there.
		PollOnly: pollOnly,
		// Workers set their own timeouts; provisioning waits minutes for a real cloud.
		JobTimeout:           -1,
		RescueStuckJobsAfter: cmp.Or(cfg.rescueAfter, 20*time.Minute),
	})
	if err != nil {
		return nil, fmt.Errorf("billing: creating job client: %w", err)
	}
	return &riverQueue[TTx]{client: client, db: db}, nil
}

// quietLogger keeps River's own chatter at warnings and above.
func quietLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(levelFilter{Handler: l.Handler(), min: slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// uniqueByArgs makes a job run once for its arguments, whatever state an earlier copy is in,
// except when that copy was discarded or cancelled (then a new one may be inserted).
var uniqueByArgs = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateCompleted, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled,
}}

// beginTx opens a transaction on the job database, for the service's own tables.
func beginTx(ctx context.Context, db any) (tx any, commit func() error, rollback func(), err error) {
	switch v := db.(type) {
	case *sql.DB:
		t, err := v.BeginTx(ctx, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		return t, t.Commit, func() { _ = t.Rollback() }, nil
	case *pgxpool.Pool:
		t, err := v.Begin(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		return t, func() error { return t.Commit(ctx) },
			func() { _ = t.Rollback(context.WithoutCancel(ctx)) }, nil
	default:
		return nil, nil, nil, fmt.Errorf("billing: unsupported database %T", db)
	}
}

// inTx runs fn in a transaction of db and commits it when fn succeeds.
func inTx(ctx context.Context, db any, fn func(tx any) error) error {
	tx, commit, rollback, err := beginTx(ctx, db)
	if err != nil {
		return fmt.Errorf("billing: beginning transaction: %w", err)
	}
	defer rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := commit(); err != nil {
		return fmt.Errorf("billing: committing transaction: %w", err)
	}
	return nil
}
