package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/instars/instars/billing"
	"github.com/instars/instars/eucalyptus"
)

// adminOverview is the admin front page's data. The figures count every row in the
// database, but the series is drawn from the newest invoices and leases only.
type adminOverview struct {
	GapLimit     *billing.GapLimitWarning `json:"gap_limit_warning"`
	Alerts       []billing.Alert          `json:"alerts"`
	OpenInvoices int                      `json:"open_invoices"`
	Running      int                      `json:"running_instances"`
	RevenueSat   int64                    `json:"revenue_sat"`
	Series       []chartPoint             `json:"series"`
	// SeriesPartial is true when there are more invoices or leases than the lists return
	// (10000 each), so the series covers only the newest of them.
	SeriesPartial bool    `json:"series_partial"`
	Charts        []chart `json:"-"`
}

// reconcileJSON compares payments, the store and the cloud.
type reconcileJSON struct {
	CheckedAt time.Time `json:"checked_at"`
	// SettledWithoutLease are paid invoices that have no lease.
	SettledWithoutLease []string `json:"settled_without_lease"`
	// LeasesWithoutPayment are leases whose invoice is not settled.
	LeasesWithoutPayment []string `json:"leases_without_payment"`
	// UnknownInstances are live instances tagged with a lease the store does not expect.
	UnknownInstances []string `json:"unknown_instances"`
	// MissingInstances are running leases whose instance is gone.
	MissingInstances []string `json:"missing_instances"`
	// OverdueInstances are live instances past their paid time.
	OverdueInstances []string              `json:"overdue_instances"`
	Instances        []eucalyptus.Instance `json:"instances"`
}

func (w *webServer) registerAdmin() {
	w.handle("GET", "/admin", adminOnly, w.adminPage)
	w.handle("GET", "/admin/invoices", adminOnly, w.adminInvoicesPage)
	w.handle("POST", "/admin/invoices/accept", adminOnly, w.adminAcceptLateForm)
	w.handle("POST", "/admin/invoices/decline", adminOnly, w.adminDeclineLateForm)
	w.handle("GET", "/admin/leases", adminOnly, w.adminLeasesPage)
	w.handle("GET", "/admin/instances", adminOnly, w.adminInstancesPage)
	w.handle("GET", "/admin/webhooks", adminOnly, w.adminWebhooksPage)
	w.handle("POST", "/admin/webhooks/redeliver", adminOnly, w.adminRedeliverForm)
	w.handle("GET", "/admin/refunds", adminOnly, w.adminRefundsPage)
	w.handle("POST", "/admin/refunds/paid", adminOnly, w.adminRefundPaidForm)
	w.handle("GET", "/admin/reconcile", adminOnly, w.adminReconcilePage)

	w.handle("GET", "/api/v1/admin/overview", adminOnly, w.apiAdminOverview)
	w.handle("GET", "/api/v1/admin/invoices", adminOnly, w.apiAdminInvoices)
	w.handle("POST", "/api/v1/admin/invoices/{id}/accept", adminOnly, w.apiAcceptLate)
	w.handle("POST", "/api/v1/admin/invoices/{id}/decline", adminOnly, w.apiDeclineLate)
	w.handle("GET", "/api/v1/admin/leases", adminOnly, w.apiAdminLeases)
	w.handle("GET", "/api/v1/admin/instances", adminOnly, w.apiAdminInstances)
	w.handle("GET", "/api/v1/admin/webhooks", adminOnly, w.apiAdminWebhooks)
	w.handle("POST", "/api/v1/admin/webhooks/{event}/redeliver", adminOnly, w.apiRedeliver)
	w.handle("GET", "/api/v1/admin/refunds", adminOnly, w.apiAdminRefunds)
	w.handle("GET", "/api/v1/admin/refunds.csv", adminOnly, w.apiRefundsCSV)
	w.handle("GET", "/api/v1/admin/refunds.psbt", adminOnly, w.apiRefundsPSBT)
	w.handle("POST", "/api/v1/admin/refunds/{id}/paid", adminOnly, w.apiRefundPaid)
	w.handle("GET", "/api/v1/admin/reconcile", adminOnly, w.apiReconcile)
}

func (w *webServer) overview(ctx context.Context) (*adminOverview, error) {
	o := &adminOverview{}
	var err error
	if o.GapLimit, err = w.st.gateway.CheckGapLimit(ctx, w.st.store); err != nil {
		return nil, err
	}
	if o.Alerts, err = w.st.service.Alerts(ctx, 50); err != nil {
		return nil, err
	}
	totals, err := w.st.service.Totals(ctx)
	if err != nil {
		return nil, err
	}
	o.OpenInvoices = int(totals.InvoicesByState[billing.StateNew] +
		totals.InvoicesByState[billing.StateProcessing])
	o.RevenueSat = int64(totals.SettledSatoshis)
	o.Running = int(totals.InstancesRunning)

	invoices, err := w.st.service.ListInvoices(ctx, "")
	if err != nil {
		return nil, err
	}
	leases, err := w.st.service.ListLeases(ctx, "")
	if err != nil {
		return nil, err
	}
	var invoiceCount, leaseCount int64
	for _, n := range totals.InvoicesByState {
		invoiceCount += n
	}
	for _, n := range totals.LeasesByStatus {
		leaseCount += n
	}
	o.SeriesPartial = invoiceCount > int64(len(invoices)) || leaseCount > int64(len(leases))
	now := w.st.service.Now()
	o.Series = history(invoices, leases, now, 48)
	o.Charts = []chart{
		newChart("Revenue, settled invoices (sat)", o.Series, func(p chartPoint) int64 {
			return p.RevenueSat
		}),
		newChart("Open invoices", o.Series, func(p chartPoint) int64 { return p.OpenInvoices }),
		newChart("Running instances", o.Series, func(p chartPoint) int64 { return p.Running }),
	}
	return o, nil
}

func (w *webServer) adminRender(rw http.ResponseWriter, r *http.Request, name, title string,
	v any, err error,
) {
	if err != nil {
		w.pageError(rw, r, err)
		return
	}
	data := w.newPage(title)
	data.Admin = v
	data.Flash = r.URL.Query().Get("done")
	w.render(rw, r, name, http.StatusOK, data)
}

func (w *webServer) adminPage(rw http.ResponseWriter, r *http.Request) {
	o, err := w.overview(r.Context())
	w.adminRender(rw, r, "admin", "Admin", o, err)
}

func (w *webServer) adminInvoicesPage(rw http.ResponseWriter, r *http.Request) {
	v, err := w.adminInvoiceRows(r.Context())
	w.adminRender(rw, r, "admin_invoices", "Invoices", v, err)
}

func (w *webServer) adminLeasesPage(rw http.ResponseWriter, r *http.Request) {
	v, err := w.leaseViews(r.Context())
	w.adminRender(rw, r, "admin_leases", "Leases", v, err)
}

func (w *webServer) adminInstancesPage(rw http.ResponseWriter, r *http.Request) {
	v, err := w.reconcile(r.Context())
	w.adminRender(rw, r, "admin_instances", "Instances", v, err)
}

func (w *webServer) adminWebhooksPage(rw http.ResponseWriter, r *http.Request) {
	v, err := w.st.service.WebhookDeliveries(r.Context(), "")
	w.adminRender(rw, r, "admin_webhooks", "Webhook deliveries", v, err)
}

func (w *webServer) adminRefundsPage(rw http.ResponseWriter, r *http.Request) {
	v, err := w.st.service.Refunds(r.Context(), "", "")
	w.adminRender(rw, r, "admin_refunds", "Refunds", v, err)
}

func (w *webServer) adminReconcilePage(rw http.ResponseWriter, r *http.Request) {
	v, err := w.reconcile(r.Context())
	w.adminRender(rw, r, "admin_reconcile", "Reconciliation", v, err)
}

func (w *webServer) adminRedeliverForm(rw http.ResponseWriter, r *http.Request) {
	event, endpoint := r.PostFormValue("event"), r.PostFormValue("endpoint")
	if err := w.redeliver(r.Context(), event, endpoint); err != nil {
		w.pageError(rw, r, err)
		return
	}
	http.Redirect(rw, r, "/admin/webhooks?done="+url.QueryEscape("Event "+event+
		" queued for "+endpoint+"."), http.StatusSeeOther)
}

func (w *webServer) adminRefundPaidForm(rw http.ResponseWriter, r *http.Request) {
	id, txid := r.PostFormValue("refund"), r.PostFormValue("txid")
	if _, err := w.markRefundPaid(r.Context(), id, txid); err != nil {
		w.pageError(rw, r, err)
		return
	}
	http.Redirect(rw, r, "/admin/refunds?done="+url.QueryEscape("Refund "+id+
		" marked paid."), http.StatusSeeOther)
}

func (w *webServer) leaseViews(ctx context.Context) ([]leaseJSON, error) {
	leases, err := w.st.service.ListLeases(ctx, "")
	if err != nil {
		return nil, err
	}
	now := w.st.service.Now()
	out := make([]leaseJSON, 0, len(leases))
	for _, l := range leases {
		out = append(out, leaseView(l, now))
	}
	return out, nil
}

// reconcile compares the invoices, the leases and the cloud's instances.
func (w *webServer) reconcile(ctx context.Context) (*reconcileJSON, error) {
	mismatches, err := w.st.service.PaymentMismatches(ctx)
	if err != nil {
		return nil, err
	}
	leases, err := w.st.service.RunningLeases(ctx)
	if err != nil {
		return nil, err
	}
	out := &reconcileJSON{CheckedAt: w.st.service.Now(),
		SettledWithoutLease:  mismatches.SettledWithoutLease,
		LeasesWithoutPayment: mismatches.LeasesWithoutPayment, UnknownInstances: []string{},
		MissingInstances: []string{}, OverdueInstances: []string{}}
	var expected []eucalyptus.Expected
	for _, l := range leases {
		if l.InstanceTerminatedAt.IsZero() {
			expected = append(expected, eucalyptus.Expected{LeaseID: l.ID,
				InstanceID: l.InstanceID, PaidUntil: l.GraceEndsAt})
		}
	}

	report, err := w.st.driver.Reconcile(ctx, expected)
	if err != nil {
		return nil, fmt.Errorf("reading the cloud's instances: %w", err)
	}
	out.Instances = report.Instances
	for _, i := range report.Unknown {
		out.UnknownInstances = append(out.UnknownInstances, i.ID+" (lease "+i.LeaseID+")")
	}
	for _, m := range report.Missing {
		out.MissingInstances = append(out.MissingInstances, m.Expected.LeaseID)
	}
	for _, o := range report.Overdue {
		out.OverdueInstances = append(out.OverdueInstances, o.Instance.ID)
	}
	return out, nil
}

func (w *webServer) apiAdminOverview(rw http.ResponseWriter, r *http.Request) {
	w.writeResult(rw, r)(w.overview(r.Context()))
}

func (w *webServer) apiAdminInvoices(rw http.ResponseWriter, r *http.Request) {
	invoices, err := w.st.service.ListInvoices(r.Context(), r.URL.Query().Get("customer"))
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	out := make([]invoiceJSON, 0, len(invoices))
	for _, inv := range invoices {
		v, err := w.st.invoiceView(r.Context(), inv)
		if err != nil {
			w.writeError(rw, r, err)
			return
		}
		out = append(out, v)
	}
	writeJSON(rw, http.StatusOK, map[string]any{"invoices": out})
}

func (w *webServer) apiAdminLeases(rw http.ResponseWriter, r *http.Request) {
	v, err := w.leaseViews(r.Context())
	w.writeResult(rw, r)(map[string]any{"leases": v}, err)
}

func (w *webServer) apiAdminInstances(rw http.ResponseWriter, r *http.Request) {
	v, err := w.reconcile(r.Context())
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]any{"instances": v.Instances})
}

func (w *webServer) apiAdminWebhooks(rw http.ResponseWriter, r *http.Request) {
	v, err := w.st.service.WebhookDeliveries(r.Context(), r.URL.Query().Get("event"))
	w.writeResult(rw, r)(map[string]any{"deliveries": v}, err)
}

func (w *webServer) apiRedeliver(rw http.ResponseWriter, r *http.Request) {
	endpoint := r.URL.Query().Get("endpoint")
	err := w.redeliver(r.Context(), r.PathValue("event"), endpoint)
	w.writeResult(rw, r)(map[string]string{"queued": r.PathValue("event")}, err)
}

func (w *webServer) refundsQuery(r *http.Request) ([]billing.Refund, error) {
	return w.st.service.Refunds(r.Context(), r.URL.Query().Get("customer"),
		billing.RefundState(r.URL.Query().Get("state")))
}

func (w *webServer) apiAdminRefunds(rw http.ResponseWriter, r *http.Request) {
	refunds, err := w.refundsQuery(r)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	data, err := billing.MarshalRefundsJSON(refunds)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	_, _ = rw.Write(data)
}

func (w *webServer) apiRefundsCSV(rw http.ResponseWriter, r *http.Request) {
	refunds, err := w.refundsQuery(r)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="refunds.csv"`)
	if err := billing.WriteRefundsCSV(rw, refunds); err != nil {
		w.logger.Error("writing refunds CSV failed", "error", err)
	}
}

func (w *webServer) apiRefundsPSBT(rw http.ResponseWriter, r *http.Request) {
	refunds, err := w.refundsQuery(r)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	psbt, err := billing.RefundsPSBT(refunds, w.st.network.Params)
	if err != nil {
		w.writeError(rw, r, fmt.Errorf("%w: %v", errBadRequest, err))
		return
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="refunds.psbt.txt"`)
	_, _ = rw.Write([]byte(psbt + "\n"))
}

func (w *webServer) apiRefundPaid(rw http.ResponseWriter, r *http.Request) {
	txid := r.URL.Query().Get("txid")
	refund, err := w.markRefundPaid(r.Context(), r.PathValue("id"), txid)
	w.writeResult(rw, r)(map[string]string{"id": refund.ID, "state": string(refund.State),
		"txid": refund.TxID}, err)
}

func (w *webServer) apiReconcile(rw http.ResponseWriter, r *http.Request) {
	w.writeResult(rw, r)(w.reconcile(r.Context()))
}

// writeResult returns a function that writes a value or an error, for one-line handlers.
func (w *webServer) writeResult(rw http.ResponseWriter, r *http.Request) func(any, error) {
	return func(v any, err error) {
		if err != nil {
			w.writeError(rw, r, err)
			return
		}
		writeJSON(rw, http.StatusOK, v)
	}
}

// redeliver queues an event for a configured webhook endpoint again. An endpoint that the
// configuration does not name is the request's mistake, so it is rejected as such.
func (w *webServer) redeliver(ctx context.Context, event, endpoint string) error {
	var names []string
	for _, hook := range w.st.cfg.Webhooks {
		if hook.Name == endpoint {
			return w.st.service.RedeliverWebhook(ctx, event, endpoint)
		}
		names = append(names, hook.Name)
	}
	return fmt.Errorf("%w: unknown webhook endpoint %q: expected one of %s", errBadRequest,
		endpoint, strings.Join(names, ", "))
}

// refundTxid is the form of a transaction ID that MarkRefundPaid accepts.
var refundTxid = regexp.MustCompile(`^[0-9a-f]{64}$`)

// markRefundPaid records the transaction that paid a refund, once the txid has that form.
func (w *webServer) markRefundPaid(ctx context.Context, id, txid string) (billing.Refund,
	error,
) {
	if !refundTxid.MatchString(txid) {
		return billing.Refund{}, fmt.Errorf("%w: invalid txid %q: expected 64 lower-case hex "+
			"digits", errBadRequest, txid)
	}
	return w.st.service.MarkRefundPaid(ctx, id, txid)
}
