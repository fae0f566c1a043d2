package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStoreRejectsNewerSchema checks that a store opened on a database migrated by a newer
// build stops with an error naming both versions instead of running on a schema it does not
// know.
func TestStoreRejectsNewerSchema(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "billing.db")
		store, err := OpenSQLite(ctx, path, nil)
		if err != nil {
			t.Fatalf("OpenSQLite: %v", err)
		}
		if _, err := store.DB().ExecContext(ctx, "INSERT INTO billing_schema_versions "+
			"(version, name, applied_at) VALUES (9999, 'future', 0)"); err != nil {
			t.Fatalf("record a future version: %v", err)
		}
		_ = store.Close()
		store, err = OpenSQLite(ctx, path, nil)
		if err == nil {
			_ = store.Close()
			t.Fatalf("OpenSQLite on a newer schema: got no error")
		}
		checkNewerSchemaError(t, err, DialectSQLite)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := newPostgresSchema(t)
		store, err := OpenPostgres(ctx, dsn, nil)
		if err != nil {
			t.Fatalf("OpenPostgres: %v", err)
		}
		if _, err := store.Pool().Exec(ctx, "INSERT INTO billing_schema_versions "+
			"(version, name, applied_at) VALUES (9999, 'future', 0)"); err != nil {
			t.Fatalf("record a future version: %v", err)
		}
		store.Close()
		store, err = OpenPostgres(ctx, dsn, nil)
		if err == nil {
			store.Close()
			t.Fatalf("OpenPostgres on a newer schema: got no error")
		}
		checkNewerSchemaError(t, err, DialectPostgres)
	})
}

func checkNewerSchemaError(t *testing.T, err error, dialect Dialect) {
	t.Helper()
	migrations, _ := migrationsFor(dialect)
	newest := migrations[len(migrations)-1].version
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("error %q does not wrap ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "9999") {
		t.Errorf("error %q does not name the database's version 9999", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("up to %d", newest)) {
		t.Errorf("error %q does not name the newest known version %d", err, newest)
	}
}

// TestStoreDerivationIndexesAcrossStores allocates indexes from two stores opened on one
// database at once, as two server processes would, and checks that every index is given
// out exactly once with none skipped.
func TestStoreDerivationIndexesAcrossStores(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "billing.db")
		first, err := OpenSQLite(ctx, path, nil)
		if err != nil {
			t.Fatalf("open the first store: %v", err)
		}
		defer first.Close()
		second, err := OpenSQLite(ctx, path, nil)
		if err != nil {
			t.Fatalf("open the second store: %v", err)
		}
		defer second.Close()
		checkIndexesAcrossStores(t, first, second)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := newPostgresSchema(t)
		first, err := OpenPostgres(ctx, dsn, nil)
		if err != nil {
			t.Fatalf("open the first store: %v", err)
		}
		defer first.Close()
		second, err := OpenPostgres(ctx, dsn, nil)
		if err != nil {
			t.Fatalf("open the second store: %v", err)
		}
		defer second.Close()
		checkIndexesAcrossStores(t, first, second)
	})
}

func checkIndexesAcrossStores(t *testing.T, stores ...*SQLStore) {
	t.Helper()
	const workersPerStore, each = 4, 50
	var (
		mu   sync.Mutex
		seen = make(map[uint32]int)
		wg   sync.WaitGroup
	)
	for _, store := range stores {
		for range workersPerStore {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					index, err := store.NextDerivationIndex(context.Background(), "shared")
					if err != nil {
						t.Errorf("NextDerivationIndex: %v", err)
						return
					}
					mu.Lock()
					seen[index]++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	total := uint32(len(stores) * workersPerStore * each)
	for index := range total {
		if seen[index] != 1 {
			t.Errorf("index %d given out %d times, want once", index, seen[index])
		}
	}
	if uint32(len(seen)) != total {
		t.Errorf("%d distinct indexes given out, want %d (0 to %d)", len(seen), total,
			total-1)
	}
}

// TestSQLiteLockedByAnotherWriter holds the write lock of the database file from another
// connection and checks that the store gives up after its busy timeout with an error that
// says the database is busy, and works again once the lock is released.
func TestSQLiteLockedByAnotherWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "billing.db")
	const busyTimeout = 300 * time.Millisecond
	store, err := OpenSQLite(ctx, path, &SQLStoreOptions{BusyTimeout: busyTimeout})
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	defer store.Close()

	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatalf("open another connection: %v", err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatalf("another connection: %v", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := store.NextDerivationIndex(ctx, "locked")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("NextDerivationIndex while another writer holds the lock: got no error")
		}
		if !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy") {
			t.Errorf("error %q does not say the database is locked or busy", err)
		}
	case <-time.After(busyTimeout + 10*time.Second):
		t.Fatalf("NextDerivationIndex still waiting long after the busy timeout %s",
			busyTimeout)
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatalf("release the write lock: %v", err)
	}
	if index, err := store.NextDerivationIndex(ctx, "locked"); err != nil || index != 0 {
		t.Errorf("NextDerivationIndex after the lock is released = %d, %v; want 0", index,
			err)
	}
}
