package billing

import (
	"time"

	"context"
	"errors"
	"fmt"
	"github.com/btcsuite/btcd/btcutil"
	"strings"

	"github.com/riverqueue/river"

	"github.com/instars/instars/metering"
)

// SyncReporter is implemented by a Gateway that can tell whether it has caught up with the
// chain. The service checks it before expiring an invoice, so that a payment made while the
// node was down is found before its invoice is declared expired. A Gateway without it is
// taken to be always caught up.
type SyncReporter interface {
	// Synced reports whether the gateway has processed everything up to the chain's tip.
	Synced(ctx context.Context) (bool, error)
}

// HandlePayment records a payment report from the gateway and moves the invoice on: to
// Processing, Settled (which provisions or extends a lease), back from Settled when a
// reorganisation took the payment away (which suspends the lease), and so on. It is the
// PaymentSink the service runs the gateway with; reports are idempotent, so the gateway may
// repeat one after a crash. A report for an unknown destination is ignored.
func (s *Service) HandlePayment(ctx context.Context, update PaymentUpdate) error {
	for attempt := 1; ; attempt++ {
		err := s.inTx(ctx, func(tx *serviceTx) error {
			inv, err := tx.InvoiceByDestination(ctx, update.Destination)
			if errors.Is(err, ErrNotFound) {
				s.logger.Debug("payment to an unknown destination ignored",
					"destination", update.Destination, "txid", update.Payment.TxID)
				return nil
			}
			if err != nil {
				return err
			}
			p := update.Payment
			p.InvoiceID = inv.ID
			if p.SeenAt.IsZero() {
				p.SeenAt = tx.now
			}
			if p.UpdatedAt.IsZero() {
				p.UpdatedAt = tx.now
			}
			if _, err := tx.SavePayment(ctx, p); err != nil {
				return err
			}
			return s.reevaluateInvoice(ctx, tx, inv)
		})
		// Another writer (a deadline job) updated the invoice first: read it again.
		if errors.Is(err, ErrConflict) && attempt < 5 {
			continue
		}
		if err != nil {
			return fmt.Errorf("billing: handling payment %s:%d: %w", update.Payment.TxID,
				update.Payment.Vout, err)
		}
		crashPoint(crashPaymentAfterCommit)
		return nil
	}
}

// reevaluateInvoice computes the invoice's state from its payments at the transaction's time,
// stores the change and acts on it in the same transaction.
func (s *Service) reevaluateInvoice(ctx context.Context, tx *serviceTx, inv *Invoice) error {
	payments, err := tx.Payments(ctx, inv.ID)
	if err != nil {
		return err
	}
	upd, err := NextInvoiceState(inv, payments, tx.now, MarkNone)
	if err != nil {
		return err
	}
	if !upd.Changed {
		return nil
	}
	before := *inv
	upd.Apply(inv)
	inv.UpdatedAt = tx.now
	if err := tx.UpdateInvoice(ctx, inv); err != nil {
		return err
	}
	rec, err := loadInvoiceRecord(ctx, tx.db, inv.ID)
	if err != nil {
		return err
	}
	if err := emitInvoiceEvents(tx, &before, inv, upd, rec.Customer); err != nil {
		return err
	}
	s.logger.Info("invoice changed", "invoice_id", inv.ID, "state", inv.State.String(),
		"status", inv.Status.String(), "paid_sat", int64(inv.Paid))
	switch {
	case upd.Reverted:
		return s.onSettlementReverted(ctx, tx, inv, rec)
	case upd.Settled && before.SettlementReverted:
		return s.onSettlementRestored(ctx, tx, inv, rec)
	case upd.Settled:
		return s.onSettled(ctx, tx, inv, rec)
	case inv.State == StateSettled && inv.Confirmed > before.Confirmed &&
		inv.Confirmed > inv.Amount:
		// A further payment to an invoice already settled has met the policy.
		return s.oweExcess(ctx, tx, inv, rec)
	}
	return nil
}

// oweExcess records, or raises, the refund of what an invoice received beyond its amount.
// Only payments that meet the confirmation policy count, because an unconfirmed payment may
// still be replaced or vanish. A fee bump made while the server was down leaves the original
// on record until the gateway reports it gone, and refunding it would pay out money never
// received.
func (s *Service) oweExcess(ctx context.Context, tx *serviceTx, inv *Invoice,
	rec invoiceRecord,
) error {
	excess := inv.Confirmed - inv.Amount
	raised, err := tx.db.exec(ctx, `UPDATE refunds SET amount = $1, updated_at = $2
		WHERE invoice_id = $3 AND reason = $4 AND state <> $5 AND amount < $1`,
		int64(excess), micros(tx.now), inv.ID, string(RefundOverpaid), string(RefundPaid))
	if err != nil {
		return fmt.Errorf("billing: raising the refund of invoice %s: %w", inv.ID, err)
	}
	if raised > 0 {
		return tx.alert(ctx, AlertRefundDue, inv.ID, fmt.Sprintf("invoice %s received more: "+
			"its overpayment refund is now %d sat", inv.ID, int64(excess)))
	}
	exists, err := hasRefund(ctx, tx, inv.ID, RefundOverpaid)
	if err != nil {
		return err
	}
	if exists {
		// The refund was already paid (or covers this amount); what came after is for the
		// operator to settle by hand.
		return tx.alert(ctx, AlertRefundDue, inv.ID, fmt.Sprintf("invoice %s has received "+
			"%d sat beyond its amount; compare with the refunds already recorded", inv.ID,
			int64(excess)))
	}
	order, err := tx.Order(ctx, inv.OrderID)
	if err != nil {
		return err
	}
	return s.owe(ctx, tx, inv, rec, rec.ExtendsLease, RefundOverpaid, excess,
		order.Payload.RefundAddress)
}

func emitInvoiceEvents(tx *serviceTx, before, inv *Invoice, upd InvoiceUpdate,
	customer string,
) error {
	var kinds []EventKind
	if inv.Paid > before.Paid {
		kinds = append(kinds, EventInvoicePaymentReceived)
	}
	if inv.Status == StatusPaidLate && before.Status != StatusPaidLate {
		kinds = append(kinds, EventInvoicePaidLate)
	}
	if upd.Reverted {
		kinds = append(kinds, EventInvoiceReverted)
	}
	if inv.State != before.State {
		switch inv.State {
		case StateProcessing:
			kinds = append(kinds, EventInvoiceProcessing)
		case StateSettled:
			kinds = append(kinds, EventInvoiceSettled)
		case StateExpired:
			kinds = append(kinds, EventInvoiceExpired)
		case StateInvalid:
			kinds = append(kinds, EventInvoiceInvalid)
		}
	}
	for _, kind := range kinds {
		if err := tx.emit(kind, inv.ID, customer, invoiceView(inv)); err != nil {
			return err
		}
	}
	return nil
}

// onSettled turns a newly settled invoice into a lease or an extension, and an overpayment or
// a declined late payment into a refund.
func (s *Service) onSettled(ctx context.Context, tx *serviceTx, inv *Invoice,
	rec invoiceRecord,
) error {
	order, err := tx.Order(ctx, inv.OrderID)
	if err != nil {
		return err
	}
	if inv.Status == StatusPaidLate {
		switch s.cfg.LatePayments {
		case LateDecline:
			return s.owe(ctx, tx, inv, rec, "", RefundLateDeclined, inv.Paid,
				order.Payload.RefundAddress)
		case LateHold:
			return tx.alert(ctx, AlertLatePayment, inv.ID, fmt.Sprintf("invoice %s was paid "+
				"only after its expiry: accept it with AcceptLatePayment or decline it with "+
				"DeclineLatePayment, which records a refund", inv.ID))
		}
	}
	return s.fulfil(ctx, tx, inv, rec, order)
}

// fulfil delivers what a settled invoice paid for: a new lease or an extension, and a refund
// of any excess.
func (s *Service) fulfil(ctx context.Context, tx *serviceTx, inv *Invoice, rec invoiceRecord,
	order *Order,
) error {
	refundTo := order.Payload.RefundAddress
	if inv.Confirmed > inv.Amount {
		if err := s.oweExcess(ctx, tx, inv, rec); err != nil {
			return err
		}
	}
	if rec.ExtendsLease != "" {
		return s.applyExtension(ctx, tx, inv, rec, refundTo)
	}
	return s.createLease(ctx, tx, inv, rec, order)
}

// owe records a refund and alerts the operator.
func (s *Service) owe(ctx context.Context, tx *serviceTx, inv *Invoice, rec invoiceRecord,
	leaseID string, reason RefundReason, amount btcutil.Amount, address string,
) error {
	r := Refund{ID: NewID("ref"), Customer: rec.Customer, InvoiceID: inv.ID, LeaseID: leaseID,
		Reason: reason, Amount: amount, Address: address, State: RefundRequested,
		CreatedAt: tx.now, UpdatedAt: tx.now}
	if address == "" {
		r.State = RefundAddressMissing
	}
	inserted, err := insertRefund(ctx, tx.db, r)
	if err != nil || !inserted {
		return err
	}
	if err := tx.emit(EventRefundCreated, r.ID, r.Customer, refundView(r)); err != nil {
		return err
	}
	msg := fmt.Sprintf("refund %s of %d sat owed to customer %s (%s, invoice %s)", r.ID,
		int64(amount), r.Customer, reason, inv.ID)
	if r.State == RefundAddressMissing {
		msg += ": refund address missing, contact the customer"
	}
	return tx.alert(ctx, AlertRefundDue, r.ID, msg)
}

// createLease starts the lease a settled invoice paid for and queues its provisioning.
func (s *Service) createLease(ctx context.Context, tx *serviceTx, inv *Invoice,
	rec invoiceRecord, order *Order,
) error {
	existing, err := queryLeases(ctx, tx.db, `WHERE invoice_id = $1`, inv.ID)
	if err != nil || len(existing) > 0 {
		return err
	}
	plan, ok := s.plans[rec.PlanID]
	if !ok {
		return fmt.Errorf("billing: invoice %s is for plan %q, which is no longer offered",
			inv.ID, rec.PlanID)
	}
	ext, err := plan.NewExtension(inv.ID, rec.Units, tx.now)
	if err != nil {
		return err
	}
	// Lease IDs name key pairs and tags on the cloud, which do not take underscores.
	id := strings.Replace(NewID("lease"), "_", "-", 1)
	meter, err := metering.NewLease(id, plan, ext)
	if err != nil {
		return err
	}
	l := &Lease{ID: id, Customer: rec.Customer, OrderID: order.ID, InvoiceID: inv.ID,
		PlanID: plan.ID, Status: LeaseProvisioning, Meter: *meter, HostKeys: []HostKey{},
		CreatedAt: tx.now, UpdatedAt: tx.now,
		sshPublicKey: order.Payload.SSHPublicKey, refundAddress: order.Payload.RefundAddress}
	if err := insertLease(ctx, tx.db, l); err != nil {
		return err
	}
	s.logger.Info("lease paid, provisioning", "lease_id", id, "invoice_id", inv.ID)
	return tx.enqueue(ctx, provisionArgs{LeaseID: id}, &river.InsertOpts{
		UniqueOpts: uniqueByArgs, MaxAttempts: s.launchAttempts()})
}

// applyExtension adds a settled extension invoice's time to its lease; an extension that
// comes after the lease ended becomes a refund.
func (s *Service) applyExtension(ctx context.Context, tx *serviceTx, inv *Invoice,
	rec invoiceRecord, refundTo string,
) error {
	l, err := loadLease(ctx, tx.db, rec.ExtendsLease)
	if err != nil {
		return err
	}
	plan, ok := s.plans[l.PlanID]
	if !ok {
		return fmt.Errorf("billing: lease %s is on plan %q, which is no longer offered",
			l.ID, l.PlanID)
	}
	ext, err := plan.NewExtension(inv.ID, rec.Units, tx.now)
	if err != nil {
		return err
	}
	changed, err := l.Meter.Extend(ext)
	if errors.Is(err, metering.ErrLeaseEnded) || l.Status == LeaseFailed {
		return s.owe(ctx, tx, inv, rec, l.ID, RefundLeaseEnded, inv.Paid, refundTo)
	}
	if err != nil || !changed {
		return err
	}
	if l.Status == LeaseRunning {
		// The sealed credentials state the lease's end, which just moved.
		if err := s.sealCredentials(ctx, tx, l); err != nil {
			return err
		}
	}
	if err := s.saveLeaseAndSchedule(ctx, tx, l); err != nil {
		return err
	}
	if err := tx.tagPaidUntil(ctx, l); err != nil {
		return err
	}
	return tx.emit(EventLeaseExtended, l.ID, l.Customer, leaseView(l.withTimes(tx.now)))
}

// leaseForInvoice returns the lease an invoice paid for (its first invoice or an extension),
// or nil when it paid for none.
func leaseForInvoice(ctx context.Context, tx *serviceTx, rec invoiceRecord) (*Lease, error) {
	if rec.ExtendsLease != "" {
		return loadLease(ctx, tx.db, rec.ExtendsLease)
	}
	leases, err := queryLeases(ctx, tx.db, `WHERE invoice_id = $1`, rec.InvoiceID)
	if err != nil || len(leases) == 0 {
		return nil, err
	}
	return leases[0], nil
}

// onSettlementReverted suspends the lease whose payment a reorganisation took away and alerts
// the operator.
func (s *Service) onSettlementReverted(ctx context.Context, tx *serviceTx, inv *Invoice,
	rec invoiceRecord,
) error {
	l, err := leaseForInvoice(ctx, tx, rec)
	if err != nil {
		return err
	}
	subject := inv.ID
	if l != nil {
		subject = l.ID
		changed, err := l.Meter.Suspend("payment of invoice "+inv.ID+" reorganised away", tx.now)
		if err != nil && !errors.Is(err, metering.ErrLeaseEnded) {
			return err
		}
		if changed {
			if err := s.saveLeaseAndSchedule(ctx, tx, l); err != nil {
				return err
			}
			err := tx.emit(EventLeaseSuspended, l.ID, l.Customer, leaseView(l.withTimes(tx.now)))
			if err != nil {
				return err
			}
		}
	}
	return tx.alert(ctx, AlertSettlementReverted, subject, fmt.Sprintf(
		"the payment that settled invoice %s was reorganised out of the chain; %s is "+
			"suspended until it confirms again", inv.ID, subject))
}

// onSettlementRestored resumes the lease once its reverted payment confirms again.
func (s *Service) onSettlementRestored(ctx context.Context, tx *serviceTx, inv *Invoice,
	rec invoiceRecord,
) error {
	l, err := leaseForInvoice(ctx, tx, rec)
	if err != nil {
		return err
	}
	if l == nil {
		// The first settlement made no lease (a declined late payment): settle anew.
		return s.onSettled(ctx, tx, inv, rec)
	}
	// The lease stays suspended while another of its payments is still reorganised away.
	for _, ext := range l.Meter.Extensions {
		if ext.ID == inv.ID {
			continue
		}
		other, err := tx.Invoice(ctx, ext.ID)
		if err != nil {
			return err
		}
		if other.SettlementReverted {
			return nil
		}
	}
	changed, err := l.Meter.Resume()
	if err != nil && !errors.Is(err, metering.ErrLeaseEnded) {
		return err
	}
	if !changed {
		return nil
	}
	if err := s.saveLeaseAndSchedule(ctx, tx, l); err != nil {
		return err
	}
	return tx.emit(EventLeaseResumed, l.ID, l.Customer, leaseView(l.withTimes(tx.now)))
}

// saveLeaseAndSchedule stores the lease with its next change and schedules the job that acts
// on that change.
func (s *Service) saveLeaseAndSchedule(ctx context.Context, tx *serviceTx, l *Lease) error {
	l.UpdatedAt = tx.now
	l.nextChange = nextLeaseChange(l, tx.now)
	if err := updateLease(ctx, tx.db, l); err != nil {
		return err
	}
	if l.nextChange.IsZero() {
		return nil
	}
	return tx.schedule(ctx, leaseDueArgs{LeaseID: l.ID, Due: micros(l.nextChange)},
		l.nextChange)
}

// nextLeaseChange returns when the lease's due job must next run: now when it must be
// terminated, its next metering change while it runs, and never otherwise.
func nextLeaseChange(l *Lease, now time.Time) time.Time {
	if l.Status != LeaseRunning {
		return time.Time{}
	}
	if l.Meter.State(now) == metering.StateMustTerminate {
		return now
	}
	next, ok := l.Meter.NextChange(now)
	if !ok {
		return time.Time{}
	}
	return next
}

func (s *Service) launchAttempts() int {
	if s.cfg.LaunchAttempts > 0 {
		return s.cfg.LaunchAttempts
	}
	return 8
}
