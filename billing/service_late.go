package billing

import (
	"context"
	"errors"
	"fmt"
)

// LatePaymentPolicy decides what an invoice paid only after its expiry buys.
type LatePaymentPolicy uint8

// The late payment policies.
const (
	// LateAccept provisions or extends as for a payment in time.
	LateAccept LatePaymentPolicy = iota
	// LateDecline records a refund of the whole payment.
	LateDecline
	// LateHold alerts the operator and waits for AcceptLatePayment or DeclineLatePayment.
	LateHold
)

// ErrLatePaymentDecided is returned when a late payment was already declined and is then
// accepted, or the reverse.
var ErrLatePaymentDecided = errors.New("billing: the late payment was already decided " +
	"the other way")

// AcceptLatePayment provisions (or extends) what a late-paid invoice pays for, when the
// LateHold policy held it. Accepting it again changes nothing.
func (s *Service) AcceptLatePayment(ctx context.Context, invoiceID string) error {
	return s.inTx(ctx, func(tx *serviceTx) error {
		inv, rec, err := heldLatePayment(ctx, tx, invoiceID)
		if err != nil {
			return err
		}
		declined, err := hasRefund(ctx, tx, invoiceID, RefundLateDeclined)
		if err != nil {
			return err
		}
		if declined {
			return fmt.Errorf("%w: invoice %s was declined", ErrLatePaymentDecided, invoiceID)
		}
		order, err := tx.Order(ctx, inv.OrderID)
		if err != nil {
			return err
		}
		s.logger.Info("late payment accepted", "invoice_id", invoiceID)
		return s.fulfil(ctx, tx, inv, rec, order)
	})
}

// DeclineLatePayment records a refund of a late-paid invoice that the LateHold policy held.
// Declining it again changes nothing.
func (s *Service) DeclineLatePayment(ctx context.Context, invoiceID string) error {
	return s.inTx(ctx, func(tx *serviceTx) error {
		inv, rec, err := heldLatePayment(ctx, tx, invoiceID)
		if err != nil {
			return err
		}
		l, err := leaseForInvoice(ctx, tx, rec)
		if err != nil {
			return err
		}
		if l != nil && (rec.ExtendsLease == "" || extensionApplied(l, invoiceID)) {
			return fmt.Errorf("%w: invoice %s was accepted", ErrLatePaymentDecided, invoiceID)
		}
		// An extension accepted after its lease ended was already turned into a refund of
		// the whole payment; declining it now would owe the payment twice.
		refunded, err := hasRefund(ctx, tx, invoiceID, RefundLeaseEnded)
		if err != nil {
			return err
		}
		if refunded {
			return fmt.Errorf("%w: invoice %s was accepted and refunded because its lease "+
				"had ended", ErrLatePaymentDecided, invoiceID)
		}
		order, err := tx.Order(ctx, inv.OrderID)
		if err != nil {
			return err
		}
		s.logger.Info("late payment declined", "invoice_id", invoiceID)
		return s.owe(ctx, tx, inv, rec, rec.ExtendsLease, RefundLateDeclined, inv.Paid,
			order.Payload.RefundAddress)
	})
}

// heldLatePayment returns a settled invoice paid late, or an error saying why it is not one.
func heldLatePayment(ctx context.Context, tx *serviceTx, invoiceID string) (*Invoice,
	invoiceRecord, error,
) {
	inv, err := tx.Invoice(ctx, invoiceID)
	if err != nil {
		return nil, invoiceRecord{}, err
	}
	if inv.State != StateSettled || inv.Status != StatusPaidLate {
		return nil, invoiceRecord{}, fmt.Errorf("billing: invoice %s is %s/%s, expected a "+
			"settled invoice paid late", invoiceID, inv.State, inv.Status)
	}
	rec, err := loadInvoiceRecord(ctx, tx.db, invoiceID)
	return inv, rec, err
}

func extensionApplied(l *Lease, invoiceID string) bool {
	for _, ext := range l.Meter.Extensions {
		if ext.ID == invoiceID {
			return true
		}
	}
	return false
}

func hasRefund(ctx context.Context, tx *serviceTx, invoiceID string,
	reason RefundReason,
) (bool, error) {
	var n int64
	err := queryRow(ctx, tx.db, []any{&n}, `SELECT COUNT(*) FROM refunds
		WHERE invoice_id = $1 AND reason = $2`, invoiceID, string(reason))
	return n > 0, err
}
