package billing

import (
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
)

// ConfirmationPolicy says when a payment is final enough to deliver what it pays for. It is
// set per plan and copied into each invoice, so changing a plan does not change invoices
// already made.
//
// A payment is accepted when it has at least RequiredDepth confirmations for the invoice's
// amount, or when zero-confirmation payments are allowed, the transaction does not signal
// replaceability (BIP125) and the invoice's amount is at most ZeroConfMax.
type ConfirmationPolicy struct {
	// Depth is the number of confirmations required; 0 means the default, 1.
	Depth int32
	// HighValueThreshold, when above zero, is the invoice amount from which HighValueDepth
	// applies instead of Depth.
	HighValueThreshold btcutil.Amount
	// HighValueDepth is the depth for invoices of at least HighValueThreshold; 0 means the
	// default, 6.
	HighValueDepth int32
	// ZeroConf allows accepting a payment still in the mempool if it does not signal RBF.
	//
	// NOTE: Bitcoin Core 28.0 and later also replace transactions that do not signal
	// BIP125 (mempoolfullrbf defaults to on in 28.0, and 29.0 removed the option), so a
	// payment accepted unconfirmed can still be double-spent. Keep ZeroConfMax to what
	// the operator can afford to lose.
	ZeroConf bool
	// ZeroConfMax, when above zero, is the largest invoice amount accepted at zero
	// confirmations.
	ZeroConfMax btcutil.Amount
}

// Default confirmation depths.
const (
	DefaultDepth          = 1
	DefaultHighValueDepth = 6
)

// maxDepth bounds configured depths to a day of blocks; a larger value is a typo.
const maxDepth = 144

// Validate returns an error naming the first field that is out of range.
func (p ConfirmationPolicy) Validate() error {
	if p.Depth < 0 || p.Depth > maxDepth {
		return fmt.Errorf("invalid confirmation depth %d: expected 0 (default %d) to %d",
			p.Depth, DefaultDepth, maxDepth)
	}
	if p.HighValueDepth < 0 || p.HighValueDepth > maxDepth {
		return fmt.Errorf("invalid high-value confirmation depth %d: expected 0 (default %d) "+
			"to %d", p.HighValueDepth, DefaultHighValueDepth, maxDepth)
	}
	if p.HighValueThreshold < 0 {
		return fmt.Errorf("invalid high-value threshold %d sat: expected 0 (none) or more",
			int64(p.HighValueThreshold))
	}
	if p.ZeroConfMax < 0 {
		return fmt.Errorf("invalid zero-confirmation maximum %d sat: expected 0 (no limit) "+
			"or more", int64(p.ZeroConfMax))
	}
	return nil
}

// RequiredDepth returns the confirmations a payment on an invoice of the given amount needs.
func (p ConfirmationPolicy) RequiredDepth(invoiceAmount btcutil.Amount) int32 {
	if p.HighValueThreshold > 0 && invoiceAmount >= p.HighValueThreshold {
		if p.HighValueDepth == 0 {
			return DefaultHighValueDepth
		}
		return p.HighValueDepth
	}
	if p.Depth == 0 {
		return DefaultDepth
	}
	return p.Depth
}

// DeepestDepth returns the most confirmations any invoice needs under the policy, defaults
// applied: the high-value depth when a threshold is set, else the depth. A gateway that
// stops following payments below it can never settle such invoices.
func (p ConfirmationPolicy) DeepestDepth() int32 {
	deepest := p.RequiredDepth(0)
	if p.HighValueThreshold > 0 {
		deepest = max(deepest, p.RequiredDepth(p.HighValueThreshold))
	}
	return deepest
}

// Accepts reports whether the payment is final enough on an invoice of the given amount.
func (p ConfirmationPolicy) Accepts(invoiceAmount btcutil.Amount, pay Payment) bool {
	if pay.State != PaymentSeen {
		return false
	}
	if pay.Confirmations >= p.RequiredDepth(invoiceAmount) {
		return true
	}
	// A payment that would be accepted unconfirmed stays accepted as it gains depth.
	if !p.ZeroConf || pay.SignalsRBF {
		return false
	}
	return p.ZeroConfMax == 0 || invoiceAmount <= p.ZeroConfMax
}
