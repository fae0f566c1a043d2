package billing

import (
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcutil"
)

// Mark is an operator's decision on an invoice, overriding its payments.
type Mark uint8

// The marks an operator can set.
const (
	// MarkNone evaluates the invoice from its payments.
	MarkNone Mark = iota
	// MarkSettled settles the invoice whatever was paid.
	MarkSettled
	// MarkInvalid invalidates the invoice whatever was paid.
	MarkInvalid
)

// InvoiceUpdate is the outcome of NextInvoiceState: the invoice's next state and what changed.
type InvoiceUpdate struct {
	// State, Status, SettlementReverted, Paid and Confirmed are the invoice's new values.
	State              InvoiceState
	Status             AdditionalStatus
	SettlementReverted bool
	Paid               btcutil.Amount
	Confirmed          btcutil.Amount
	// Changed is set when any of the values above differ from the invoice's.
	Changed bool
	// Settled is set when the invoice became Settled with this update, and Reverted when it
	// left Settled because its payments were lost: whatever it paid for must be suspended.
	Settled  bool
	Reverted bool
}

// Apply copies the update's values into the invoice.
func (u InvoiceUpdate) Apply(inv *Invoice) {
	inv.State = u.State
	inv.Status = u.Status
	inv.SettlementReverted = u.SettlementReverted
	inv.Paid = u.Paid
	inv.Confirmed = u.Confirmed
}

// NextInvoiceState computes an invoice's next state from its payments and the time. It is
// the only place invoice transitions are decided, and it is a pure function: the same
// invoice, payments and time always give the same update.
//
// The rules, in order:
//
//   - An operator's mark (mark other than MarkNone) sets Settled or Invalid with status
//     Marked, from any state. A marked invoice then keeps its state: payments no longer
//     move it, though Paid and Confirmed are still updated.
//   - An Invalid invoice stays Invalid.
//   - Payments count if they are still valid (not replaced, not reorganised out of the
//     chain and the mempool) and were first seen no later than MonitoringUntil. Those
//     first seen after ExpiresAt are late.
//   - When the payments meeting the confirmation policy reach the minimum accepted
//     (the amount less the tolerance), the invoice is Settled.
//   - Otherwise, when all counted payments reach the minimum, it is Processing until
//     MonitoringUntil and Invalid afterwards (paid but never confirmed in time).
//   - Otherwise it is New before ExpiresAt and Expired after, with status PaidPartial if
//     anything was paid.
//   - A paid invoice has status PaidOver when more than the amount was paid, else PaidLate
//     when the on-time payments alone fell short of the minimum, else None.
//   - An invoice that was Settled and no longer is sets SettlementReverted, and is never
//     taken to Expired or Invalid by the clock: it goes back to New (with PaidPartial if
//     something remains) or Processing, because its payment may return to the chain. The
//     flag clears when it settles again.
func NextInvoiceState(inv *Invoice, payments []Payment, now time.Time, mark Mark) (
	InvoiceUpdate, error) {
	if !inv.State.Valid() {
		return InvoiceUpdate{}, fmt.Errorf("invoice %s has invalid state %d", inv.ID, inv.State)
	}
	paid, confirmed, onTime := countPayments(inv, payments)
	next := InvoiceUpdate{
		State:              inv.State,
		Status:             inv.Status,
		SettlementReverted: inv.SettlementReverted,
		Paid:               paid,
		Confirmed:          confirmed,
	}
	wasSettled := inv.State == StateSettled || inv.SettlementReverted
	minimum := inv.MinimumAccepted()

	switch {
	case mark == MarkSettled:
		next.State, next.Status, next.SettlementReverted = StateSettled, StatusMarked, false
	case mark == MarkInvalid:
		next.State, next.Status, next.SettlementReverted = StateInvalid, StatusMarked, false
	case mark != MarkNone:
		return InvoiceUpdate{}, fmt.Errorf("invalid mark %d: expected MarkNone, MarkSettled "+
			"or MarkInvalid", mark)
	case inv.Status == StatusMarked, inv.State == StateInvalid:
		// Final: only the totals are refreshed.
	case confirmed >= minimum:
		next.State, next.Status = StateSettled, paidStatus(inv, paid, onTime)
		next.SettlementReverted = false
	case paid >= minimum:
		next.Status = paidStatus(inv, paid, onTime)
		next.State = StateProcessing
		if !wasSettled && now.After(inv.MonitoringUntil) {
			next.State = StateInvalid
		}
	default:
		next.Status = StatusNone
		if paid > 0 {
			next.Status = StatusPaidPartial
		}
		next.State = StateNew
		if !wasSettled && now.After(inv.ExpiresAt) {
			next.State = StateExpired
		}
	}
	if mark == MarkNone && inv.State == StateSettled && next.State != StateSettled {
		next.SettlementReverted = true
		next.Reverted = true
	}
	next.Settled = next.State == StateSettled && inv.State != StateSettled
	next.Changed = next.State != inv.State || next.Status != inv.Status ||
		next.SettlementReverted != inv.SettlementReverted || next.Paid != inv.Paid ||
		next.Confirmed != inv.Confirmed
	return next, nil
}

// countPayments sums the invoice's counted payments, those of them meeting the confirmation
// policy, and those first seen by the expiry.
func countPayments(inv *Invoice, payments []Payment) (paid, confirmed, onTime btcutil.Amount) {
	for _, p := range payments {
		if p.State != PaymentSeen || p.SeenAt.After(inv.MonitoringUntil) {
			continue
		}
		paid += p.Amount
		if !p.SeenAt.After(inv.ExpiresAt) {
			onTime += p.Amount
		}
		if inv.Policy.Accepts(inv.Amount, p) {
			confirmed += p.Amount
		}
	}
	return paid, confirmed, onTime
}

func paidStatus(inv *Invoice, paid, onTime btcutil.Amount) AdditionalStatus {
	switch {
	case paid > inv.Amount:
		return StatusPaidOver
	case onTime < inv.MinimumAccepted():
		return StatusPaidLate
	default:
		return StatusNone
	}
}
