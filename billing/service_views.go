package billing

import (
	"time"

	"github.com/instars/instars/bitcoin"
)

// InvoiceView is the JSON form of an invoice in events and webhooks.
type InvoiceView struct {
	ID           string    `json:"id"`
	OrderID      string    `json:"order_id"`
	State        string    `json:"state"`
	Status       string    `json:"status"`
	AmountSat    int64     `json:"amount_sat"`
	AmountBTC    string    `json:"amount_btc"`
	PaidSat      int64     `json:"paid_sat"`
	ConfirmedSat int64     `json:"confirmed_sat"`
	Destination  string    `json:"destination"`
	PaymentURI   string    `json:"payment_uri"`
	Price        string    `json:"price"`
	ExpiresAt    time.Time `json:"expires_at"`
	Reverted     bool      `json:"settlement_reverted,omitempty"`
}

func invoiceView(inv *Invoice) InvoiceView {
	return InvoiceView{
		ID: inv.ID, OrderID: inv.OrderID, State: inv.State.String(),
		Status: inv.Status.String(), AmountSat: int64(inv.Amount),
		AmountBTC: bitcoin.FormatBTCFixed(inv.Amount), PaidSat: int64(inv.Paid),
		ConfirmedSat: int64(inv.Confirmed), Destination: inv.Destination,
		PaymentURI: inv.PaymentURI, Price: inv.Price.String(), ExpiresAt: inv.ExpiresAt,
		Reverted: inv.SettlementReverted,
	}
}

// LeaseView is the JSON form of a lease in events and webhooks.
type LeaseView struct {
	ID          string    `json:"id"`
	InvoiceID   string    `json:"invoice_id"`
	Plan        string    `json:"plan"`
	Status      string    `json:"status"`
	State       string    `json:"state"`
	InstanceID  string    `json:"instance_id,omitempty"`
	Address     string    `json:"address,omitempty"`
	HostKeys    []HostKey `json:"host_keys,omitempty"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	EndsAt      time.Time `json:"ends_at,omitzero"`
	GraceEndsAt time.Time `json:"grace_ends_at,omitzero"`
	Suspended   bool      `json:"suspended,omitempty"`
}

func leaseView(l *Lease) LeaseView {
	return LeaseView{
		ID: l.ID, InvoiceID: l.InvoiceID, Plan: l.PlanID, Status: string(l.Status),
		State: string(l.State), InstanceID: l.InstanceID, Address: l.Address,
		HostKeys: l.HostKeys, StartedAt: l.StartedAt, EndsAt: l.EndsAt,
		GraceEndsAt: l.GraceEndsAt, Suspended: l.Suspended,
	}
}

// reminderView is the data of a lease.reminder event.
type reminderView struct {
	LeaseView
	Reminder string    `json:"reminder"`
	DueAt    time.Time `json:"due_at"`
}

func refundView(r Refund) refundJSON {
	return refundJSON{
		ID: r.ID, Customer: r.Customer, InvoiceID: r.InvoiceID, LeaseID: r.LeaseID,
		Reason: string(r.Reason), AmountSat: int64(r.Amount),
		AmountBTC: bitcoin.FormatBTCFixed(r.Amount), Address: r.Address, State: string(r.State),
		TxID: r.TxID, CreatedAt: r.CreatedAt.Format(time.RFC3339),
	}
}
