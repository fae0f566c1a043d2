package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/riverqueue/river"

	"github.com/instars/instars/pgp"
)

// provisionArgs launches the instance of a paid lease. It is unique per lease, and inserted in
// the transaction that settles the lease's invoice.
type provisionArgs struct {
	LeaseID string `json:"lease_id"`
}

func (provisionArgs) Kind() string { return "instars_provision" }

type provisionWorker struct {
	river.WorkerDefaults[provisionArgs]
	s *Service
}

// NextRetry waits CloudRetryBase after the first failure and twice as long after each next
// one, up to five minutes.
func (w *provisionWorker) NextRetry(job *river.Job[provisionArgs]) time.Time {
	return w.s.cloudRetryAt(len(job.Errors))
}

// cloudRetryAt returns when to call the cloud again after the given number of failures.
func (s *Service) cloudRetryAt(failures int) time.Time {
	base := cmpDuration(s.cfg.CloudRetryBase, 10*time.Second)
	wait := base << min(failures, 20)
	return time.Now().Add(min(wait, 5*time.Minute))
}

// Timeout leaves a launch time to wait for the instance to run.
func (w *provisionWorker) Timeout(*river.Job[provisionArgs]) time.Duration {
	return cmpDuration(w.s.cfg.ProvisionTimeout, 30*time.Minute)
}

func (w *provisionWorker) Work(ctx context.Context, job *river.Job[provisionArgs]) error {
	s := w.s
	l, err := s.Lease(ctx, job.Args.LeaseID)
	if err != nil {
		return err
	}
	if l.Status != LeaseProvisioning {
		return nil // done before a crash, or given up
	}
	if l.Meter.Suspended() {
		// The payment was reorganised away before the instance ran: wait for it to return
		// rather than launch an instance that may never be paid for.
		return river.JobSnooze(time.Minute)
	}
	plan, ok := s.plans[l.PlanID]
	if !ok {
		return s.failLaunch(ctx, l, Instance{}, fmt.Errorf("%w: plan %q is no longer offered",
			ErrLaunchRejected, l.PlanID))
	}
	crashPoint(crashProvisionBeforeLaunch)
	inst, err := s.cfg.Provisioner.Launch(ctx, LaunchRequest{
		LeaseID: l.ID, OrderID: l.OrderID, Attempt: l.launchAttempts, ImageID: plan.ImageID,
		InstanceType: plan.InstanceType, SSHPublicKey: l.sshPublicKey,
		PaidUntil: launchPaidUntil(l),
	})
	if err != nil {
		s.logger.Warn("launch failed", "lease_id", l.ID, "attempt", job.Attempt,
			"max_attempts", job.MaxAttempts, "error", err)
		if errors.Is(err, ErrLaunchRejected) || job.Attempt >= job.MaxAttempts {
			return s.failLaunch(ctx, l, inst, err)
		}
		if recErr := s.recordLaunchError(ctx, l.ID, inst, err); recErr != nil {
			return recErr
		}
		return err
	}
	crashPoint(crashAfterLaunchBeforeRecord)
	if err := s.recordLaunch(ctx, l.ID, inst); err != nil {
		s.logger.Error("recording the launched instance failed; will retry", "lease_id", l.ID,
			"instance_id", inst.ID, "error", err)
		return err
	}
	crashPoint(crashProvisionAfterRecord)
	return nil
}

// recordLaunch marks the lease running from now, which starts its time, and seals the
// customer's credentials.
func (s *Service) recordLaunch(ctx context.Context, leaseID string, inst Instance) error {
	return s.inTx(ctx, func(tx *serviceTx) error {
		l, err := loadLease(ctx, tx.db, leaseID)
		if err != nil || l.Status != LeaseProvisioning {
			return err
		}
		l.Status, l.InstanceID, l.Address = LeaseRunning, inst.ID, inst.Address
		l.HostKeys = append([]HostKey{}, inst.HostKeys...)
		if _, err := l.Meter.Start(tx.now); err != nil {
			return fmt.Errorf("billing: starting lease %s: %w", l.ID, err)
		}
		if err := s.sealCredentials(ctx, tx, l); err != nil {
			return err
		}
		if err := s.saveLeaseAndSchedule(ctx, tx, l); err != nil {
			return err
		}
		if err := tx.tagPaidUntil(ctx, l); err != nil {
			return err
		}
		s.logger.Info("instance running", "lease_id", l.ID, "instance_id", inst.ID)
		view := leaseView(l.withTimes(tx.now))
		if err := tx.emit(EventInstanceLaunched, l.ID, l.Customer, view); err != nil {
			return err
		}
		return tx.emit(EventLeaseStarted, l.ID, l.Customer, view)
	})
}

// recordLaunchError notes a failed attempt: the instance it left, to terminate later, and a
// new launch attempt number when the instance itself failed (the same number would return it).
func (s *Service) recordLaunchError(ctx context.Context, leaseID string, inst Instance,
	launchErr error,
) error {
	return s.inTx(ctx, func(tx *serviceTx) error {
		l, err := loadLease(ctx, tx.db, leaseID)
		if err != nil || l.Status != LeaseProvisioning {
			return err
		}
		if inst.ID != "" {
			l.InstanceID = inst.ID
		}
		if errors.Is(launchErr, ErrInstanceFailed) {
			l.launchAttempts++
		}
		l.UpdatedAt = tx.now
		return updateLease(ctx, tx.db, l)
	})
}

// failLaunch gives a lease up: it records the failure, a refund of what was paid and an
// operator alert, and queues the clean-up of whatever the attempts left on the cloud.
func (s *Service) failLaunch(ctx context.Context, lease *Lease, inst Instance,
	launchErr error,
) error {
	return s.inTx(ctx, func(tx *serviceTx) error {
		l, err := loadLease(ctx, tx.db, lease.ID)
		if err != nil || l.Status != LeaseProvisioning {
			return err
		}
		if inst.ID != "" {
			l.InstanceID = inst.ID
		}
		l.Status = LeaseFailed
		if _, err := l.Meter.Terminate("instance could not be launched", tx.now); err != nil {
			return err
		}
		if err := s.saveLeaseAndSchedule(ctx, tx, l); err != nil {
			return err
		}
		paid, err := leasePaid(ctx, tx, l)
		if err != nil {
			return err
		}
		inv, err := tx.Invoice(ctx, l.InvoiceID)
		if err != nil {
			return err
		}
		rec, err := loadInvoiceRecord(ctx, tx.db, inv.ID)
		if err != nil {
			return err
		}
		if err := s.owe(ctx, tx, inv, rec, l.ID, RefundNotProvisioned, paid,
			l.refundAddress); err != nil {
			return err
		}
		if err := tx.emit(EventLeaseFailed, l.ID, l.Customer, leaseView(l.withTimes(tx.now))); err != nil {
			return err
		}
		if err := tx.alert(ctx, AlertLaunchFailed, l.ID, fmt.Sprintf(
			"lease %s was paid but its instance could not be launched (%v); a refund of "+
				"%d sat is recorded", l.ID, launchErr, int64(paid))); err != nil {
			return err
		}
		return tx.enqueue(ctx, terminateArgs{LeaseID: l.ID}, terminateOpts())
	})
}

// leasePaid sums what the lease's invoices asked for and received, without the excess of an
// overpayment, which has its own refund.
func leasePaid(ctx context.Context, tx *serviceTx, l *Lease) (btcutil.Amount, error) {
	var total btcutil.Amount
	for _, ext := range l.Meter.Extensions {
		inv, err := tx.Invoice(ctx, ext.ID)
		if err != nil {
			return 0, err
		}
		total += min(inv.Paid, inv.Amount)
	}
	return total, nil
}

// Credentials is the customer's access to a running instance. The service signs them with the
// server's key and encrypts them to the customer's key.
type Credentials struct {
	LeaseID     string    `json:"lease_id"`
	InstanceID  string    `json:"instance_id"`
	Address     string    `json:"address"`
	HostKeys    []HostKey `json:"host_keys"`
	StartedAt   time.Time `json:"started_at"`
	EndsAt      time.Time `json:"ends_at"`
	GraceEndsAt time.Time `json:"grace_ends_at"`
}

// sealCredentials seals the lease's current credentials to its customer's key.
func (s *Service) sealCredentials(ctx context.Context, tx *serviceTx, l *Lease) error {
	armored, err := loadCustomerKey(ctx, tx.db, l.Customer)
	if err != nil {
		return err
	}
	key, err := pgp.ParsePublicKey([]byte(armored), tx.now)
	if err != nil {
		return fmt.Errorf("billing: key of customer %s: %w", l.Customer, err)
	}
	payload, err := json.Marshal(Credentials{
		LeaseID: l.ID, InstanceID: l.InstanceID, Address: l.Address, HostKeys: l.HostKeys,
		StartedAt: l.Meter.StartedAt, EndsAt: l.Meter.End(), GraceEndsAt: l.Meter.GraceEnd(),
	})
	if err != nil {
		return fmt.Errorf("billing: encoding credentials of lease %s: %w", l.ID, err)
	}
	sealed, err := s.cfg.ServerKey.SealCredentials(payload, key)
	if err != nil {
		return fmt.Errorf("billing: sealing credentials of lease %s: %w", l.ID, err)
	}
	l.credentials = string(sealed)
	return nil
}

// launchPaidUntil returns the paid-until time a launch tags the instance with: the lease's
// creation plus its first purchase. It is an estimate, because the paid time starts only once
// the instance runs, and tagPaidUntil replaces it then. It must not depend on the clock or on
// later extensions: a repeated launch of the same attempt has to send the same tags, or EC2
// rejects it under the client token with IdempotentParameterMismatch.
func launchPaidUntil(l *Lease) time.Time {
	var seconds int64
	if len(l.Meter.Extensions) > 0 {
		seconds = l.Meter.Extensions[0].Seconds
	}
	return l.CreatedAt.Add(time.Duration(seconds) * time.Second)
}
