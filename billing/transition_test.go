package billing

import (
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
)

var invoiceStart = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

const dueAmount = btcutil.Amount(100_000)

// testInvoice returns an invoice of dueAmount made at invoiceStart with the default expiry,
// monitoring window and policy.
func testInvoice() *Invoice {
	expires := invoiceStart.Add(DefaultExpiry)
	return &Invoice{
		ID:              "inv_test",
		Amount:          dueAmount,
		CreatedAt:       invoiceStart,
		ExpiresAt:       expires,
		MonitoringUntil: expires.Add(DefaultMonitoring),
		State:           StateNew,
		Status:          StatusNone,
	}
}

// payment returns a valid payment seen the given time after invoiceStart.
func payment(txid string, amount btcutil.Amount, confirmations int32,
	seenAfter time.Duration) Payment {
	return Payment{
		InvoiceID:     "inv_test",
		TxID:          txid,
		Amount:        amount,
		Confirmations: confirmations,
		State:         PaymentSeen,
		SeenAt:        invoiceStart.Add(seenAfter),
	}
}

func rbf(p Payment) Payment                         { p.SignalsRBF = true; return p }
func inState(p Payment, state PaymentState) Payment { p.State = state; return p }

const (
	beforeExpiry     = 5 * time.Minute
	afterExpiry      = DefaultExpiry + time.Hour
	afterMonitoring  = DefaultExpiry + DefaultMonitoring + time.Minute
	monitoringEnd    = DefaultExpiry + DefaultMonitoring
	justAfterExpiry  = DefaultExpiry + time.Nanosecond
	exactlyAtExpiry  = DefaultExpiry
	highValueAmount  = btcutil.Amount(50_000_000)
	zeroConfMaxBelow = btcutil.Amount(99_999)
)

type transitionCase struct {
	name     string
	setup    func(inv *Invoice)
	payments []Payment
	now      time.Duration // after invoiceStart
	mark     Mark

	wantState     InvoiceState
	wantStatus    AdditionalStatus
	wantReverted  bool // the invoice's SettlementReverted flag
	wantPaid      btcutil.Amount
	wantConfirmed btcutil.Amount
	wantSettled   bool // the update's Settled event
	wantRevert    bool // the update's Reverted event
}

// replacedRBF is a full RBF payment replaced by a transaction that does not pay the invoice.
var replacedRBF = inState(rbf(payment("a", dueAmount, 0, time.Minute)), PaymentReplaced)

func settled(inv *Invoice) {
	inv.State, inv.Paid, inv.Confirmed = StateSettled, dueAmount, dueAmount
}

var transitionCases = []transitionCase{
	{
		name: "new without payment", now: beforeExpiry,
		wantState: StateNew, wantStatus: StatusNone,
	},
	{
		name: "expired without payment", now: afterExpiry,
		wantState: StateExpired, wantStatus: StatusNone,
	},
	{
		name: "still new at the expiry instant", now: exactlyAtExpiry,
		wantState: StateNew, wantStatus: StatusNone,
	},
	{
		name: "expired one nanosecond after expiry", now: justAfterExpiry,
		wantState: StateExpired, wantStatus: StatusNone,
	},
	{
		name:      "partial in mempool",
		payments:  []Payment{payment("a", 40_000, 0, time.Minute)},
		now:       beforeExpiry,
		wantState: StateNew, wantStatus: StatusPaidPartial, wantPaid: 40_000,
	},
	{
		name:      "partial confirmed",
		payments:  []Payment{payment("a", 40_000, 3, time.Minute)},
		now:       beforeExpiry,
		wantState: StateNew, wantStatus: StatusPaidPartial, wantPaid: 40_000,
		wantConfirmed: 40_000,
	},
	{
		name:      "partial then expired",
		setup:     func(inv *Invoice) { inv.Status = StatusPaidPartial },
		payments:  []Payment{payment("a", 40_000, 1, time.Minute)},
		now:       afterExpiry,
		wantState: StateExpired, wantStatus: StatusPaidPartial, wantPaid: 40_000,
		wantConfirmed: 40_000,
	},
	{
		name:      "full in mempool",
		payments:  []Payment{payment("a", dueAmount, 0, time.Minute)},
		now:       beforeExpiry,
		wantState: StateProcessing, wantStatus: StatusNone, wantPaid: dueAmount,
	},
	{
		name:      "full confirmed",
		setup:     func(inv *Invoice) { inv.State = StateProcessing },
		payments:  []Payment{payment("a", dueAmount, 1, time.Minute)},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name:      "full confirmed straight from new",
		payments:  []Payment{payment("a", dueAmount, 2, time.Minute)},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name:      "confirmed payment seen at the expiry instant is on time",
		payments:  []Payment{payment("a", dueAmount, 1, exactlyAtExpiry)},
		now:       afterExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name: "several payments sum to the amount",
		payments: []Payment{
			payment("a", 30_000, 1, time.Minute),
			payment("b", 30_000, 1, 2*time.Minute),
			payment("c", 40_000, 1, 3*time.Minute),
		},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name: "several payments, one still unconfirmed",
		payments: []Payment{
			payment("a", 60_000, 1, time.Minute),
			payment("b", 40_000, 0, 2*time.Minute),
		},
		now:       beforeExpiry,
		wantState: StateProcessing, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: 60_000,
	},
	{
		name: "two outputs of one transaction",
		payments: []Payment{
			{InvoiceID: "inv_test", TxID: "a", Vout: 0, Amount: 50_000, Confirmations: 1,
				State: PaymentSeen, SeenAt: invoiceStart.Add(time.Minute)},
			{InvoiceID: "inv_test", TxID: "a", Vout: 1, Amount: 50_000, Confirmations: 1,
				State: PaymentSeen, SeenAt: invoiceStart.Add(time.Minute)},
		},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name:  "underpaid then topped up on time",
		setup: func(inv *Invoice) { inv.Status, inv.Paid = StatusPaidPartial, 70_000 },
		payments: []Payment{
			payment("a", 70_000, 1, time.Minute),
			payment("b", 30_000, 0, 4*time.Minute),
		},
		now:       beforeExpiry,
		wantState: StateProcessing, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: 70_000,
	},
	{
		name: "underpaid then topped up late",
		setup: func(inv *Invoice) {
			inv.State, inv.Status, inv.Paid = StateExpired, StatusPaidPartial, 70_000
		},
		payments: []Payment{
			payment("a", 70_000, 2, time.Minute),
			payment("b", 30_000, 0, afterExpiry),
		},
		now:       afterExpiry,
		wantState: StateProcessing, wantStatus: StatusPaidLate, wantPaid: dueAmount,
		wantConfirmed: 70_000,
	},
	{
		name: "late top-up confirmed",
		setup: func(inv *Invoice) {
			inv.State, inv.Status, inv.Paid = StateProcessing, StatusPaidLate, dueAmount
		},
		payments: []Payment{
			payment("a", 70_000, 2, time.Minute),
			payment("b", 30_000, 1, afterExpiry),
		},
		now:       afterExpiry + time.Hour,
		wantState: StateSettled, wantStatus: StatusPaidLate, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name:      "paid late in the monitoring window",
		setup:     func(inv *Invoice) { inv.State = StateExpired },
		payments:  []Payment{payment("a", dueAmount, 0, afterExpiry)},
		now:       afterExpiry,
		wantState: StateProcessing, wantStatus: StatusPaidLate, wantPaid: dueAmount,
	},
	{
		name:      "paid at the last instant of the monitoring window",
		setup:     func(inv *Invoice) { inv.State = StateExpired },
		payments:  []Payment{payment("a", dueAmount, 1, monitoringEnd)},
		now:       afterMonitoring,
		wantState: StateSettled, wantStatus: StatusPaidLate, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name:      "paid after the monitoring window is ignored",
		setup:     func(inv *Invoice) { inv.State = StateExpired },
		payments:  []Payment{payment("a", dueAmount, 1, afterMonitoring)},
		now:       afterMonitoring,
		wantState: StateExpired, wantStatus: StatusNone,
	},
	{
		name:      "overpaid",
		payments:  []Payment{payment("a", dueAmount+1, 1, time.Minute)},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusPaidOver, wantPaid: dueAmount + 1,
		wantConfirmed: dueAmount + 1, wantSettled: true,
	},
	{
		name: "overpaid across two payments",
		payments: []Payment{
			payment("a", 60_000, 0, time.Minute),
			payment("b", 60_000, 0, 2*time.Minute),
		},
		now:       beforeExpiry,
		wantState: StateProcessing, wantStatus: StatusPaidOver, wantPaid: 120_000,
	},
	{
		name:      "overpaid late reports the overpayment",
		setup:     func(inv *Invoice) { inv.State = StateExpired },
		payments:  []Payment{payment("a", 2*dueAmount, 0, afterExpiry)},
		now:       afterExpiry,
		wantState: StateProcessing, wantStatus: StatusPaidOver, wantPaid: 2 * dueAmount,
	},
	{
		name:      "within tolerance settles",
		setup:     func(inv *Invoice) { inv.ToleranceBasisPoints = 100 },
		payments:  []Payment{payment("a", 99_000, 1, time.Minute)},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: 99_000,
		wantConfirmed: 99_000, wantSettled: true,
	},
	{
		name:      "one satoshi below tolerance is partial",
		setup:     func(inv *Invoice) { inv.ToleranceBasisPoints = 100 },
		payments:  []Payment{payment("a", 98_999, 1, time.Minute)},
		now:       beforeExpiry,
		wantState: StateNew, wantStatus: StatusPaidPartial, wantPaid: 98_999,
		wantConfirmed: 98_999,
	},
	{
		name:      "full tolerance still needs a confirmed payment",
		setup:     func(inv *Invoice) { inv.ToleranceBasisPoints = basisPointsPerUnit },
		payments:  []Payment{payment("a", 1, 0, time.Minute)},
		now:       beforeExpiry,
		wantState: StateProcessing, wantStatus: StatusNone, wantPaid: 1,
	},
	{
		name:      "tolerance above 100 % settles only when confirmed",
		setup:     func(inv *Invoice) { inv.ToleranceBasisPoints = 2 * basisPointsPerUnit },
		payments:  []Payment{payment("a", 1, 1, time.Minute)},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: 1, wantConfirmed: 1,
		wantSettled: true,
	},
	{
		name:      "zero tolerance rejects one satoshi short",
		payments:  []Payment{payment("a", dueAmount-1, 1, time.Minute)},
		now:       beforeExpiry,
		wantState: StateNew, wantStatus: StatusPaidPartial, wantPaid: dueAmount - 1,
		wantConfirmed: dueAmount - 1,
	},
	{
		name:      "paid but never confirmed in the monitoring window",
		setup:     func(inv *Invoice) { inv.State = StateProcessing },
		payments:  []Payment{payment("a", dueAmount, 0, time.Minute)},
		now:       afterMonitoring,
		wantState: StateInvalid, wantStatus: StatusNone, wantPaid: dueAmount,
	},
	{
		name:      "invalid stays invalid when the payment confirms",
		setup:     func(inv *Invoice) { inv.State, inv.Paid = StateInvalid, dueAmount },
		payments:  []Payment{payment("a", dueAmount, 1, time.Minute)},
		now:       afterMonitoring + time.Hour,
		wantState: StateInvalid, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: dueAmount,
	},
	{
		name:      "rbf payment replaced by one that does not pay us",
		setup:     func(inv *Invoice) { inv.State, inv.Paid = StateProcessing, dueAmount },
		payments:  []Payment{replacedRBF},
		now:       beforeExpiry,
		wantState: StateNew, wantStatus: StatusNone,
	},
	{
		name:      "rbf payment replaced after expiry",
		setup:     func(inv *Invoice) { inv.State, inv.Paid = StateProcessing, dueAmount },
		payments:  []Payment{replacedRBF},
		now:       afterExpiry,
		wantState: StateExpired, wantStatus: StatusNone,
	},
	{
		name:  "rbf replacement that still pays us",
		setup: func(inv *Invoice) { inv.State, inv.Paid = StateProcessing, dueAmount },
		payments: []Payment{
			inState(rbf(payment("a", dueAmount, 0, time.Minute)), PaymentReplaced),
			rbf(payment("b", dueAmount, 0, 2*time.Minute)),
		},
		now:       beforeExpiry,
		wantState: StateProcessing, wantStatus: StatusNone, wantPaid: dueAmount,
	},
	{
		name:      "settled payment reorganised away",
		setup:     settled,
		payments:  []Payment{inState(payment("a", dueAmount, 0, time.Minute), PaymentRemoved)},
		now:       afterExpiry,
		wantState: StateNew, wantStatus: StatusNone, wantReverted: true, wantRevert: true,
	},
	{
		name:      "settled payment back in the mempool after a reorganisation",
		setup:     settled,
		payments:  []Payment{payment("a", dueAmount, 0, time.Minute)},
		now:       afterExpiry,
		wantState: StateProcessing, wantStatus: StatusNone, wantReverted: true,
		wantRevert: true, wantPaid: dueAmount,
	},
	{
		name:  "one of two settled payments reorganised away",
		setup: settled,
		payments: []Payment{
			payment("a", 50_000, 3, time.Minute),
			inState(payment("b", 50_000, 0, time.Minute), PaymentRemoved),
		},
		now:       afterExpiry,
		wantState: StateNew, wantStatus: StatusPaidPartial, wantReverted: true,
		wantRevert: true, wantPaid: 50_000, wantConfirmed: 50_000,
	},
	{
		name: "reverted invoice is not expired by the clock",
		setup: func(inv *Invoice) {
			inv.State, inv.SettlementReverted = StateNew, true
		},
		payments:  []Payment{inState(payment("a", dueAmount, 0, time.Minute), PaymentRemoved)},
		now:       afterMonitoring + time.Hour,
		wantState: StateNew, wantStatus: StatusNone, wantReverted: true,
	},
	{
		name: "reverted invoice is not invalidated by the clock",
		setup: func(inv *Invoice) {
			inv.State, inv.SettlementReverted, inv.Paid = StateProcessing, true, dueAmount
		},
		payments:  []Payment{payment("a", dueAmount, 0, time.Minute)},
		now:       afterMonitoring + time.Hour,
		wantState: StateProcessing, wantStatus: StatusNone, wantReverted: true,
		wantPaid: dueAmount,
	},
	{
		name: "reverted invoice settles again",
		setup: func(inv *Invoice) {
			inv.State, inv.SettlementReverted, inv.Paid = StateProcessing, true, dueAmount
		},
		payments:  []Payment{payment("a", dueAmount, 1, time.Minute)},
		now:       afterExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name:      "zero-conf accepted without rbf",
		setup:     func(inv *Invoice) { inv.Policy.ZeroConf = true },
		payments:  []Payment{payment("a", dueAmount, 0, time.Minute)},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name:      "zero-conf refused when the transaction signals rbf",
		setup:     func(inv *Invoice) { inv.Policy.ZeroConf = true },
		payments:  []Payment{rbf(payment("a", dueAmount, 0, time.Minute))},
		now:       beforeExpiry,
		wantState: StateProcessing, wantStatus: StatusNone, wantPaid: dueAmount,
	},
	{
		name:      "rbf payment accepted at the required depth",
		setup:     func(inv *Invoice) { inv.Policy.ZeroConf = true },
		payments:  []Payment{rbf(payment("a", dueAmount, 1, time.Minute))},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name: "zero-conf refused above its maximum",
		setup: func(inv *Invoice) {
			inv.Policy.ZeroConf, inv.Policy.ZeroConfMax = true, zeroConfMaxBelow
		},
		payments:  []Payment{payment("a", dueAmount, 0, time.Minute)},
		now:       beforeExpiry,
		wantState: StateProcessing, wantStatus: StatusNone, wantPaid: dueAmount,
	},
	{
		name: "zero-conf accepted at its maximum",
		setup: func(inv *Invoice) {
			inv.Policy.ZeroConf, inv.Policy.ZeroConfMax = true, dueAmount
		},
		payments:  []Payment{payment("a", dueAmount, 0, time.Minute)},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name: "high value waits for six confirmations",
		setup: func(inv *Invoice) {
			inv.Amount, inv.Policy.HighValueThreshold = highValueAmount, highValueAmount
		},
		payments:  []Payment{payment("a", highValueAmount, 5, time.Minute)},
		now:       beforeExpiry,
		wantState: StateProcessing, wantStatus: StatusNone, wantPaid: highValueAmount,
	},
	{
		name: "high value settles at six confirmations",
		setup: func(inv *Invoice) {
			inv.Amount, inv.Policy.HighValueThreshold = highValueAmount, highValueAmount
		},
		payments:  []Payment{payment("a", highValueAmount, 6, time.Minute)},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: highValueAmount,
		wantConfirmed: highValueAmount, wantSettled: true,
	},
	{
		name: "below the high-value threshold one confirmation settles",
		setup: func(inv *Invoice) {
			inv.Policy.HighValueThreshold = dueAmount + 1
		},
		payments:  []Payment{payment("a", dueAmount, 1, time.Minute)},
		now:       beforeExpiry,
		wantState: StateSettled, wantStatus: StatusNone, wantPaid: dueAmount,
		wantConfirmed: dueAmount, wantSettled: true,
	},
	{
		name:      "operator marks an unpaid invoice settled",
		now:       afterExpiry,
		mark:      MarkSettled,
		wantState: StateSettled, wantStatus: StatusMarked, wantSettled: true,
	},
	{
		name:      "operator marks a settled invoice invalid",
		setup:     settled,
		payments:  []Payment{payment("a", dueAmount, 1, time.Minute)},
		now:       afterExpiry,
		mark:      MarkInvalid,
		wantState: StateInvalid, wantStatus: StatusMarked, wantPaid: dueAmount,
		wantConfirmed: dueAmount,
	},
	{
		name: "operator marks a reverted invoice settled",
		setup: func(inv *Invoice) {
			inv.State, inv.SettlementReverted = StateNew, true
		},
		now:       afterExpiry,
		mark:      MarkSettled,
		wantState: StateSettled, wantStatus: StatusMarked, wantSettled: true,
	},
	{
		name:      "marked invalid ignores a later payment",
		setup:     func(inv *Invoice) { inv.State, inv.Status = StateInvalid, StatusMarked },
		payments:  []Payment{payment("a", dueAmount, 1, time.Minute)},
		now:       beforeExpiry,
		wantState: StateInvalid, wantStatus: StatusMarked, wantPaid: dueAmount,
		wantConfirmed: dueAmount,
	},
	{
		name:      "marked settled ignores a reorganisation",
		setup:     func(inv *Invoice) { inv.State, inv.Status = StateSettled, StatusMarked },
		payments:  []Payment{inState(payment("a", dueAmount, 0, time.Minute), PaymentRemoved)},
		now:       afterExpiry,
		wantState: StateSettled, wantStatus: StatusMarked,
	},
}

func TestNextInvoiceState(t *testing.T) {
	for _, tc := range transitionCases {
		t.Run(tc.name, func(t *testing.T) {
			inv := testInvoice()
			if tc.setup != nil {
				tc.setup(inv)
			}
			before := *inv
			now := invoiceStart.Add(tc.now)

			got, err := NextInvoiceState(inv, tc.payments, now, tc.mark)
			if err != nil {
				t.Fatalf("NextInvoiceState: %v", err)
			}
			if got.State != tc.wantState {
				t.Errorf("state = %v, want %v", got.State, tc.wantState)
			}
			if got.Status != tc.wantStatus {
				t.Errorf("status = %v, want %v", got.Status, tc.wantStatus)
			}
			if got.SettlementReverted != tc.wantReverted {
				t.Errorf("SettlementReverted = %v, want %v", got.SettlementReverted,
					tc.wantReverted)
			}
			if got.Paid != tc.wantPaid {
				t.Errorf("paid = %d, want %d", got.Paid, tc.wantPaid)
			}
			if got.Confirmed != tc.wantConfirmed {
				t.Errorf("confirmed = %d, want %d", got.Confirmed, tc.wantConfirmed)
			}
			if got.Settled != tc.wantSettled {
				t.Errorf("Settled event = %v, want %v", got.Settled, tc.wantSettled)
			}
			if got.Reverted != tc.wantRevert {
				t.Errorf("Reverted event = %v, want %v", got.Reverted, tc.wantRevert)
			}
			wantChanged := got.State != before.State || got.Status != before.Status ||
				got.SettlementReverted != before.SettlementReverted ||
				got.Paid != before.Paid || got.Confirmed != before.Confirmed
			if got.Changed != wantChanged {
				t.Errorf("Changed = %v, want %v", got.Changed, wantChanged)
			}
			if *inv != before {
				t.Errorf("NextInvoiceState modified its invoice argument")
			}

			// Evaluating again from the new state with the same payments and time must
			// change nothing: the result is a fixed point.
			got.Apply(inv)
			again, err := NextInvoiceState(inv, tc.payments, now, MarkNone)
			if err != nil {
				t.Fatalf("second NextInvoiceState: %v", err)
			}
			if again.Changed || again.Settled || again.Reverted {
				t.Errorf("second evaluation changed the invoice: %+v", again)
			}
		})
	}
}

// TestNextInvoiceStateEveryStart evaluates every combination of starting state and status
// against representative payments, checking invariants that hold whatever the start.
func TestNextInvoiceStateEveryStart(t *testing.T) {
	paymentSets := map[string][]Payment{
		"none":      nil,
		"partial":   {payment("a", 1, 1, time.Minute)},
		"full-0":    {payment("a", dueAmount, 0, time.Minute)},
		"full-1":    {payment("a", dueAmount, 1, time.Minute)},
		"late-1":    {payment("a", dueAmount, 1, afterExpiry)},
		"removed":   {inState(payment("a", dueAmount, 1, time.Minute), PaymentRemoved)},
		"too-late":  {payment("a", dueAmount, 1, afterMonitoring)},
		"overpaid":  {payment("a", 3*dueAmount, 0, time.Minute)},
		"replaced":  {inState(payment("a", dueAmount, 0, time.Minute), PaymentReplaced)},
		"two-parts": {payment("a", 1, 1, time.Minute), payment("b", dueAmount, 0, afterExpiry)},
	}
	times := []time.Duration{beforeExpiry, afterExpiry, afterMonitoring}
	for state := range stateNames {
		for status := range statusNames {
			for setName, payments := range paymentSets {
				for _, at := range times {
					inv := testInvoice()
					inv.State, inv.Status = state, status
					got, err := NextInvoiceState(inv, payments, invoiceStart.Add(at), MarkNone)
					if err != nil {
						t.Fatalf("%v/%v/%s: %v", state, status, setName, err)
					}
					label := state.String() + "/" + status.String() + "/" + setName
					if !got.State.Valid() || !got.Status.Valid() {
						t.Errorf("%s: invalid result %v/%v", label, got.State, got.Status)
					}
					final := status == StatusMarked || state == StateInvalid
					if final && (got.State != state || got.Status != status) {
						t.Errorf("%s: final invoice moved to %v/%v", label, got.State,
							got.Status)
					}
					if !final && got.Status == StatusMarked {
						t.Errorf("%s: payments produced status Marked", label)
					}
					if got.State == StateSettled && !final && got.Confirmed < dueAmount {
						t.Errorf("%s: settled with only %d confirmed", label, got.Confirmed)
					}
					if got.Reverted != (state == StateSettled && got.State != StateSettled) {
						t.Errorf("%s: Reverted event = %v", label, got.Reverted)
					}
				}
			}
		}
	}
}

func TestNextInvoiceStateRejectsBadInput(t *testing.T) {
	inv := testInvoice()
	if _, err := NextInvoiceState(inv, nil, invoiceStart, Mark(9)); err == nil {
		t.Errorf("mark 9: got no error")
	}
	inv.State = 0
	if _, err := NextInvoiceState(inv, nil, invoiceStart, MarkNone); err == nil {
		t.Errorf("state 0: got no error")
	}
}
