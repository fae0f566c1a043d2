package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/instars/instars/metering"
)

// leaseDueArgs acts on a lease at one of its metering changes: it sends the reminders due and
// ends the lease at the end of its grace period. Due is the change's time in Unix
// microseconds, so each scheduled change runs once.
type leaseDueArgs struct {
	LeaseID string `json:"lease_id"`
	Due     int64  `json:"due"`
}

func (leaseDueArgs) Kind() string { return "instars_lease_due" }

type leaseDueWorker struct {
	river.WorkerDefaults[leaseDueArgs]
	s *Service
}

func (w *leaseDueWorker) Timeout(*river.Job[leaseDueArgs]) time.Duration {
	return w.s.jobTimeout()
}

func (w *leaseDueWorker) Work(ctx context.Context, job *river.Job[leaseDueArgs]) error {
	s := w.s
	due := fromMicros(job.Args.Due)
	if early := due.Sub(s.clock.Now()); early > 0 && s.wallTime {
		return river.JobSnooze(early)
	}
	err := s.inTx(ctx, func(tx *serviceTx) error {
		l, err := loadLease(ctx, tx.db, job.Args.LeaseID)
		if err != nil || l.Status != LeaseRunning {
			return err
		}
		d := l.Meter.Decide(tx.now)
		for _, r := range d.Reminders {
			if !l.Meter.MarkReminderSent(r.Key) {
				continue
			}
			view := reminderView{LeaseView: leaseView(l.withTimes(tx.now)), Reminder: r.Key,
				DueAt: r.DueAt}
			if err := tx.emit(EventLeaseReminder, l.ID, l.Customer, view); err != nil {
				return err
			}
		}
		if d.State == metering.StateMustTerminate {
			if _, err := l.Meter.Terminate("grace period ended", tx.now); err != nil {
				return err
			}
			l.Status = LeaseEnded
			s.logger.Info("lease ended", "lease_id", l.ID, "instance_id", l.InstanceID)
			if err := tx.emit(EventLeaseEnded, l.ID, l.Customer,
				leaseView(l.withTimes(tx.now))); err != nil {
				return err
			}
			err := tx.enqueue(ctx, terminateArgs{LeaseID: l.ID}, terminateOpts())
			if err != nil {
				return err
			}
		}
		return s.saveLeaseAndSchedule(ctx, tx, l)
	})
	if err != nil {
		return err
	}
	crashPoint(crashLeaseDueAfterCommit)
	return nil
}

// paidUntilArgs records the end of a lease's paid time on its instance. Until is that end in
// Unix microseconds, so each new end is tagged once.
type paidUntilArgs struct {
	LeaseID string `json:"lease_id"`
	Until   int64  `json:"until"`
}

func (paidUntilArgs) Kind() string { return "instars_tag_paid_until" }

type paidUntilWorker struct {
	river.WorkerDefaults[paidUntilArgs]
	s *Service
}

func (w *paidUntilWorker) Timeout(*river.Job[paidUntilArgs]) time.Duration {
	return w.s.jobTimeout()
}

func (w *paidUntilWorker) Work(ctx context.Context, job *river.Job[paidUntilArgs]) error {
	tagger, ok := w.s.cfg.Provisioner.(PaidUntilTagger)
	if !ok {
		return nil
	}
	l, err := w.s.Lease(ctx, job.Args.LeaseID)
	if err != nil {
		return err
	}
	if l.Status != LeaseRunning || !l.EndsAt.Equal(fromMicros(job.Args.Until)) {
		return nil // ended, or extended again: a newer job tags the newer end
	}
	return tagger.TagPaidUntil(ctx, l.InstanceID, l.EndsAt)
}

// tagPaidUntil queues the tagging of the lease's current end on its instance.
func (t *serviceTx) tagPaidUntil(ctx context.Context, l *Lease) error {
	if _, ok := t.s.cfg.Provisioner.(PaidUntilTagger); !ok || l.Status != LeaseRunning {
		return nil
	}
	return t.enqueue(ctx, paidUntilArgs{LeaseID: l.ID, Until: micros(l.Meter.End())},
		&river.InsertOpts{UniqueOpts: uniqueByArgs})
}

// terminateArgs terminates the instance of an ended or failed lease and deletes its key pair.
type terminateArgs struct {
	LeaseID string `json:"lease_id"`
}

func (terminateArgs) Kind() string { return "instars_terminate" }

type terminateWorker struct {
	river.WorkerDefaults[terminateArgs]
	s *Service
}

func (w *terminateWorker) Timeout(*river.Job[terminateArgs]) time.Duration {
	return w.s.jobTimeout()
}

// terminateOpts makes a termination unique per lease and retries it for days, at most five
// minutes apart. The sweep queues it again if River ever gives it up.
func terminateOpts() *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: uniqueByArgs, MaxAttempts: 1000}
}

// NextRetry follows the same schedule as provisioning.
func (w *terminateWorker) NextRetry(job *river.Job[terminateArgs]) time.Time {
	return w.s.cloudRetryAt(len(job.Errors))
}

// alertAfterTerminateFailures is the attempt after which a failing termination alerts the
// operator (once), because an instance nobody pays for keeps running meanwhile.
const alertAfterTerminateFailures = 3

func (w *terminateWorker) Work(ctx context.Context, job *river.Job[terminateArgs]) error {
	s := w.s
	l, err := s.Lease(ctx, job.Args.LeaseID)
	if err != nil {
		return err
	}
	if !l.InstanceTerminatedAt.IsZero() {
		return nil
	}
	crashPoint(crashTerminateBeforeCloud)
	if err := s.cfg.Provisioner.Terminate(ctx, l.ID, l.InstanceID); err != nil {
		s.logger.Warn("terminating instance failed; will retry", "lease_id", l.ID,
			"instance_id", l.InstanceID, "attempt", job.Attempt, "error", err)
		if job.Attempt == alertAfterTerminateFailures {
			alertErr := s.inTx(ctx, func(tx *serviceTx) error {
				return tx.alert(ctx, AlertTerminateFailed, l.ID, fmt.Sprintf(
					"instance %s of ended lease %s could not be terminated yet: %v",
					l.InstanceID, l.ID, err))
			})
			if alertErr != nil {
				s.logger.Error("storing alert failed", "lease_id", l.ID, "error", alertErr)
			}
		}
		return err
	}
	crashPoint(crashTerminateBeforeRecord)
	return s.inTx(ctx, func(tx *serviceTx) error {
		l, err := loadLease(ctx, tx.db, job.Args.LeaseID)
		if err != nil || !l.InstanceTerminatedAt.IsZero() {
			return err
		}
		l.InstanceTerminatedAt, l.UpdatedAt = tx.now, tx.now
		if err := updateLease(ctx, tx.db, l); err != nil {
			return err
		}
		s.logger.Info("instance terminated", "lease_id", l.ID, "instance_id", l.InstanceID)
		if l.InstanceID == "" {
			return nil
		}
		return tx.emit(EventInstanceTerminated, l.ID, l.Customer, leaseView(l.withTimes(tx.now)))
	})
}
