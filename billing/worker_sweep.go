package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// sweepArgs is the periodic job that enqueues due timed work and has the gateway watch every
// open invoice again. It is the safety net under the jobs scheduled at each change,
// and the only scheduler when the service's clock is not the wall clock.
type sweepArgs struct{}

func (sweepArgs) Kind() string { return "instars_sweep" }

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	s *Service
}

func (w *sweepWorker) Timeout(*river.Job[sweepArgs]) time.Duration { return w.s.jobTimeout() }

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	if err := w.s.Tick(ctx); err != nil {
		return err
	}
	if err := w.s.watchOpenInvoices(ctx); err != nil {
		return err
	}
	return w.s.removeVanishedPayments(ctx)
}

// Tick enqueues the work that is due at the service clock's time: reminders and ends of
// leases, terminations not yet done, and expiry of invoices. The jobs then run as usual. The periodic sweep calls it;
// call it after moving a fake clock (tests, the all-in-one mode's fast-forward) instead of
// waiting for the sweep.
func (s *Service) Tick(ctx context.Context) error {
	return s.inTx(ctx, func(tx *serviceTx) error {
		leases, err := queryLeases(ctx, tx.db, `WHERE status = $1 AND next_change <> 0
			AND next_change <= $2`, string(LeaseRunning), micros(tx.now))
		if err != nil {
			return err
		}
		for _, l := range leases {
			err := tx.enqueue(ctx, leaseDueArgs{LeaseID: l.ID, Due: micros(l.nextChange)},
				&river.InsertOpts{UniqueOpts: uniqueByArgs})
			if err != nil {
				return err
			}
		}
		unterminated, err := queryLeases(ctx, tx.db, `WHERE status IN ($1, $2)
			AND instance_terminated_at = 0`, string(LeaseEnded), string(LeaseFailed))
		if err != nil {
			return err
		}
		for _, l := range unterminated {
			if err := tx.enqueue(ctx, terminateArgs{LeaseID: l.ID}, terminateOpts()); err != nil {
				return err
			}
		}
		invoices, err := tx.WatchedInvoices(ctx, tx.now, followDepth(tx.s.cfg.Gateway))
		if err != nil {
			return fmt.Errorf("billing: listing watched invoices: %w", err)
		}
		for _, inv := range invoices {
			var at time.Time
			switch {
			case inv.State == StateNew && !inv.ExpiresAt.After(tx.now):
				at = inv.ExpiresAt
			case inv.State == StateProcessing && !inv.MonitoringUntil.After(tx.now):
				at = inv.MonitoringUntil
			default:
				continue
			}
			err := tx.enqueue(ctx, invoiceDeadlineArgs{InvoiceID: inv.ID, At: micros(at)},
				&river.InsertOpts{UniqueOpts: uniqueByArgs})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// notifyArgs passes one stored alert to the Notifier.
type notifyArgs struct {
	AlertID string `json:"alert_id"`
}

func (notifyArgs) Kind() string { return "instars_notify" }

type notifyWorker struct {
	river.WorkerDefaults[notifyArgs]
	s *Service
}

func (w *notifyWorker) Timeout(*river.Job[notifyArgs]) time.Duration { return w.s.jobTimeout() }

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[notifyArgs]) error {
	var a Alert
	err := w.s.inTx(ctx, func(tx *serviceTx) error {
		var err error
		a, err = loadAlert(ctx, tx.db, job.Args.AlertID)
		return err
	})
	if err != nil {
		return err
	}
	return w.s.cfg.Notifier.Notify(ctx, a)
}
