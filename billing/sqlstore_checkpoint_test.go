package billing

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// TestSQLiteCheckpointsInBackground checks that committed writes reach the database file
// itself, not only the write-ahead log, without anything but the store's background
// checkpointer copying them.
func TestSQLiteCheckpointsInBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "billing.db")
	store, err := OpenSQLite(ctx, path, nil)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	defer store.Close()
	order := testOrder(testCustomer, "nonce-checkpoint-01")
	if err := store.InsertOrder(ctx, order); err != nil {
		t.Fatalf("InsertOrder: %v", err)
	}
	// An immutable reader ignores the write-ahead log and sees only the database file. It
	// also assumes the file never changes, so each look opens a new one. Taking no locks,
	// it can read pages that a running checkpoint is still copying, and then finds the file
	// malformed; that look counts as not yet, and the next one sees the finished copy.
	waitFor(t, "the order to be checkpointed into the database file", func() bool {
		fileOnly, err := sql.Open("sqlite", "file:"+path+"?immutable=1&mode=ro")
		if err != nil {
			t.Fatalf("open the database file alone: %v", err)
		}
		defer fileOnly.Close()
		var id string
		err = fileOnly.QueryRowContext(ctx, "SELECT id FROM orders WHERE id = ?", order.ID).
			Scan(&id)
		var liteErr *sqlite.Error
		torn := errors.As(err, &liteErr) && (liteErr.Code() == sqlite3.SQLITE_CORRUPT ||
			liteErr.Code() == sqlite3.SQLITE_NOTADB)
		if err != nil && !errors.Is(err, sql.ErrNoRows) && !torn &&
			!strings.Contains(err.Error(), "no such table") {
			t.Fatalf("read the database file: %v", err)
		}
		return id == order.ID
	})
}

// TestCheckpointerBacksOffOnlyWhenIdle runs the checkpointer's checkpoints one at a time.
// It checks that the checkpointer stays at the short interval after each write, and that
// it doubles its interval after a checkpoint that found nothing new. The writes leave the
// write-ahead log as long as before, because SQLite starts the log over once it is all
// copied.
func TestCheckpointerBacksOffOnlyWhenIdle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "billing.db")
	store, err := OpenSQLite(ctx, path, nil)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	defer store.Close()
	// The store's own checkpointer would race with the one under test.
	store.checkpointer.stop()
	c, err := newCheckpointer("file:"+path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("newCheckpointer: %v", err)
	}
	defer c.close()

	db := store.DB()
	if _, err := db.ExecContext(ctx, "CREATE TABLE probe (n INTEGER)"); err != nil {
		t.Fatalf("create probe table: %v", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO probe VALUES (0)"); err != nil {
		t.Fatalf("insert probe row: %v", err)
	}
	c.checkpoint(ctx)
	for i := range 5 {
		// Each update changes the same single page.
		if _, err := db.ExecContext(ctx, "UPDATE probe SET n = n + 1"); err != nil {
			t.Fatalf("update probe row: %v", err)
		}
		c.checkpoint(ctx)
		if c.wait != busyCheckpointInterval {
			t.Fatalf("after write %d the checkpointer waits %s, want %s", i, c.wait,
				busyCheckpointInterval)
		}
	}
	c.checkpoint(ctx)
	if want := 2 * busyCheckpointInterval; c.wait != want {
		t.Errorf("after a checkpoint with nothing written it waits %s, want %s", c.wait, want)
	}
	for range 10 {
		c.checkpoint(ctx)
	}
	if c.wait != idleCheckpointInterval {
		t.Errorf("after many idle checkpoints it waits %s, want %s", c.wait,
			idleCheckpointInterval)
	}
	if c.failures != 0 {
		t.Errorf("%d checkpoints failed", c.failures)
	}
}
