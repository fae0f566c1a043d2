package billing

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// invoiceDeadlineArgs re-evaluates an invoice at its expiry or at the end of its monitoring
// window, when the clock alone changes its state (New to Expired, Processing to Invalid). At
// is the deadline in Unix microseconds.
type invoiceDeadlineArgs struct {
	InvoiceID string `json:"invoice_id"`
	At        int64  `json:"at"`
}

func (invoiceDeadlineArgs) Kind() string { return "instars_invoice_deadline" }

type invoiceDeadlineWorker struct {
	river.WorkerDefaults[invoiceDeadlineArgs]
	s *Service
}

// catchUpWait is how long a deadline waits for the gateway to catch up with the chain.
const catchUpWait = 5 * time.Second

func (w *invoiceDeadlineWorker) Timeout(*river.Job[invoiceDeadlineArgs]) time.Duration {
	return w.s.jobTimeout()
}

func (w *invoiceDeadlineWorker) Work(ctx context.Context, job *river.Job[invoiceDeadlineArgs]) error {
	s := w.s
	if early := fromMicros(job.Args.At).Sub(s.clock.Now()); early > 0 && s.wallTime {
		return river.JobSnooze(early)
	}
	if reporter, ok := s.cfg.Gateway.(SyncReporter); ok {
		synced, err := reporter.Synced(ctx)
		if err != nil || !synced {
			// Expiring now could miss a payment the gateway has not seen yet.
			s.logger.Info("invoice deadline waits for the gateway to catch up",
				"invoice_id", job.Args.InvoiceID, "error", err)
			return river.JobSnooze(catchUpWait)
		}
	}
	err := s.inTx(ctx, func(tx *serviceTx) error {
		inv, err := tx.Invoice(ctx, job.Args.InvoiceID)
		if err != nil {
			return err
		}
		return s.reevaluateInvoice(ctx, tx, inv)
	})
	if err != nil {
		return err
	}
	crashPoint(crashDeadlineAfterCommit)
	return nil
}
