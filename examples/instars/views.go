package main

import (
	"context"
	"errors"
	"time"

	"github.com/instars/instars/billing"
	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/metering"
)

// planJSON is a plan as the API and the pages show it.
type planJSON struct {
	metering.Plan
	// PriceText is the price of one unit for people, such as "20000 sat" or "5.00 USD".
	PriceText string `json:"price_text"`
	// UnitsPerOrder is how many units an order without units buys: the plan's minimum.
	// Duration is the paid time those units buy.
	UnitsPerOrder int64  `json:"units_per_order"`
	Duration      string `json:"duration"`
}

func planView(p metering.Plan) planJSON {
	v := planJSON{Plan: p, PriceText: priceText(p.Price), UnitsPerOrder: p.MinUnits}
	if seconds, err := p.SecondsFor(p.MinUnits); err == nil {
		v.Duration = (time.Duration(seconds) * time.Second).String()
	}
	return v
}

// invoiceJSON is an invoice with its payment progress and, once paid, its lease.
type invoiceJSON struct {
	ID        string `json:"id"`
	OrderID   string `json:"order_id"`
	State     string `json:"state"`
	Status    string `json:"status"`
	AmountSat int64  `json:"amount_sat"`
	AmountBTC string `json:"amount_btc"`
	PaidSat   int64  `json:"paid_sat"`
	// ConfirmedSat is the part of PaidSat that meets the confirmation policy.
	ConfirmedSat int64  `json:"confirmed_sat"`
	Price        string `json:"price"`
	Address      string `json:"address"`
	PaymentURI   string `json:"payment_uri"`
	// Confirmations is the depth of the least confirmed payment that counts, and
	// RequiredConfirmations the depth the policy requires.
	Confirmations         int32     `json:"confirmations"`
	RequiredConfirmations int32     `json:"required_confirmations"`
	Payments              int       `json:"payments"`
	CreatedAt             time.Time `json:"created_at"`
	ExpiresAt             time.Time `json:"expires_at"`
	// SecondsLeft is the time until expiry by the server's clock, 0 once passed.
	SecondsLeft int64      `json:"seconds_left"`
	Final       bool       `json:"final"`
	Lease       *leaseJSON `json:"lease,omitempty"`
	// LatePaymentHeld marks an invoice paid after its expiry that waits for the operator
	// to accept it (the lease starts or is extended) or decline it (a refund is recorded).
	LatePaymentHeld bool `json:"late_payment_held"`
	// Message is the invoice's current status and next step, in plain words.
	Message string `json:"message"`
}

// leaseJSON is a lease as the API and the pages show it.
type leaseJSON struct {
	ID         string `json:"id"`
	InvoiceID  string `json:"invoice_id"`
	Plan       string `json:"plan"`
	Customer   string `json:"customer"`
	Status     string `json:"status"`
	State      string `json:"state"`
	InstanceID string `json:"instance_id,omitempty"`
	Address    string `json:"address,omitempty"`
	// HostKeys are the instance's SSH host key fingerprints.
	HostKeys    []billing.HostKey `json:"host_keys,omitempty"`
	StartedAt   *time.Time        `json:"started_at,omitempty"`
	EndsAt      *time.Time        `json:"ends_at,omitempty"`
	GraceEndsAt *time.Time        `json:"grace_ends_at,omitempty"`
	// SecondsLeft is the paid time left by the server's clock.
	SecondsLeft       int64      `json:"seconds_left"`
	Suspended         bool       `json:"suspended"`
	CredentialsReady  bool       `json:"credentials_ready"`
	TerminatedAt      *time.Time `json:"instance_terminated_at,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	CredentialsURL    string     `json:"credentials_url"`
	InstanceRunning   bool       `json:"instance_running"`
	InstanceFinalized bool       `json:"instance_finished"`
}

func timePointer(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func leaseView(l *billing.Lease, now time.Time) leaseJSON {
	v := leaseJSON{
		ID: l.ID, InvoiceID: l.InvoiceID, Plan: l.PlanID, Customer: l.Customer,
		Status: string(l.Status), State: string(l.State), InstanceID: l.InstanceID,
		Address: l.Address, HostKeys: l.HostKeys, StartedAt: timePointer(l.StartedAt),
		EndsAt: timePointer(l.EndsAt), GraceEndsAt: timePointer(l.GraceEndsAt),
		Suspended: l.Suspended, TerminatedAt: timePointer(l.InstanceTerminatedAt),
		CreatedAt: l.CreatedAt, CredentialsURL: "/api/v1/leases/" + l.ID + "/credentials",
		InstanceRunning:   l.Status == billing.LeaseRunning && l.InstanceTerminatedAt.IsZero(),
		InstanceFinalized: !l.InstanceTerminatedAt.IsZero() || l.Status == billing.LeaseEnded,
	}
	v.CredentialsReady = l.Status == billing.LeaseRunning || l.Status == billing.LeaseEnded
	if !l.EndsAt.IsZero() && l.EndsAt.After(now) {
		v.SecondsLeft = int64(l.EndsAt.Sub(now) / time.Second)
	}
	return v
}

// priceText formats a plan's price for people: a fiat price with its decimal point, such
// as "5.00 USD", rather than in minor units.
func priceText(p metering.Price) string {
	if !p.IsFiat() {
		return p.String()
	}
	return billing.Price{Currency: p.Currency, Amount: p.FiatMinor}.String()
}

// invoiceView builds the invoice's JSON with its payments and lease, if any.
func (s *stack) invoiceView(ctx context.Context, inv *billing.Invoice) (invoiceJSON, error) {
	now := s.service.Now()
	v := invoiceJSON{
		ID: inv.ID, OrderID: inv.OrderID, State: inv.State.String(),
		Status: inv.Status.String(), AmountSat: int64(inv.Amount),
		AmountBTC: bitcoin.FormatBTCFixed(inv.Amount), PaidSat: int64(inv.Paid),
		ConfirmedSat: int64(inv.Confirmed), Price: inv.Price.String(),
		Address: inv.Destination, PaymentURI: s.payableURI(inv),
		RequiredConfirmations: inv.Policy.RequiredDepth(inv.Amount),
		CreatedAt:             inv.CreatedAt, ExpiresAt: inv.ExpiresAt,
		Final: inv.State == billing.StateSettled || inv.State == billing.StateExpired ||
			inv.State == billing.StateInvalid,
	}
	if inv.ExpiresAt.After(now) {
		v.SecondsLeft = int64(inv.ExpiresAt.Sub(now) / time.Second)
	}
	payments, err := s.service.Payments(ctx, inv.ID)
	if err != nil {
		return v, err
	}
	first := true
	for _, p := range payments {
		if p.State != billing.PaymentSeen {
			continue
		}
		v.Payments++
		if first || p.Confirmations < v.Confirmations {
			v.Confirmations = p.Confirmations
		}
		first = false
	}
	lease, err := s.service.LeaseForInvoice(ctx, inv.ID)
	switch {
	case err == nil:
		lv := leaseView(lease, now)
		v.Lease = &lv
	case !errors.Is(err, billing.ErrNotFound):
		return v, err
	}
	if v.LatePaymentHeld, err = s.service.LatePaymentHeld(ctx, inv.ID); err != nil {
		return v, err
	}
	v.Message = invoiceMessage(v)
	return v, nil
}

// invoiceMessage describes the invoice's status in words a customer understands.
func invoiceMessage(v invoiceJSON) string {
	switch v.State {
	case billing.StateProcessing.String():
		return "Payment received; waiting for confirmations."
	case billing.StateExpired.String():
		return "Expired: no full payment arrived in time. Submit a new order."
	case billing.StateInvalid.String():
		return "Invalid: the payment was lost or not enough. See the status."
	case billing.StateNew.String():
		if v.PaidSat > 0 {
			return "Partly paid: pay the rest of the amount to the same address."
		}
		return "Waiting for payment."
	}
	switch {
	case v.LatePaymentHeld:
		return "Paid after the invoice expired: the operator decides whether the payment " +
			"buys the lease or is refunded."
	case v.Lease == nil:
		return "Paid in full."
	case v.Lease.InstanceFinalized:
		return "The lease has ended and its instance is terminated."
	case v.Lease.Status == string(billing.LeaseFailed):
		return "The instance could not be launched; the payment is recorded as a refund."
	case v.Lease.InstanceRunning:
		return "Paid. The instance is running: fetch the credentials."
	default:
		return "Paid. The instance is being launched."
	}
}
