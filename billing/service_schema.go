package billing

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// serviceMigrations create the service's own tables: customer keys, invoices per customer, leases, events, webhook deliveries,
// refunds and operator alerts. They are versioned apart from the store's schema (in the
// service_schema_versions table) so the two sets never collide; a version, once released, is
// never edited, only followed by a new one.
//
// Columns use types both engines accept: TEXT, BIGINT (times are Unix microseconds, amounts
// satoshis) and 0/1 flags.
var serviceMigrations = []struct {
	version    int
	statements []string
}{
	{version: 1, statements: []string{
		`CREATE TABLE customer_keys (
			fingerprint TEXT PRIMARY KEY,
			armored TEXT NOT NULL,
			updated_at BIGINT NOT NULL
		)`,
		`CREATE TABLE service_invoices (
			invoice_id TEXT PRIMARY KEY,
			order_id TEXT NOT NULL,
			customer TEXT NOT NULL,
			plan TEXT NOT NULL,
			units BIGINT NOT NULL,
			extends_lease TEXT NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		`CREATE INDEX service_invoices_customer ON service_invoices (customer, created_at)`,
		`CREATE TABLE leases (
			id TEXT PRIMARY KEY,
			customer TEXT NOT NULL,
			order_id TEXT NOT NULL UNIQUE,
			invoice_id TEXT NOT NULL UNIQUE,
			plan TEXT NOT NULL,
			ssh_public_key TEXT NOT NULL,
			refund_address TEXT NOT NULL,
			status TEXT NOT NULL,
			launch_attempts BIGINT NOT NULL,
			instance_id TEXT NOT NULL,
			address TEXT NOT NULL,
			host_keys TEXT NOT NULL,
			meter TEXT NOT NULL,
			next_change BIGINT NOT NULL,
			credentials TEXT NOT NULL,
			instance_terminated_at BIGINT NOT NULL,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL
		)`,
		`CREATE INDEX leases_customer ON leases (customer, created_at)`,
		`CREATE INDEX leases_next_change ON leases (status, next_change)`,
		`CREATE TABLE service_events (
			id TEXT PRIMARY KEY,
			kind TEXT NOT NULL,
			subject TEXT NOT NULL,
			customer TEXT NOT NULL,
			data TEXT NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		`CREATE INDEX service_events_subject ON service_events (subject, created_at)`,
		`CREATE TABLE webhook_deliveries (
			id TEXT PRIMARY KEY,
			event_id TEXT NOT NULL,
			endpoint TEXT NOT NULL,
			attempt BIGINT NOT NULL,
			status_code BIGINT NOT NULL,
			error TEXT NOT NULL,
			duration_us BIGINT NOT NULL,
			delivered BIGINT NOT NULL,
			at BIGINT NOT NULL
		)`,
		`CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, at)`,
		`CREATE TABLE refunds (
			id TEXT PRIMARY KEY,
			customer TEXT NOT NULL,
			invoice_id TEXT NOT NULL,
			lease_id TEXT NOT NULL,
			reason TEXT NOT NULL,
			amount BIGINT NOT NULL,
			address TEXT NOT NULL,
			state TEXT NOT NULL,
			txid TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL,
			UNIQUE (invoice_id, reason)
		)`,
		`CREATE TABLE operator_alerts (
			id TEXT PRIMARY KEY,
			kind TEXT NOT NULL,
			subject TEXT NOT NULL,
			message TEXT NOT NULL,
			created_at BIGINT NOT NULL
		)`,
	}},
}

// migrateService applies the service's migrations not yet recorded in db's
// service_schema_versions table, each in its own transaction.
func migrateService(ctx context.Context, db any) error {
	runner := runnerFor(db)
	_, err := runner.exec(ctx, `CREATE TABLE IF NOT EXISTS service_schema_versions (
		version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
	if err != nil {
		return fmt.Errorf("billing: creating service_schema_versions: %w", err)
	}
	for _, m := range serviceMigrations {
		err := inTx(ctx, db, func(tx any) error {
			r := runnerFor(tx)
			var n int64
			err := queryRow(ctx, r, []any{&n},
				`SELECT COUNT(*) FROM service_schema_versions WHERE version = $1`, m.version)
			if err != nil || n > 0 {
				return err
			}
			for _, stmt := range m.statements {
				if _, err := r.exec(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", firstLine(stmt), err)
				}
			}
			// A second process migrating at the same time fails here on the primary key,
			// and its transaction (with its copies of the tables) rolls back.
			_, err = r.exec(ctx, `INSERT INTO service_schema_versions (version, applied_at)
				VALUES ($1, $2)`, m.version, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("billing: applying service migration %d: %w", m.version, err)
		}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// micros and fromMicros convert times to and from the stored form; the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
