package billing

import (
	"context"
	"database/sql"
	"errors"
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
