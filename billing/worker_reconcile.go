package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// reconcileArgs is the periodic job that compares the cloud with the leases, when the
// Provisioner is a Reconciler.
type reconcileArgs struct{}

func (reconcileArgs) Kind() string { return "instars_reconcile" }

type reconcileWorker struct {
	river.WorkerDefaults[reconcileArgs]
	s *Service
}

func (w *reconcileWorker) Timeout(*river.Job[reconcileArgs]) time.Duration {
	return w.s.jobTimeout()
}

func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[reconcileArgs]) error {
	return w.s.Reconcile(ctx)
}

// reconcileStartGrace is how long after a lease starts running Reconcile holds back the
// alert that its instance is missing. EC2's listings are eventually consistent: an instance
// launched moments ago may not be listed, nor found by its ID, for some seconds.
const reconcileStartGrace = 5 * time.Minute

// Reconcile compares the instances on the cloud with the leases, when the Provisioner is a
// Reconciler (it does nothing otherwise). It terminates a live instance whose lease has
// ended, has failed or runs another instance, and alerts the operator about instances of
// leases it does not know and about running leases whose instance is gone. A lease that
// started running less than reconcileStartGrace ago is not reported missing yet. The
// periodic reconcile job calls it; an operator may call it at any time.
func (s *Service) Reconcile(ctx context.Context) error {
	reconciler, ok := s.cfg.Provisioner.(Reconciler)
	if !ok {
		return nil
	}
	expected, err := s.expectedInstances(ctx)
	if err != nil {
		return err
	}
	report, err := reconciler.Reconcile(ctx, expected)
	if err != nil {
		return fmt.Errorf("billing: reconciling instances: %w", err)
	}
	// The leases are read again after the cloud's reply, so a lease that started, ended or
	// failed meanwhile is judged by its current status.
	var ids []string
	for _, in := range report.Unexpected {
		ids = append(ids, in.LeaseID)
	}
	for _, m := range report.Missing {
		ids = append(ids, m.LeaseID)
	}
	byID, err := s.leasesByID(ctx, ids)
	if err != nil {
		return err
	}
	var problems []error
	for _, in := range report.Unexpected {
		problems = append(problems, s.reconcileUnexpected(ctx, in, byID[in.LeaseID]))
	}
	now := s.clock.Now()
	for _, m := range report.Missing {
		l := byID[m.LeaseID]
		if l == nil || l.Status != LeaseRunning || l.InstanceID != m.InstanceID {
			continue // the lease ended or changed instance after the expected list was read
		}
		if now.Sub(l.StartedAt) < reconcileStartGrace {
			continue // the cloud may not list a new instance yet
		}
		problems = append(problems, s.alertOnce(ctx, AlertInstanceMissing, m.LeaseID,
			fmt.Sprintf("lease %s is running but its instance %s is gone from the cloud",
				m.LeaseID, m.InstanceID)))
	}
	return errors.Join(problems...)
}

// reconcileUnexpected handles a live instance that no running lease expects: l is the lease
// the instance is tagged with, or nil when the store has no such lease.
func (s *Service) reconcileUnexpected(ctx context.Context, in TaggedInstance, l *Lease) error {
	if l == nil {
		return s.alertOnce(ctx, AlertUnknownInstance, in.InstanceID,
			fmt.Sprintf("instance %s is tagged with lease %s, which this server does not "+
				"know; check it and terminate it if nobody pays for it", in.InstanceID,
				in.LeaseID))
	}
	if l.Status == LeaseProvisioning {
		return nil // its launch is under way
	}
	if l.InstanceID == in.InstanceID && l.InstanceTerminatedAt.IsZero() {
		// The lease started running after the expected list was read, or it ended and its
		// terminate job is under way.
		return nil
	}
	s.logger.Warn("terminating an instance no lease pays for", "instance_id",
		in.InstanceID, "lease_id", in.LeaseID, "lease_status", l.Status)
	if err := s.cfg.Provisioner.Terminate(ctx, in.LeaseID, in.InstanceID); err != nil {
		return err
	}
	return s.alertOnce(ctx, AlertUnpaidInstance, in.InstanceID,
		fmt.Sprintf("instance %s of lease %s (%s) was running unpaid and was terminated",
			in.InstanceID, in.LeaseID, l.Status))
}

// expectedInstances returns an ExpectedInstance for every running lease, however many
// there are.
func (s *Service) expectedInstances(ctx context.Context) ([]ExpectedInstance, error) {
	var out []ExpectedInstance
	err := s.inTx(ctx, func(tx *serviceTx) error {
		rows, err := tx.db.query(ctx, `SELECT id, instance_id FROM leases WHERE status = $1`,
			string(LeaseRunning))
		if err != nil {
			return fmt.Errorf("billing: listing running leases: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e ExpectedInstance
			if err := rows.Scan(&e.LeaseID, &e.InstanceID); err != nil {
				return fmt.Errorf("billing: reading running lease: %w", err)
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// leasesByID reads the leases with the IDs, in one transaction, with their times computed
// at the service clock's time. IDs not in the store are absent from the map.
func (s *Service) leasesByID(ctx context.Context, ids []string) (map[string]*Lease, error) {
	out := make(map[string]*Lease, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := s.inTx(ctx, func(tx *serviceTx) error {
		for _, id := range ids {
			if _, done := out[id]; done {
				continue
			}
			l, err := loadLease(ctx, tx.db, id)
			switch {
			case errors.Is(err, ErrNotFound):
				continue
			case err != nil:
				return err
			}
			out[id] = l.withTimes(tx.now)
		}
		return nil
	})
	return out, err
}

// alertOnce raises an alert unless one of the same kind about the same subject exists.
func (s *Service) alertOnce(ctx context.Context, kind AlertKind, subject, message string) error {
	return s.inTx(ctx, func(tx *serviceTx) error {
		var n int64
		err := queryRow(ctx, tx.db, []any{&n}, `SELECT COUNT(*) FROM operator_alerts
			WHERE kind = $1 AND subject = $2`, string(kind), subject)
		if err != nil || n > 0 {
			return err
		}
		return tx.alert(ctx, kind, subject, message)
	})
}

// PaymentMismatches are the invoices and leases whose payment and lease disagree, for the
// operator to check.
type PaymentMismatches struct {
	// SettledWithoutLease are the IDs of settled invoices that neither started a lease nor
	// extended one. Held late payments and payments that became refunds are among them.
	SettledWithoutLease []string
	// LeasesWithoutPayment are the IDs of leases whose first invoice is not settled.
	LeasesWithoutPayment []string
}

// PaymentMismatches compares every settled invoice with the leases, and every lease with
// its first invoice. The database does the comparison, so only the mismatches are read.
func (s *Service) PaymentMismatches(ctx context.Context) (PaymentMismatches, error) {
	out := PaymentMismatches{SettledWithoutLease: []string{}, LeasesWithoutPayment: []string{}}
	err := s.inTx(ctx, func(tx *serviceTx) error {
		// An extension is applied when its lease's metering record lists the invoice's ID.
		// The record is JSON written by encoding/json, so the ID appears as "id":"<ID>".
		// LIKE's own wildcards in the ID are escaped with '!'.
		err := eachRow(ctx, tx.db, `SELECT i.id FROM invoices i
			JOIN service_invoices r ON r.invoice_id = i.id
			WHERE i.state = $1 AND (
				(r.extends_lease = '' AND NOT EXISTS (
					SELECT 1 FROM leases l WHERE l.invoice_id = i.id))
				OR (r.extends_lease <> '' AND NOT EXISTS (
					SELECT 1 FROM leases l WHERE l.id = r.extends_lease
					AND l.meter LIKE ('%"id":"' || REPLACE(REPLACE(REPLACE(i.id,
						'!', '!!'), '%', '!%'), '_', '!_') || '"%') ESCAPE '!')))
			ORDER BY i.created_at, i.id`, func(rows sqlRows) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out.SettledWithoutLease = append(out.SettledWithoutLease, id)
			return nil
		}, int64(StateSettled))
		if err != nil {
			return fmt.Errorf("billing: finding settled invoices without a lease: %w", err)
		}
		err = eachRow(ctx, tx.db, `SELECT l.id FROM leases l
			LEFT JOIN invoices i ON i.id = l.invoice_id
			WHERE i.id IS NULL OR i.state <> $1
			ORDER BY l.created_at, l.id`, func(rows sqlRows) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out.LeasesWithoutPayment = append(out.LeasesWithoutPayment, id)
			return nil
		}, int64(StateSettled))
		if err != nil {
			return fmt.Errorf("billing: finding leases without a settled invoice: %w", err)
		}
		return nil
	})
	return out, err
}
