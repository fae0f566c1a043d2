package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/instars/instars/billing"
)

// adminInvoiceRow is an invoice on the admin invoices page.
type adminInvoiceRow struct {
	*billing.Invoice
	// LateHeld marks a late payment that waits for the admin to accept or decline it.
	LateHeld bool
}

// latePaymentHeld reports whether the invoice was paid only after its expiry and neither
// bought its lease or extension nor became a refund yet. That happens under
// late_payments "hold" (or to invoices held before the policy changed), and lasts until the
// admin accepts or declines the payment.
func (s *stack) latePaymentHeld(ctx context.Context, inv *billing.Invoice) (bool, error) {
	if inv.State != billing.StateSettled || inv.Status != billing.StatusPaidLate {
		return false, nil
	}
	lease, err := s.service.LeaseForInvoice(ctx, inv.ID)
	switch {
	case err == nil:
		if lease.InvoiceID == inv.ID {
			return false, nil
		}
		for _, ext := range lease.Meter.Extensions {
			if ext.ID == inv.ID {
				return false, nil
			}
		}
	case !errors.Is(err, billing.ErrNotFound):
		return false, err
	}
	order, err := s.store.Order(ctx, inv.OrderID)
	if err != nil {
		return false, err
	}
	refunds, err := s.service.Refunds(ctx, order.Customer, "")
	if err != nil {
		return false, err
	}
	for _, r := range refunds {
		if r.InvoiceID == inv.ID && r.Reason == billing.RefundLateDeclined {
			return false, nil
		}
	}
	return true, nil
}

// adminInvoiceRows lists every invoice, marking the held late payments.
func (w *webServer) adminInvoiceRows(ctx context.Context) ([]adminInvoiceRow, error) {
	invoices, err := w.st.service.ListInvoices(ctx, "")
	if err != nil {
		return nil, err
	}
	rows := make([]adminInvoiceRow, 0, len(invoices))
	for _, inv := range invoices {
		held, err := w.st.latePaymentHeld(ctx, inv)
		if err != nil {
			return nil, err
		}
		rows = append(rows, adminInvoiceRow{Invoice: inv, LateHeld: held})
	}
	return rows, nil
}

// decideLatePayment accepts or declines a held late payment. An invoice that is not a late
// payment is the request's mistake, not a server fault.
func (w *webServer) decideLatePayment(ctx context.Context, invoiceID string, accept bool) error {
	inv, err := w.st.service.Invoice(ctx, invoiceID)
	if err != nil {
		return err
	}
	if inv.State != billing.StateSettled || inv.Status != billing.StatusPaidLate {
		return fmt.Errorf("%w: invoice %s is %s (%s), expected a settled invoice paid late",
			errBadRequest, invoiceID, inv.State, inv.Status)
	}
	if accept {
		return w.st.service.AcceptLatePayment(ctx, invoiceID)
	}
	return w.st.service.DeclineLatePayment(ctx, invoiceID)
}

func (w *webServer) adminAcceptLateForm(rw http.ResponseWriter, r *http.Request) {
	w.adminLateForm(rw, r, true)
}

func (w *webServer) adminDeclineLateForm(rw http.ResponseWriter, r *http.Request) {
	w.adminLateForm(rw, r, false)
}

func (w *webServer) adminLateForm(rw http.ResponseWriter, r *http.Request, accept bool) {
	id := r.PostFormValue("invoice")
	if err := w.decideLatePayment(r.Context(), id, accept); err != nil {
		w.pageError(rw, r, err)
		return
	}
	done := "Late payment of invoice " + id + " accepted: its lease is being provisioned " +
		"or extended."
	if !accept {
		done = "Late payment of invoice " + id + " declined: a refund is recorded."
	}
	http.Redirect(rw, r, "/admin/invoices?done="+url.QueryEscape(done), http.StatusSeeOther)
}

func (w *webServer) apiAcceptLate(rw http.ResponseWriter, r *http.Request) {
	w.apiLate(rw, r, true)
}

func (w *webServer) apiDeclineLate(rw http.ResponseWriter, r *http.Request) {
	w.apiLate(rw, r, false)
}

func (w *webServer) apiLate(rw http.ResponseWriter, r *http.Request, accept bool) {
	id := r.PathValue("id")
	if err := w.decideLatePayment(r.Context(), id, accept); err != nil {
		w.writeError(rw, r, err)
		return
	}
	inv, err := w.st.service.Invoice(r.Context(), id)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	w.writeInvoice(rw, r, inv, http.StatusOK)
}
