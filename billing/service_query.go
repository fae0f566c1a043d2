package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/riverqueue/river"

	"github.com/instars/instars/metering"
)

// ErrCredentialsNotReady is returned by Credentials while the lease's instance is not running
// yet.
var ErrCredentialsNotReady = errors.New("billing: credentials not ready: the instance does " +
	"not run yet")

// maxListed bounds the rows the list methods return: they return the newest maxListed rows.
const maxListed = 10000

// Plans returns the plans customers can order, in configuration order.
func (s *Service) Plans() []metering.Plan { return slices.Clone(s.cfg.Plans) }

// Invoice returns the invoice with the ID, or an error wrapping ErrNotFound.
func (s *Service) Invoice(ctx context.Context, id string) (*Invoice, error) {
	return s.store.Invoice(ctx, id)
}

// Payments returns the payments seen for the invoice, oldest first.
func (s *Service) Payments(ctx context.Context, invoiceID string) ([]Payment, error) {
	return s.store.Payments(ctx, invoiceID)
}

// Lease returns the lease with the ID, its State computed at the service clock's time, or an
// error wrapping ErrNotFound.
func (s *Service) Lease(ctx context.Context, id string) (*Lease, error) {
	var l *Lease
	err := s.inTx(ctx, func(tx *serviceTx) error {
		var err error
		l, err = loadLease(ctx, tx.db, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l.withTimes(s.clock.Now()), nil
}

// LeaseForInvoice returns the lease an invoice paid for (its first invoice or an extension),
// or an error wrapping ErrNotFound while there is none.
func (s *Service) LeaseForInvoice(ctx context.Context, invoiceID string) (*Lease, error) {
	var l *Lease
	err := s.inTx(ctx, func(tx *serviceTx) error {
		rec, err := loadInvoiceRecord(ctx, tx.db, invoiceID)
		if err != nil {
			return err
		}
		l, err = leaseForInvoice(ctx, tx, rec)
		return err
	})
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("billing: lease for invoice %q: %w", invoiceID, ErrNotFound)
	}
	return l.withTimes(s.clock.Now()), nil
}

// Credentials returns the lease's credentials (address, host key fingerprints, lease end) as
// an ASCII-armored OpenPGP message signed by the server and encrypted to the customer. They
// are sealed again when an extension moves the end.
func (s *Service) Credentials(ctx context.Context, leaseID string) (string, error) {
	l, err := s.Lease(ctx, leaseID)
	if err != nil {
		return "", err
	}
	if l.credentials == "" {
		return "", fmt.Errorf("billing: lease %s: %w", leaseID, ErrCredentialsNotReady)
	}
	return l.credentials, nil
}

// ListInvoices returns the customer's newest invoices, at most 10000, oldest first; an
// empty customer lists every customer's, for the operator. Totals counts every invoice.
func (s *Service) ListInvoices(ctx context.Context, customer string) ([]*Invoice, error) {
	var out []*Invoice
	err := s.inTx(ctx, func(tx *serviceTx) error {
		recs, err := queryInvoiceRecords(ctx, tx.db, `WHERE ($1 = '' OR customer = $1)
			ORDER BY created_at DESC, invoice_id DESC LIMIT $2`, customer, int64(maxListed))
		if err != nil {
			return err
		}
		slices.Reverse(recs)
		for _, r := range recs {
			inv, err := tx.Invoice(ctx, r.InvoiceID)
			if err != nil {
				return err
			}
			out = append(out, inv)
		}
		return nil
	})
	return out, err
}

// ListLeases returns the customer's newest leases, at most 10000, oldest first; an empty
// customer lists every customer's, for the operator. RunningLeases returns every running
// lease and Totals counts every lease.
func (s *Service) ListLeases(ctx context.Context, customer string) ([]*Lease, error) {
	var out []*Lease
	err := s.inTx(ctx, func(tx *serviceTx) error {
		var err error
		out, err = queryLeases(ctx, tx.db, `WHERE ($1 = '' OR customer = $1)
			ORDER BY created_at DESC, id DESC LIMIT $2`, customer, int64(maxListed))
		return err
	})
	slices.Reverse(out)
	now := s.clock.Now()
	for _, l := range out {
		l.withTimes(now)
	}
	return out, err
}

// RunningLeases returns every lease whose status is LeaseRunning, however many there are,
// oldest first.
func (s *Service) RunningLeases(ctx context.Context) ([]*Lease, error) {
	var out []*Lease
	err := s.inTx(ctx, func(tx *serviceTx) error {
		var err error
		out, err = queryLeases(ctx, tx.db, `WHERE status = $1 ORDER BY created_at, id`,
			string(LeaseRunning))
		return err
	})
	now := s.clock.Now()
	for _, l := range out {
		l.withTimes(now)
	}
	return out, err
}

// HeldLatePayments returns every invoice that waits for AcceptLatePayment or
// DeclineLatePayment, oldest first. The database selects the settled invoices paid late
// that have neither a lease nor a refund, so only those are read.
func (s *Service) HeldLatePayments(ctx context.Context) ([]*Invoice, error) {
	var out []*Invoice
	err := s.inTx(ctx, func(tx *serviceTx) error {
		recs, err := queryInvoiceRecords(ctx, tx.db, `WHERE invoice_id IN (
			SELECT i.id FROM invoices i WHERE i.state = $1 AND i.status = $2
			AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.invoice_id = i.id)
			AND NOT EXISTS (SELECT 1 FROM refunds f WHERE f.invoice_id = i.id
				AND f.reason IN ($3, $4)))
			ORDER BY created_at, invoice_id`, int64(StateSettled), int64(StatusPaidLate),
			string(RefundLateDeclined), string(RefundLeaseEnded))
		if err != nil {
			return err
		}
		for _, rec := range recs {
			inv, err := tx.Invoice(ctx, rec.InvoiceID)
			if err != nil {
				return err
			}
			held, err := latePaymentHeld(ctx, tx, inv, rec)
			if err != nil {
				return err
			}
			if held {
				out = append(out, inv)
			}
		}
		return nil
	})
	return out, err
}

// LatePaymentHeld reports whether the invoice waits for AcceptLatePayment or
// DeclineLatePayment, as HeldLatePayments would list it.
func (s *Service) LatePaymentHeld(ctx context.Context, invoiceID string) (bool, error) {
	var held bool
	err := s.inTx(ctx, func(tx *serviceTx) error {
		inv, err := tx.Invoice(ctx, invoiceID)
		if err != nil {
			return err
		}
		if inv.State != StateSettled || inv.Status != StatusPaidLate {
			return nil
		}
		rec, err := loadInvoiceRecord(ctx, tx.db, invoiceID)
		if err != nil {
			return err
		}
		held, err = latePaymentHeld(ctx, tx, inv, rec)
		return err
	})
	return held, err
}

// latePaymentHeld reports whether a settled invoice paid after its expiry still waits for
// the operator: it neither bought its lease or extension nor became a refund. That happens
// under LateHold, or to invoices held before the policy changed. An accepted extension of a
// lease that had ended meanwhile became a RefundLeaseEnded refund, so it is decided too.
func latePaymentHeld(ctx context.Context, tx *serviceTx, inv *Invoice, rec invoiceRecord) (
	bool, error,
) {
	if inv.State != StateSettled || inv.Status != StatusPaidLate {
		return false, nil
	}
	l, err := leaseForInvoice(ctx, tx, rec)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	if l != nil && (rec.ExtendsLease == "" || extensionApplied(l, inv.ID)) {
		return false, nil
	}
	var refunds int64
	err = queryRow(ctx, tx.db, []any{&refunds}, `SELECT COUNT(*) FROM refunds
		WHERE invoice_id = $1 AND reason IN ($2, $3)`, inv.ID, string(RefundLateDeclined),
		string(RefundLeaseEnded))
	return refunds == 0, err
}

// ListEvents returns the newest stored events about one invoice, lease or refund (all
// events when subject is empty), at most limit (10000 when limit is 0 or less), oldest
// first.
func (s *Service) ListEvents(ctx context.Context, subject string, limit int) ([]Event, error) {
	if limit <= 0 || limit > maxListed {
		limit = maxListed
	}
	var out []Event
	err := s.inTx(ctx, func(tx *serviceTx) error {
		var err error
		out, err = listEvents(ctx, tx.db, subject, limit)
		return err
	})
	return out, err
}

// WebhookDeliveries returns the newest 10000 entries of the delivery log of an event (of
// every event when eventID is empty), oldest first.
func (s *Service) WebhookDeliveries(ctx context.Context, eventID string) ([]WebhookDelivery,
	error,
) {
	var out []WebhookDelivery
	err := s.inTx(ctx, func(tx *serviceTx) error {
		var err error
		out, err = listDeliveries(ctx, tx.db, eventID, maxListed)
		return err
	})
	return out, err
}

// RedeliverWebhook sends a stored event to the endpoint again, with the same event ID and the
// usual retries, for an operator whose receiver lost it or was down past the retries.
func (s *Service) RedeliverWebhook(ctx context.Context, eventID, endpoint string) error {
	ep, ok := s.webhooks.endpoints[endpoint]
	if !ok {
		return fmt.Errorf("billing: no webhook endpoint named %q", endpoint)
	}
	return s.inTx(ctx, func(tx *serviceTx) error {
		if _, err := loadEvent(ctx, tx.db, eventID); err != nil {
			return err
		}
		args := webhookArgs{EventID: eventID, Endpoint: endpoint, Redelivery: NewID("rdl")}
		return tx.enqueue(ctx, args, &river.InsertOpts{MaxAttempts: webhookMaxAttempts(ep)})
	})
}

// Refunds returns refunds, oldest first, of one customer (all when customer is empty) in one
// state (all when state is empty).
func (s *Service) Refunds(ctx context.Context, customer string, state RefundState) ([]Refund,
	error,
) {
	var out []Refund
	err := s.inTx(ctx, func(tx *serviceTx) error {
		var err error
		out, err = listRefunds(ctx, tx.db, customer, state)
		return err
	})
	return out, err
}

// MarkRefundPaid records the txid of the transaction with which the operator paid a refund.
// Repeating it with the same txid changes nothing.
func (s *Service) MarkRefundPaid(ctx context.Context, id, txid string) (Refund, error) {
	var r Refund
	err := s.inTx(ctx, func(tx *serviceTx) error {
		var changed bool
		var err error
		r, changed, err = markRefundPaid(ctx, tx.db, id, txid, tx.now)
		if err != nil || !changed {
			return err
		}
		return tx.emit(EventRefundPaid, r.ID, r.Customer, refundView(r))
	})
	return r, err
}

// SetRefundAddress gives a refund the address the customer sent after it was recorded
// without one.
func (s *Service) SetRefundAddress(ctx context.Context, id, address string) (Refund, error) {
	var r Refund
	err := s.inTx(ctx, func(tx *serviceTx) error {
		var err error
		r, err = setRefundAddress(ctx, tx.db, id, address, s.cfg.Network, tx.now)
		return err
	})
	return r, err
}

// Alerts returns the newest operator alerts, at most limit (10000 when 0 or less), oldest
// first.
func (s *Service) Alerts(ctx context.Context, limit int) ([]Alert, error) {
	if limit <= 0 || limit > maxListed {
		limit = maxListed
	}
	var out []Alert
	err := s.inTx(ctx, func(tx *serviceTx) error {
		var err error
		out, err = listAlerts(ctx, tx.db, limit)
		return err
	})
	return out, err
}
