package billing

import (
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

// svcOpenSQLite opens a SQLite file in the test's temporary folder the way River needs it:
// WAL, a busy timeout, write transactions that take the lock when they begin, and one
// connection.
func svcOpenSQLite(t testing.TB) *sql.DB {
	t.Helper()
	return svcOpenSQLiteFile(t, filepath.Join(t.TempDir(), "service.db"))
}

func svcOpenSQLiteFile(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatalf("opening SQLite: %v", err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}
