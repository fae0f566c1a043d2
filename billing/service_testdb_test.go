package billing

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite"

	"github.com/instars/instars/internal/testenv"
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

// svcOpenPostgres connects to the test PostgreSQL server and gives the test its own schema,
// or skips when no server runs.
func svcOpenPostgres(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	admin, err := pgxpool.New(ctx, testenv.PostgresDSN())
	if err == nil {
		err = admin.Ping(ctx)
	}
	if err != nil {
		testenv.Missing(t, "PostgreSQL not reachable at "+testenv.PostgresDSN()+
			" (start one as the README describes, or set INSTARS_TEST_POSTGRES): "+err.Error())
	}
	schema := "svc_" + NewID("t")[2:]
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	cfg, err := pgxpool.ParseConfig(testenv.PostgresDSN())
	if err != nil {
		t.Fatalf("parsing DSN: %v", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting to PostgreSQL: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
