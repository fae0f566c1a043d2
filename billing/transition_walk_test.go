package billing

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
)

// TestNextInvoiceStateRandomWalks drives invoices through long random sequences of payment
// events, clock steps and operator marks, the way the service applies them, and checks
// after every step the invariants that hold whatever the path taken.
func TestNextInvoiceStateRandomWalks(t *testing.T) {
	const walks, steps = 3000, 40
	policies := []ConfirmationPolicy{
		{},
		{Depth: 3},
		{ZeroConf: true},
		{ZeroConf: true, ZeroConfMax: dueAmount - 1},
		{HighValueThreshold: dueAmount, HighValueDepth: 4},
	}
	tolerances := []uint32{0, 50, 100, basisPointsPerUnit}
	rng := rand.New(rand.NewPCG(1, 2))
	for walk := range walks {
		inv := testInvoice()
		inv.Policy = policies[rng.IntN(len(policies))]
		inv.ToleranceBasisPoints = tolerances[rng.IntN(len(tolerances))]
		w := &invoiceWalk{inv: inv, now: invoiceStart, rng: rng}
		for step := range steps {
			event, mark := w.step()
			before := *w.inv
			upd, err := NextInvoiceState(w.inv, w.payments, w.now, mark)
			label := fmt.Sprintf("walk %d step %d (%s, %d bp, %+v)", walk, step, event,
				inv.ToleranceBasisPoints, inv.Policy)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			if msg := checkWalkInvariants(&before, w.payments, w.now, mark, upd); msg != "" {
				t.Fatalf("%s: %s\nbefore %+v\nafter %+v\npayments %+v", label, msg,
					before, upd, w.payments)
			}
			upd.Apply(w.inv)
			again, err := NextInvoiceState(w.inv, w.payments, w.now, MarkNone)
			if err != nil || again.Changed || again.Settled || again.Reverted {
				t.Fatalf("%s: evaluating the new state again gave %+v, %v", label, again, err)
			}
		}
	}
}

// invoiceWalk is one invoice's random history: its payments and the clock.
type invoiceWalk struct {
	inv      *Invoice
	payments []Payment
	now      time.Time
	rng      *rand.Rand
}

// step applies one random event to the walk's payments or clock and returns its name and
// the operator's mark, if the event is one.
func (w *invoiceWalk) step() (string, Mark) {
	amounts := []btcutil.Amount{1, dueAmount / 2, dueAmount - 1, dueAmount - 500, dueAmount,
		dueAmount + 1, 2 * dueAmount}
	switch w.rng.IntN(12) {
	case 0, 1:
		p := payment(fmt.Sprintf("tx%d", len(w.payments)),
			amounts[w.rng.IntN(len(amounts))], 0, w.now.Sub(invoiceStart))
		p.SignalsRBF = w.rng.IntN(2) == 0
		w.payments = append(w.payments, p)
		return "pay", MarkNone
	case 2, 3, 4:
		if p := w.pick(); p != nil && p.State == PaymentSeen {
			p.Confirmations += int32(1 + w.rng.IntN(3))
		}
		return "confirm", MarkNone
	case 5:
		if p := w.pick(); p != nil {
			p.State, p.Confirmations = PaymentReplaced, 0
		}
		return "replace", MarkNone
	case 6:
		if p := w.pick(); p != nil {
			p.State, p.Confirmations = PaymentRemoved, 0
		}
		return "reorganise away", MarkNone
	case 7:
		if p := w.pick(); p != nil {
			p.State, p.Confirmations = PaymentSeen, int32(w.rng.IntN(3))
		}
		return "come back", MarkNone
	case 8, 9:
		w.now = w.now.Add(time.Duration(w.rng.Int64N(int64(DefaultExpiry))))
		return "tick", MarkNone
	case 10:
		w.now = w.now.Add(time.Duration(w.rng.Int64N(int64(DefaultMonitoring))))
		return "long wait", MarkNone
	default:
		if w.rng.IntN(8) != 0 {
			return "nothing", MarkNone
		}
		return "mark", Mark(1 + w.rng.IntN(2))
	}
}

func (w *invoiceWalk) pick() *Payment {
	if len(w.payments) == 0 {
		return nil
	}
	return &w.payments[w.rng.IntN(len(w.payments))]
}

// checkWalkInvariants returns what is wrong with the update of inv, or "".
func checkWalkInvariants(inv *Invoice, payments []Payment, now time.Time, mark Mark,
	upd InvoiceUpdate) string {
	var paid, confirmed btcutil.Amount
	for _, p := range payments {
		if p.State != PaymentSeen || p.SeenAt.After(inv.MonitoringUntil) {
			continue
		}
		paid += p.Amount
		if inv.Policy.Accepts(inv.Amount, p) {
			confirmed += p.Amount
		}
	}
	minimum := inv.MinimumAccepted()
	wasFinal := inv.Status == StatusMarked || inv.State == StateInvalid
	wasSettled := inv.State == StateSettled || inv.SettlementReverted
	marked := upd.Status == StatusMarked
	switch {
	case !upd.State.Valid() || !upd.Status.Valid():
		return "invalid state or status"
	case upd.Paid != paid:
		return fmt.Sprintf("paid %d, but the counted payments sum to %d", upd.Paid, paid)
	case upd.Confirmed != confirmed:
		return fmt.Sprintf("confirmed %d, but the accepted payments sum to %d",
			upd.Confirmed, confirmed)
	case marked != (mark != MarkNone || inv.Status == StatusMarked):
		return "status Marked without an operator's mark"
	case mark == MarkNone && wasFinal && (upd.State != inv.State || upd.Status != inv.Status):
		return "a final invoice moved without an operator's mark"
	case upd.State == StateSettled && !marked && (confirmed < minimum || confirmed <= 0):
		return fmt.Sprintf("settled with %d confirmed of a minimum %d", confirmed, minimum)
	case upd.State == StateProcessing && (paid < minimum || confirmed >= minimum):
		return fmt.Sprintf("processing with %d paid, %d confirmed, minimum %d", paid,
			confirmed, minimum)
	case (upd.State == StateNew || upd.State == StateExpired) && !marked &&
		!wasFinal && paid >= minimum:
		return fmt.Sprintf("%v although %d paid reaches the minimum %d", upd.State, paid,
			minimum)
	case upd.State == StateNew && !upd.SettlementReverted && now.After(inv.ExpiresAt):
		return "still New after expiry"
	case !marked && !wasFinal && wasSettled &&
		(upd.State == StateExpired || upd.State == StateInvalid):
		return "a once settled invoice was expired or invalidated by the clock"
	case upd.State == StateInvalid && !marked && !wasFinal && !now.After(inv.MonitoringUntil):
		return "invalidated before the monitoring window ended"
	case upd.SettlementReverted && upd.State == StateSettled:
		return "settled with the reverted flag set"
	case upd.Reverted != (mark == MarkNone && inv.State == StateSettled &&
		upd.State != StateSettled):
		return fmt.Sprintf("Reverted event %v", upd.Reverted)
	case upd.Settled != (upd.State == StateSettled && inv.State != StateSettled):
		return fmt.Sprintf("Settled event %v", upd.Settled)
	case !marked && !wasFinal && paid >= minimum &&
		(upd.Status == StatusPaidOver) != (paid > inv.Amount):
		return fmt.Sprintf("status %v with %d paid of %d", upd.Status, paid, inv.Amount)
	}
	return ""
}
