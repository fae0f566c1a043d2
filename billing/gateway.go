package billing

import (
	"context"
	"errors"
	"time"

	"github.com/btcsuite/btcd/btcutil"
)

// Gateway is a payment method: it makes a payment request for an invoice and reports the
// payments made against it. The on-chain bitcoin gateway is the first one; a hosting company
// plugs in another (Lightning, a custodial processor) by implementing this interface. The
// package documentation explains how under "Writing a gateway".
type Gateway interface {
	// Method returns the gateway's stable name, stored with each invoice, such as
	// "bitcoin-onchain".
	Method() string

	// CreatePaymentRequest makes a request for the amount. It runs inside the store
	// transaction that inserts the invoice, so anything it allocates in the store (such
	// as a derivation index) is rolled back with the invoice. It must not make the request
	// visible outside the store before the transaction commits: watching starts in Watch.
	CreatePaymentRequest(ctx context.Context, tx StoreTx, params PaymentRequestParams) (
		PaymentRequest, error)

	// Watch starts reporting payments to the request's destination until the time given.
	// It is called after the invoice is committed, and again for every open invoice when
	// the service starts, so it must be idempotent.
	Watch(ctx context.Context, request PaymentRequest, until time.Time) error

	// Run reports payments to sink until ctx is cancelled or reporting fails. Each report
	// carries the payment's full current state, not a difference, so a report repeated
	// after a crash changes nothing. Run returns ctx.Err() on cancellation.
	Run(ctx context.Context, sink PaymentSink) error
}

// PaymentFollower is implemented by a Gateway that keeps reporting each payment until it
// has a number of confirmations, as the on-chain gateway does up to its tracker's depth.
// When the service starts, it has the gateway watch again every invoice with a payment
// below that depth, even after its monitoring window, so that a reorganisation of the
// payment is still reported.
type PaymentFollower interface {
	// FollowDepth returns the confirmation count at which the gateway stops reporting a
	// payment.
	FollowDepth() int32
}

// PaymentResumer is implemented by a Gateway that, after a restart, reports the payments
// made while it was stopped, as the on-chain gateway does by reading the blocks it missed.
// When the service starts, it has the gateway watch again every invoice whose monitoring
// window ended after ResumesFrom, so that a payment made within the window while the
// server was down still counts, however long the server was down.
type PaymentResumer interface {
	// ResumesFrom returns the earliest time whose payments the gateway may not have
	// reported yet, or the zero time when it has nothing to catch up.
	ResumesFrom(ctx context.Context) (time.Time, error)
}

// PaymentVanisher is implemented by a Gateway that can tell, after a restart, that an
// unconfirmed payment it reported before no longer exists: replaced, double-spent or dropped
// while it was stopped, when it could not report the change. The service then records the
// payment as removed, so that the invoice no longer counts it.
type PaymentVanisher interface {
	// PaymentVanished reports whether the unconfirmed payment to destination is gone. It
	// returns false when it cannot tell, and ErrGatewayCatchingUp while it cannot tell yet.
	PaymentVanished(ctx context.Context, destination string, payment Payment) (bool, error)
}

// ErrGatewayCatchingUp is returned by a gateway that cannot report yet because it has not
// caught up with the payments made while it was stopped.
var ErrGatewayCatchingUp = errors.New("billing: gateway still catching up")

// followDepth returns the gateway's FollowDepth, or 0 when it does not follow payments.
func followDepth(g Gateway) int32 {
	if f, ok := g.(PaymentFollower); ok {
		return f.FollowDepth()
	}
	return 0
}

// PaymentRequestParams contains the inputs a gateway needs to make a payment request.
type PaymentRequestParams struct {
	// InvoiceID is the invoice being paid; Label a short text a wallet may show.
	InvoiceID string
	Label     string
	// Amount is the amount due.
	Amount btcutil.Amount
	// ExpiresAt is the invoice's expiry, which a request format such as BIP21 may carry.
	ExpiresAt time.Time
}

// PaymentRequest is the payment target presented to the customer.
type PaymentRequest struct {
	// Destination is the payment destination, unique per invoice, such as a bitcoin address.
	Destination string
	// URI is the request in the form a wallet opens, such as a BIP21 URI.
	URI string
	// Account and DerivationIndex locate an on-chain destination in the operator's account
	// key; other gateways leave them empty.
	Account         string
	DerivationIndex uint32
}

// PaymentUpdate is a gateway's report of one payment to a destination.
type PaymentUpdate struct {
	// Destination is the request's destination the payment pays.
	Destination string
	// Payment is the payment's current state. Its InvoiceID may be empty, because the
	// gateway tracks destinations rather than invoices.
	Payment Payment
}

// PaymentSink receives payment reports from a gateway. An error makes the gateway retry the
// report later (for example after a restart, from its saved cursor).
type PaymentSink interface {
	HandlePayment(ctx context.Context, update PaymentUpdate) error
}

// PaymentSinkFunc adapts a function to PaymentSink.
type PaymentSinkFunc func(ctx context.Context, update PaymentUpdate) error

// HandlePayment calls f.
func (f PaymentSinkFunc) HandlePayment(ctx context.Context, update PaymentUpdate) error {
	return f(ctx, update)
}
