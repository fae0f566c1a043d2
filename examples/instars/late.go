package main

import (
	"context"
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

// adminInvoiceRows lists the newest invoices (at most 10000) and every held late payment,
// oldest first, marking the held ones. A held payment older than the newest invoices is
// still listed, because it waits for the admin's decision.
func (w *webServer) adminInvoiceRows(ctx context.Context) ([]adminInvoiceRow, error) {
	held, err := w.st.service.HeldLatePayments(ctx)
	if err != nil {
		return nil, err
	}
	invoices, err := w.st.service.ListInvoices(ctx, "")
	if err != nil {
		return nil, err
	}
	listed := make(map[string]bool, len(invoices))
	for _, inv := range invoices {
		listed[inv.ID] = true
	}
	isHeld := make(map[string]bool, len(held))
	rows := make([]adminInvoiceRow, 0, len(held)+len(invoices))
	// Both lists are oldest first, and a held invoice missing from the newest ones is
	// older than all of them, so it goes first.
	for _, inv := range held {
		isHeld[inv.ID] = true
		if !listed[inv.ID] {
			rows = append(rows, adminInvoiceRow{Invoice: inv, LateHeld: true})
		}
	}
	for _, inv := range invoices {
		rows = append(rows, adminInvoiceRow{Invoice: inv, LateHeld: isHeld[inv.ID]})
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
