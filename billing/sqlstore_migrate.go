package billing

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// migrationFiles holds the store's schema changes, applied in version order. A file named
// NNNN_name.sql applies to both engines, NNNN_name.sqlite.sql or NNNN_name.postgres.sql to
// one. A released file is never edited: a change to the schema is a new file with the next
// version.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaTooNew is returned by OpenSQLite and OpenPostgres when the database was migrated
// by a newer version of the package, whose schema this one does not know.
var ErrSchemaTooNew = errors.New("billing: database schema is newer than this build")

type migration struct {
	version int
	name    string
	body    string
}

// migrationsFor returns the migrations of the dialect in version order.
func migrationsFor(dialect Dialect) ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	byVersion := make(map[int]migration)
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".sql")
		if prefix, engine, found := strings.Cut(base, "."); found {
			if engine != dialect.String() {
				continue
			}
			base = prefix
		}
		digits, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(digits)
		if err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %s: expected a name starting with a positive "+
				"version number", name)
		}
		if other, dup := byVersion[version]; dup {
			return nil, fmt.Errorf("migrations %s and %s have the same version %d",
				other.name, name, version)
		}
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		byVersion[version] = migration{version: version, name: name, body: string(body)}
	}
	ordered := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		ordered = append(ordered, m)
	}
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].version < ordered[j].version })
	return ordered, nil
}

// postgresMigrationLock is the key of the advisory lock that keeps replicas starting at the
// same time from migrating concurrently (an arbitrary constant, "billing" in ASCII).
const postgresMigrationLock = 0x62696c6c696e67

// migrate brings the schema up to the newest version in one transaction, recording each
// applied version in billing_schema_versions. It is safe to run from several processes at
// once: SQLite's immediate transactions and a PostgreSQL advisory lock serialise them. It
// returns ErrSchemaTooNew, changing nothing, if the database is at a version it does not
// know.
func (s *SQLStore) migrate(ctx context.Context) error {
	migrations, err := migrationsFor(s.dialect)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *storeTx) error {
		if s.dialect == DialectPostgres {
			if _, err := tx.conn.exec(ctx, "SELECT pg_advisory_xact_lock($1)",
				int64(postgresMigrationLock)); err != nil {
				return fmt.Errorf("unable to take the migration lock: %w", err)
			}
		}
		if _, err := tx.conn.exec(ctx, `CREATE TABLE IF NOT EXISTS billing_schema_versions (
			version BIGINT PRIMARY KEY,
			name TEXT NOT NULL,
			applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("unable to create billing_schema_versions: %w", err)
		}
		var current int64
		err := tx.conn.queryRow(ctx,
			"SELECT COALESCE(MAX(version), 0) FROM billing_schema_versions").Scan(&current)
		if err != nil {
			return fmt.Errorf("unable to read the schema version: %w", err)
		}
		// A newer build may have changed tables this one would then misread or
		// overwrite, so it must not run on them.
		if newest := int64(migrations[len(migrations)-1].version); current > newest {
			return fmt.Errorf("%w: the database is at schema version %d, this build knows "+
				"versions up to %d; run the newer build or restore a backup",
				ErrSchemaTooNew, current, newest)
		}
		for _, m := range migrations {
			if int64(m.version) <= current {
				continue
			}
			if _, err := tx.conn.exec(ctx, m.body); err != nil {
				return fmt.Errorf("unable to apply migration %s: %w", m.name, err)
			}
			if _, err := tx.conn.exec(ctx,
				"INSERT INTO billing_schema_versions (version, name, applied_at) "+
					"VALUES ($1, $2, $3)", m.version, m.name, unixMicros(s.now())); err != nil {
				return fmt.Errorf("unable to record migration %s: %w", m.name, err)
			}
			s.logger.Info("applied billing schema migration", "version", m.version,
				"name", m.name, "engine", s.dialect.String())
		}
		return nil
	})
}
