package billing

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

const (
	// busyCheckpointInterval is how soon the background checkpointer runs again after a
	// checkpoint that found new commits. Each checkpoint syncs the log and the database
	// file, and on the ext4 disk the benchmarks ran on, a commit made during a sync waited
	// up to 20 ms. Small frequent syncs kept those waits shorter than large rare ones. With
	// invoices arriving at 5,000 per second, the p99 latency was 4 to 9 ms at 5 ms, 7 to
	// 13 ms at 20 ms and 9 to 13 ms at 60 ms.
	busyCheckpointInterval = 5 * time.Millisecond
	// idleCheckpointInterval is the longest the checkpointer waits while nothing is
	// written. The wait doubles from busyCheckpointInterval after each checkpoint that
	// found no commit since the previous one and nothing left to copy.
	idleCheckpointInterval = time.Second
	// backstopCheckpointPages is the write-ahead log size, in pages, at which a commit
	// checkpoints by itself: about 80 MB with 4 KiB pages, reached only if the background
	// checkpointer falls behind or stops.
	backstopCheckpointPages = 20_000
)

// checkpointer runs SQLite's passive checkpoints on a connection of its own, so that
// copying the write-ahead log into the database (and syncing it) happens beside the
// writers instead of inside the commit that fills the log. A passive checkpoint copies what
// it can without waiting for readers or writers and never calls the busy handler (SQLite's
// sqlite3_wal_checkpoint_v2 documentation); the next tick copies the rest.
type checkpointer struct {
	db *sql.DB
	// conn is the one connection the checkpoints run on, kept because PRAGMA data_version
	// compares commits with the previous call on the same connection.
	conn   *sql.Conn
	logger *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	// The state below belongs to the goroutine running the checkpoints.
	wait            time.Duration
	failures        int
	lastDataVersion int64
}

func startCheckpointer(dsn string, logger *slog.Logger) (*checkpointer, error) {
	c, err := newCheckpointer(dsn, logger)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(ctx)
	return c, nil
}

// newCheckpointer opens the checkpointer's connection without starting its goroutine.
func newCheckpointer(dsn string, logger *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("unable to open the checkpoint connection: %w", err)
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(context.Background())
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("unable to open the checkpoint connection: %w", err)
	}
	return &checkpointer{db: db, conn: conn, logger: logger, done: make(chan struct{}),
		wait: busyCheckpointInterval}, nil
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	timer := time.NewTimer(c.wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		c.checkpoint(ctx)
		timer.Reset(c.wait)
	}
}

// checkpoint runs one passive checkpoint and sets how long to wait before the next.
func (c *checkpointer) checkpoint(ctx context.Context) {
	// The log's length cannot tell whether anything was written: once the log is all
	// copied, the next commit starts it over, and may leave it as long as before.
	var dataVersion, busy, logPages, copied int64
	err := c.conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&dataVersion)
	if err == nil {
		err = c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").
			Scan(&busy, &logPages, &copied)
	}
	switch {
	case err != nil && ctx.Err() == nil:
		c.failures++
		// Logged on the first failure and every 100th after it, so that a stuck
		// checkpointer is seen without flooding the log.
		if c.failures%100 == 1 {
			c.logger.Warn("SQLite checkpoint failed", "err", err, "failures", c.failures)
		}
	case dataVersion != c.lastDataVersion || copied < logPages:
		// Another connection committed since the last checkpoint, or a reader kept
		// this one from copying everything.
		c.failures = 0
		c.wait = busyCheckpointInterval
	default:
		c.failures = 0
		c.wait = min(2*c.wait, idleCheckpointInterval)
	}
	c.lastDataVersion = dataVersion
}

func (c *checkpointer) stop() {
	c.cancel()
	<-c.done
	c.close()
}

// close closes the checkpointer's connection.
func (c *checkpointer) close() {
	_ = c.conn.Close()
	_ = c.db.Close()
}
