package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/instars/instars/metering"
)

// LeaseStatus is where the provisioning of a lease stands. The metering state (active, grace,
// suspended...) is computed from the lease's paid time and the clock, and reported alongside.
type LeaseStatus string

// The lease statuses.
const (
	// LeaseProvisioning: paid, and the instance is being launched.
	LeaseProvisioning LeaseStatus = "provisioning"
	// LeaseRunning: the instance runs and the lease's time runs.
	LeaseRunning LeaseStatus = "running"
	// LeaseFailed: the instance could not be launched; the payment is owed back (a refund
	// record exists).
	LeaseFailed LeaseStatus = "failed"
	// LeaseEnded: the lease's grace period ended; its instance is terminated or being
	// terminated.
	LeaseEnded LeaseStatus = "ended"
)

// Lease is a paid rental of one instance.
type Lease struct {
	ID        string
	Customer  string
	OrderID   string
	InvoiceID string
	PlanID    string
	Status    LeaseStatus
	// State is the metering state at the time the lease was read.
	State      metering.State
	InstanceID string
	// Address is the public IP address or DNS name the customer connects to.
	Address  string
	HostKeys []HostKey
	// StartedAt, EndsAt and GraceEndsAt are zero until the instance runs.
	StartedAt   time.Time
	EndsAt      time.Time
	GraceEndsAt time.Time
	Suspended   bool
	// InstanceTerminatedAt is when the cloud confirmed the termination; zero until then.
	InstanceTerminatedAt time.Time
	// Meter is the lease's metering record: its extensions, reminders sent, suspension.
	Meter     metering.Lease
	CreatedAt time.Time
	UpdatedAt time.Time

	sshPublicKey   string
	refundAddress  string
	launchAttempts int
	credentials    string
	nextChange     time.Time
}

const leaseColumns = `id, customer, order_id, invoice_id, plan, ssh_public_key, refund_address,
	status, launch_attempts, instance_id, address, host_keys, meter, next_change, credentials,
	instance_terminated_at, created_at, updated_at`

func insertLease(ctx context.Context, db sqlRunner, l *Lease) error {
	hostKeys, meter, err := encodeLeaseJSON(l)
	if err != nil {
		return err
	}
	_, err = db.exec(ctx, `INSERT INTO leases (`+leaseColumns+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)`,
		l.ID, l.Customer, l.OrderID, l.InvoiceID, l.PlanID, l.sshPublicKey, l.refundAddress,
		string(l.Status), int64(l.launchAttempts), l.InstanceID, l.Address, hostKeys, meter,
		micros(l.nextChange), l.credentials, micros(l.InstanceTerminatedAt),
		micros(l.CreatedAt), micros(l.UpdatedAt))
	if err != nil {
		return fmt.Errorf("billing: storing lease %s: %w", l.ID, err)
	}
	return nil
}

func updateLease(ctx context.Context, db sqlRunner, l *Lease) error {
	hostKeys, meter, err := encodeLeaseJSON(l)
	if err != nil {
		return err
	}
	n, err := db.exec(ctx, `UPDATE leases SET status = $1, launch_attempts = $2,
		instance_id = $3, address = $4, host_keys = $5, meter = $6, next_change = $7,
		credentials = $8, instance_terminated_at = $9, updated_at = $10 WHERE id = $11`,
		string(l.Status), int64(l.launchAttempts), l.InstanceID, l.Address, hostKeys, meter,
		micros(l.nextChange), l.credentials, micros(l.InstanceTerminatedAt),
		micros(l.UpdatedAt), l.ID)
	if err != nil {
		return fmt.Errorf("billing: updating lease %s: %w", l.ID, err)
	}
	if n != 1 {
		return fmt.Errorf("billing: lease %q: %w", l.ID, ErrNotFound)
	}
	return nil
}

func encodeLeaseJSON(l *Lease) (hostKeys, meter string, err error) {
	hk, err := json.Marshal(l.HostKeys)
	if err != nil {
		return "", "", fmt.Errorf("billing: encoding host keys of lease %s: %w", l.ID, err)
	}
	m, err := json.Marshal(l.Meter)
	if err != nil {
		return "", "", fmt.Errorf("billing: encoding metering of lease %s: %w", l.ID, err)
	}
	return string(hk), string(m), nil
}

func scanLease(rows interface{ Scan(...any) error }) (*Lease, error) {
	var l Lease
	var status, hostKeys, meter string
	var attempts, next, terminated, created, updated int64
	err := rows.Scan(&l.ID, &l.Customer, &l.OrderID, &l.InvoiceID, &l.PlanID, &l.sshPublicKey,
		&l.refundAddress, &status, &attempts, &l.InstanceID, &l.Address, &hostKeys, &meter,
		&next, &l.credentials, &terminated, &created, &updated)
	if err != nil {
		return nil, fmt.Errorf("billing: reading lease: %w", err)
	}
	l.Status, l.launchAttempts = LeaseStatus(status), int(attempts)
	l.nextChange, l.InstanceTerminatedAt = fromMicros(next), fromMicros(terminated)
	l.CreatedAt, l.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(hostKeys), &l.HostKeys); err != nil {
		return nil, fmt.Errorf("billing: decoding host keys of lease %s: %w", l.ID, err)
	}
	if err := json.Unmarshal([]byte(meter), &l.Meter); err != nil {
		return nil, fmt.Errorf("billing: decoding metering of lease %s: %w", l.ID, err)
	}
	return &l, nil
}

// withTimes fills the fields computed from the metering record at now.
func (l *Lease) withTimes(now time.Time) *Lease {
	l.State = l.Meter.State(now)
	l.StartedAt, l.EndsAt, l.GraceEndsAt = l.Meter.StartedAt, l.Meter.End(), l.Meter.GraceEnd()
	l.Suspended = l.Meter.Suspended()
	return l
}

func loadLease(ctx context.Context, db sqlRunner, id string) (*Lease, error) {
	leases, err := queryLeases(ctx, db, `WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(leases) == 0 {
		return nil, fmt.Errorf("billing: lease %q: %w", id, ErrNotFound)
	}
	return leases[0], nil
}

func queryLeases(ctx context.Context, db sqlRunner, where string, args ...any) ([]*Lease, error) {
	rows, err := db.query(ctx, `SELECT `+leaseColumns+` FROM leases `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("billing: reading leases: %w", err)
	}
	defer rows.Close()
	var out []*Lease
	for rows.Next() {
		l, err := scanLease(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// invoiceRecord is the service's note of what an invoice pays for.
type invoiceRecord struct {
	InvoiceID    string
	OrderID      string
	Customer     string
	PlanID       string
	Units        int64
	ExtendsLease string
	CreatedAt    time.Time
}

func insertInvoiceRecord(ctx context.Context, db sqlRunner, r invoiceRecord) error {
	_, err := db.exec(ctx, `INSERT INTO service_invoices (invoice_id, order_id, customer, plan,
		units, extends_lease, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`, r.InvoiceID, r.OrderID,
		r.Customer, r.PlanID, r.Units, r.ExtendsLease, micros(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("billing: recording invoice %s: %w", r.InvoiceID, err)
	}
	return nil
}

func queryInvoiceRecords(ctx context.Context, db sqlRunner, where string, args ...any) (
	[]invoiceRecord, error,
) {
	rows, err := db.query(ctx, `SELECT invoice_id, order_id, customer, plan, units,
		extends_lease, created_at FROM service_invoices `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("billing: reading invoice records: %w", err)
	}
	defer rows.Close()
	var out []invoiceRecord
	for rows.Next() {
		var r invoiceRecord
		var created int64
		err := rows.Scan(&r.InvoiceID, &r.OrderID, &r.Customer, &r.PlanID, &r.Units,
			&r.ExtendsLease, &created)
		if err != nil {
			return nil, fmt.Errorf("billing: reading invoice record: %w", err)
		}
		r.CreatedAt = fromMicros(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

func loadInvoiceRecord(ctx context.Context, db sqlRunner, invoiceID string) (invoiceRecord, error) {
	recs, err := queryInvoiceRecords(ctx, db, `WHERE invoice_id = $1`, invoiceID)
	if err != nil {
		return invoiceRecord{}, err
	}
	if len(recs) == 0 {
		return invoiceRecord{}, fmt.Errorf("billing: invoice record %q: %w", invoiceID,
			ErrNotFound)
	}
	return recs[0], nil
}

func saveCustomerKey(ctx context.Context, db sqlRunner, fingerprint, armored string,
	now time.Time,
) error {
	n, err := db.exec(ctx, `UPDATE customer_keys SET armored = $1, updated_at = $2
		WHERE fingerprint = $3`, armored, micros(now), fingerprint)
	if err == nil && n == 0 {
		_, err = db.exec(ctx, `INSERT INTO customer_keys (fingerprint, armored, updated_at)
			VALUES ($1, $2, $3)`, fingerprint, armored, micros(now))
	}
	if err != nil {
		return fmt.Errorf("billing: storing key of customer %s: %w", fingerprint, err)
	}
	return nil
}

func loadCustomerKey(ctx context.Context, db sqlRunner, fingerprint string) (string, error) {
	var armored string
	err := queryRow(ctx, db, []any{&armored},
		`SELECT armored FROM customer_keys WHERE fingerprint = $1`, fingerprint)
	if err == errNoRows {
		return "", fmt.Errorf("billing: key of customer %s: %w", fingerprint, ErrNotFound)
	}
	return armored, err
}
