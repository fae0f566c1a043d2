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

// Reconcile compares the instances on the cloud with the leases, when the Provisioner is a
// Reconciler (it does nothing otherwise). It terminates a live instance whose lease has
// ended, has failed or runs another instance, and alerts the operator about instances of
// leases it does not know and about running leases whose instance is gone. The periodic
// reconcile job calls it; an operator may call it at any time.
func (s *Service) Reconcile(ctx context.Context) error {
	reconciler, ok := s.cfg.Provisioner.(Reconciler)
	if !ok {
		return nil
	}
	leases, err := s.ListLeases(ctx, "")
	if err != nil {
		return err
	}
	byID := map[string]*Lease{}
	var expected []ExpectedInstance
	for _, l := range leases {
		byID[l.ID] = l
		if l.Status == LeaseRunning {
			expected = append(expected, ExpectedInstance{LeaseID: l.ID, InstanceID: l.InstanceID})
		}
	}
	report, err := reconciler.Reconcile(ctx, expected)
	if err != nil {
		return fmt.Errorf("billing: reconciling instances: %w", err)
	}
	var problems []error
	for _, in := range report.Unexpected {
		l, known := byID[in.LeaseID]
		if known && l.Status == LeaseProvisioning {
			continue // its launch is under way
		}
		if known && l.InstanceID == in.InstanceID && l.InstanceTerminatedAt.IsZero() {
			continue // the lease ended and its terminate job is under way
		}
		if !known {
			problems = append(problems, s.alertOnce(ctx, AlertUnknownInstance, in.InstanceID,
				fmt.Sprintf("instance %s is tagged with lease %s, which this server does not "+
					"know; check it and terminate it if nobody pays for it", in.InstanceID,
					in.LeaseID)))
			continue
		}
		s.logger.Warn("terminating an instance no lease pays for", "instance_id",
			in.InstanceID, "lease_id", in.LeaseID, "lease_status", l.Status)
		if err := s.cfg.Provisioner.Terminate(ctx, in.LeaseID, in.InstanceID); err != nil {
			problems = append(problems, err)
			continue
		}
		problems = append(problems, s.alertOnce(ctx, AlertUnpaidInstance, in.InstanceID,
			fmt.Sprintf("instance %s of lease %s (%s) was running unpaid and was terminated",
				in.InstanceID, in.LeaseID, l.Status)))
	}
	for _, m := range report.Missing {
		problems = append(problems, s.alertOnce(ctx, AlertInstanceMissing, m.LeaseID,
			fmt.Sprintf("lease %s is running but its instance %s is gone from the cloud",
				m.LeaseID, m.InstanceID)))
	}
	return errors.Join(problems...)
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
