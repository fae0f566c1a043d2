package billing

import (
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcutil"
)

// InvoiceState is the lifecycle state of an invoice. The states are named as BTCPay Server
// names them so that integrators recognise them: New, Processing, Settled, Expired and Invalid.
type InvoiceState uint8

// The invoice states. The zero value is not a state, so a forgotten field is caught.
const (
	// StateNew is an invoice waiting for payment (nothing paid, or less than due).
	StateNew InvoiceState = 1
	// StateProcessing is an invoice paid in full whose payments do not yet meet the
	// confirmation policy.
	StateProcessing InvoiceState = 2
	// StateSettled is an invoice whose payments meet the confirmation policy. A chain
	// reorganisation can still take it back to New or Processing.
	StateSettled InvoiceState = 3
	// StateExpired is an invoice not paid in full before its expiry. A payment seen within the
	// monitoring window after expiry still moves it on, flagged PaidLate.
	StateExpired InvoiceState = 4
	// StateInvalid is an invoice paid in full whose payments never met the confirmation policy
	// before the monitoring window ended, or one an operator marked invalid. It is final.
	StateInvalid InvoiceState = 5
)

var stateNames = map[InvoiceState]string{
	StateNew:        "New",
	StateProcessing: "Processing",
	StateSettled:    "Settled",
	StateExpired:    "Expired",
	StateInvalid:    "Invalid",
}

// String returns the state's name as BTCPay's Greenfield API spells it.
func (s InvoiceState) String() string {
	if name, ok := stateNames[s]; ok {
		return name
	}
	return fmt.Sprintf("InvoiceState(%d)", uint8(s))
}

// Valid reports whether s is one of the defined states.
func (s InvoiceState) Valid() bool {
	_, ok := stateNames[s]
	return ok
}

// ParseInvoiceState returns the state with the given name, as String returns it.
func ParseInvoiceState(name string) (InvoiceState, error) {
	for s, n := range stateNames {
		if n == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("invalid invoice state %q: expected New, Processing, Settled, "+
		"Expired or Invalid", name)
}

// AdditionalStatus qualifies an invoice's state, as BTCPay's additionalStatus does: a partial,
// excess or late payment, or an operator's decision.
type AdditionalStatus uint8

// The additional statuses.
const (
	// StatusNone means nothing unusual happened.
	StatusNone AdditionalStatus = 0
	// StatusPaidPartial means something was paid, but less than due after tolerance.
	StatusPaidPartial AdditionalStatus = 1
	// StatusPaidOver means more than due was paid; the excess is owed back to the customer.
	// It takes precedence over PaidLate because it requests an operator action (a refund).
	StatusPaidOver AdditionalStatus = 2
	// StatusPaidLate means the invoice was paid in full only by payments first seen after
	// expiry, within the monitoring window.
	StatusPaidLate AdditionalStatus = 3
	// StatusMarked means an operator set the state by hand. A marked invoice no longer
	// follows its payments.
	StatusMarked AdditionalStatus = 4
)

var statusNames = map[AdditionalStatus]string{
	StatusNone:        "None",
	StatusPaidPartial: "PaidPartial",
	StatusPaidOver:    "PaidOver",
	StatusPaidLate:    "PaidLate",
	StatusMarked:      "Marked",
}

// String returns the status's name as BTCPay's Greenfield API spells it.
func (s AdditionalStatus) String() string {
	if name, ok := statusNames[s]; ok {
		return name
	}
	return fmt.Sprintf("AdditionalStatus(%d)", uint8(s))
}

// Valid reports whether s is one of the defined statuses.
func (s AdditionalStatus) Valid() bool {
	_, ok := statusNames[s]
	return ok
}

// Default durations of an invoice, as BTCPay Server uses them.
const (
	// DefaultExpiry is how long a customer has to pay after the invoice is made.
	DefaultExpiry = 15 * time.Minute
	// DefaultMonitoring is how long after expiry payments are still watched for and
	// accepted as late.
	DefaultMonitoring = 24 * time.Hour
)

// Invoice is a payment request to a customer for an order. The amount, the rate it was
// converted at, the destination and the policy are fixed when the invoice is made. State,
// Status, the paid totals and Version change as payments arrive.
type Invoice struct {
	// ID is the invoice's opaque identifier, unique in the store.
	ID string
	// OrderID is the order the invoice bills.
	OrderID string
	// Amount is the amount due.
	Amount btcutil.Amount
	// Price is the plan's cost in its own currency, and Rate the exchange rate the price
	// was converted at. Rate is the zero Rate when the plan is priced in satoshis.
	Price Price
	Rate  Rate

	// Method names the gateway that collects the payment (see Gateway.Method).
	Method string
	// Destination is the payment destination, a bitcoin address for the on-chain gateway.
	// It is unique in the store.
	Destination string
	// PaymentURI is the request in the form a wallet opens, such as a BIP21 URI.
	PaymentURI string
	// Account and DerivationIndex locate the destination in the operator's account key
	// for the on-chain gateway; each pair is used once.
	Account         string
	DerivationIndex uint32

	// Policy states when a payment counts as final, and ToleranceBasisPoints how much less
	// than Amount still counts as paid in full (100 basis points = 1 %).
	Policy               ConfirmationPolicy
	ToleranceBasisPoints uint32

	// CreatedAt, ExpiresAt and MonitoringUntil bound the invoice's life: payments first
	// seen after ExpiresAt are late, those after MonitoringUntil are ignored.
	CreatedAt       time.Time
	ExpiresAt       time.Time
	MonitoringUntil time.Time

	// State and Status are the invoice's current state (see NextInvoiceState).
	State  InvoiceState
	Status AdditionalStatus
	// SettlementReverted is set when a settled invoice lost the payments that settled it
	// (reorganised away or replaced). Whatever the invoice paid for must be suspended until
	// it settles again, which clears the flag.
	SettlementReverted bool
	// Paid is the sum of the payments that count; Confirmed the part of it that meets the
	// confirmation policy.
	Paid      btcutil.Amount
	Confirmed btcutil.Amount

	// UpdatedAt is the time the row was last written, and Version counts its writes.
	// Updates name the version they read, so two writers cannot overwrite each other.
	UpdatedAt time.Time
	Version   int64
}

// MinimumAccepted returns the smallest total that pays the invoice in full: the amount less
// the tolerance, rounded in the operator's favour (the shortfall allowed is rounded down,
// so the minimum is rounded up). It is at least one satoshi whatever the tolerance, so an
// invoice is never paid, or settled, by payments that bring nothing.
func (inv *Invoice) MinimumAccepted() btcutil.Amount {
	return minimumAccepted(inv.Amount, inv.ToleranceBasisPoints)
}

func minimumAccepted(due btcutil.Amount, toleranceBasisPoints uint32) btcutil.Amount {
	basisPoints := min(int64(toleranceBasisPoints), basisPointsPerUnit)
	// due is at most 21e14 satoshis and the factor at most 1e4, so the product fits in int64.
	shortfall := int64(due) * basisPoints / basisPointsPerUnit
	return max(due-btcutil.Amount(shortfall), 1)
}

// basisPointsPerUnit is the number of basis points in one whole (100 %).
const basisPointsPerUnit = 10_000

// PaymentState reports whether a payment still pays its invoice.
type PaymentState uint8

// The payment states.
const (
	// PaymentSeen is a payment in the mempool or in the best chain.
	PaymentSeen PaymentState = 1
	// PaymentReplaced is a payment whose transaction was replaced or double-spent by one
	// that does not pay the invoice (for example through RBF).
	PaymentReplaced PaymentState = 2
	// PaymentRemoved is a payment whose block was reorganised away and which is in neither
	// the best chain nor the mempool.
	PaymentRemoved PaymentState = 3
)

var paymentStateNames = map[PaymentState]string{
	PaymentSeen:     "seen",
	PaymentReplaced: "replaced",
	PaymentRemoved:  "removed",
}

// String returns the state's lowercase name.
func (s PaymentState) String() string {
	if name, ok := paymentStateNames[s]; ok {
		return name
	}
	return fmt.Sprintf("PaymentState(%d)", uint8(s))
}

// Payment is one transaction output paying an invoice's destination, as a gateway reports
// it. The store keeps one row per (invoice, TxID, Vout), so a payment is counted once however
// often it is reported.
type Payment struct {
	// InvoiceID is the invoice the payment pays.
	InvoiceID string
	// TxID is the transaction id in the usual byte-reversed hex, and Vout the output index.
	// Gateways other than on-chain bitcoin put their own payment reference in TxID and 0 in
	// Vout.
	TxID string
	Vout uint32
	// Amount is the output's value.
	Amount btcutil.Amount
	// Confirmations is the depth of the block holding the transaction; 0 means mempool.
	Confirmations int32
	// BlockHash and BlockHeight locate the block, empty and 0 while unconfirmed.
	BlockHash   string
	BlockHeight int32
	// SignalsRBF is set when the transaction or an unconfirmed ancestor signals
	// replaceability (BIP125), which rules out accepting it at zero confirmations.
	SignalsRBF bool
	// State reports whether the payment still counts.
	State PaymentState
	// SeenAt is the time the payment was first seen, in the mempool or in a block. It
	// decides whether the payment came in time, late or too late.
	SeenAt time.Time
	// UpdatedAt is the time the stored payment last changed.
	UpdatedAt time.Time
}
