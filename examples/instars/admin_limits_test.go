package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/instars/instars/billing"
	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/metering"
)

// listLimit is the number of rows the billing service's list methods return.
const listLimit = 10000

// testCustomer is the fingerprint the rows written by writeRows belong to.
const testCustomer = "0123456789ABCDEF0123456789ABCDEF01234567"

// rowInvoice is an invoice that writeRows stores with its order and service record.
type rowInvoice struct {
	state     billing.InvoiceState
	status    billing.AdditionalStatus
	paid      btcutil.Amount
	createdAt time.Time
}

// rowLease is a lease that writeRows stores for the invoice at invoiceIndex.
type rowLease struct {
	invoiceIndex int
	status       billing.LeaseStatus
	instanceID   string
	startedAt    time.Time
	terminatedAt time.Time
}

// adminTestServer starts dev mode's node and emulator and opens its stack in-process, without
// starting the billing service, so that tests can write rows and call the views directly.
// It returns the web server and the admin's password.
func adminTestServer(t *testing.T) (*webServer, string) {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := context.Background()
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	env, err := startDevEnvironment(ctx, dir, &strings.Builder{}, logger)
	if err != nil {
		t.Fatalf("starting the dev environment: %v", err)
	}
	t.Cleanup(env.stop)
	st, err := openStack(ctx, env.config("127.0.0.1:1"), stackOptions{Clock: env.clock,
		Cursors: &bitcoin.MemoryCursorStore{}}, logger)
	if err != nil {
		t.Fatalf("opening the stack: %v", err)
	}
	t.Cleanup(st.close)
	w, err := newWebServer(st, nil, "http://127.0.0.1:1", newRateLimiter(30, 10))
	if err != nil {
		t.Fatal(err)
	}
	return w, env.adminPass
}

// writeRows stores the invoices, each with its order and service record, and the leases in
// one transaction, the way the billing service stores them but without jobs, events or
// sealed orders, which makes thousands of rows cheap. It returns the invoice and lease IDs.
func writeRows(t *testing.T, st *stack, invoices []rowInvoice, leases []rowLease) (
	invoiceIDs, leaseIDs []string,
) {
	t.Helper()
	ctx := context.Background()
	plan := devPlans()[0]
	err := st.store.InTx(ctx, func(tx billing.StoreTx) error {
		sqlTx := tx.SQLTx()
		for i, row := range invoices {
			order := &billing.Order{ID: billing.NewID("ord"), Customer: testCustomer,
				Payload: billing.OrderPayload{Plan: plan.ID, Nonce: fmt.Sprintf("rows-%d", i),
					CreatedAt: row.createdAt},
				RawPayload: []byte("{}"), ReceivedAt: row.createdAt}
			if err := tx.InsertOrder(ctx, order); err != nil {
				return err
			}
			inv := &billing.Invoice{ID: billing.NewID("inv"), OrderID: order.ID, Amount: 25_000,
				Price:  billing.Price{Currency: billing.CurrencyBTC, Amount: 25_000},
				Method: "test", Destination: "rows-" + order.ID, CreatedAt: row.createdAt,
				ExpiresAt:       row.createdAt.Add(15 * time.Minute),
				MonitoringUntil: row.createdAt.Add(24 * time.Hour),
				Policy:          billing.ConfirmationPolicy{Depth: 1},
				State:           row.state, Status: row.status, Paid: row.paid}
			if err := tx.InsertInvoice(ctx, inv); err != nil {
				return err
			}
			_, err := sqlTx.ExecContext(ctx, `INSERT INTO service_invoices (invoice_id,
				order_id, customer, plan, units, extends_lease, created_at)
				VALUES ($1, $2, $3, $4, 1, '', $5)`, inv.ID, order.ID, testCustomer, plan.ID,
				row.createdAt.UnixMicro())
			if err != nil {
				return err
			}
			invoiceIDs = append(invoiceIDs, inv.ID)
		}
		for _, row := range leases {
			id := strings.Replace(billing.NewID("lease"), "_", "-", 1)
			invoiceID := invoiceIDs[row.invoiceIndex]
			created := invoices[row.invoiceIndex].createdAt
			ext, err := plan.NewExtension(invoiceID, 1, created)
			if err != nil {
				return err
			}
			meter, err := metering.NewLease(id, plan, ext)
			if err != nil {
				return err
			}
			if _, err := meter.Start(row.startedAt); err != nil {
				return err
			}
			meterJSON, err := json.Marshal(meter)
			if err != nil {
				return err
			}
			var terminated int64
			if !row.terminatedAt.IsZero() {
				terminated = row.terminatedAt.UnixMicro()
			}
			_, err = sqlTx.ExecContext(ctx, `INSERT INTO leases (id, customer, order_id,
				invoice_id, plan, ssh_public_key, refund_address, status, launch_attempts,
				instance_id, address, host_keys, meter, next_change, credentials,
				instance_terminated_at, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, '', '', $6, 1, $7, '', '[]', $8, 0, '', $9, $10,
				$10)`, id, testCustomer, "ord-"+id, invoiceID, plan.ID, string(row.status),
				row.instanceID, string(meterJSON), terminated, created.UnixMicro())
			if err != nil {
				return err
			}
			leaseIDs = append(leaseIDs, id)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("writing %d invoices and %d leases: %v", len(invoices), len(leases), err)
	}
	return invoiceIDs, leaseIDs
}

// TestAdminViewsBeyondListLimit stores more settled invoices and ended leases than the
// service lists, then newer rows, and checks that the overview counts every row and that
// the invoices, leases and reconciliation views show the newest rows and every held late
// payment.
func TestAdminViewsBeyondListLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a regtest node and the emulator, and writes 10000 rows")
	}
	ctx := context.Background()
	w, password := adminTestServer(t)
	now := w.st.service.Now()
	start := now.Add(-48 * time.Hour)

	const paid = 25_000
	invoices := []rowInvoice{
		// 0: the oldest invoice, paid late and held.
		{state: billing.StateSettled, status: billing.StatusPaidLate, paid: paid,
			createdAt: start},
	}
	var leases []rowLease
	for i := range listLimit + 5 {
		created := start.Add(time.Hour + time.Duration(i)*time.Millisecond)
		invoices = append(invoices, rowInvoice{state: billing.StateSettled, paid: paid,
			createdAt: created})
		leases = append(leases, rowLease{invoiceIndex: len(invoices) - 1,
			status: billing.LeaseEnded, instanceID: fmt.Sprintf("i-%08x", i),
			startedAt: created, terminatedAt: created.Add(time.Hour)})
	}
	newest := len(invoices)
	invoices = append(invoices,
		// newest: held late payment, open invoice, and a settled one with a running lease.
		rowInvoice{state: billing.StateSettled, status: billing.StatusPaidLate, paid: paid,
			createdAt: now.Add(-3 * time.Hour)},
		rowInvoice{state: billing.StateNew, createdAt: now.Add(-2 * time.Hour)},
		rowInvoice{state: billing.StateSettled, paid: paid, createdAt: now.Add(-time.Hour)},
	)
	leases = append(leases, rowLease{invoiceIndex: newest + 2, status: billing.LeaseRunning,
		instanceID: "i-0badc0de", startedAt: now.Add(-time.Hour)})
	invoiceIDs, leaseIDs := writeRows(t, w.st, invoices, leases)
	oldHeld, newHeld, open := invoiceIDs[0], invoiceIDs[newest], invoiceIDs[newest+1]
	runningLease := leaseIDs[len(leaseIDs)-1]

	overview, err := w.overview(ctx)
	if err != nil {
		t.Fatalf("overview: %v", err)
	}
	if overview.OpenInvoices != 1 {
		t.Errorf("overview: %d open invoices, want 1 (%s)", overview.OpenInvoices, open)
	}
	if want := int64(listLimit+8) * paid; overview.RevenueSat != want {
		t.Errorf("overview: revenue %d sat, want %d", overview.RevenueSat, want)
	}
	if overview.Running != 1 {
		t.Errorf("overview: %d running instances, want 1 (lease %s)", overview.Running,
			runningLease)
	}
	if !overview.SeriesPartial {
		t.Errorf("overview: series_partial false with %d invoices", len(invoices))
	}

	rows, err := w.adminInvoiceRows(ctx)
	if err != nil {
		t.Fatalf("adminInvoiceRows: %v", err)
	}
	var held []string
	for _, row := range rows {
		if row.LateHeld {
			held = append(held, row.ID)
		}
	}
	if want := []string{oldHeld, newHeld}; !slices.Equal(held, want) {
		t.Errorf("invoices page marks %v held, want %v", held, want)
	}
	if len(rows) != listLimit+1 {
		t.Errorf("invoices page lists %d invoices, want the newest %d and the old held one",
			len(rows), listLimit)
	}
	if len(rows) > 0 && rows[len(rows)-1].ID != invoiceIDs[len(invoiceIDs)-1] {
		t.Errorf("invoices page ends with %s, want the newest invoice %s",
			rows[len(rows)-1].ID, invoiceIDs[len(invoiceIDs)-1])
	}

	views, err := w.leaseViews(ctx)
	if err != nil {
		t.Fatalf("leaseViews: %v", err)
	}
	if len(views) != listLimit {
		t.Errorf("leases page lists %d leases, want the newest %d", len(views), listLimit)
	}
	if len(views) > 0 && views[len(views)-1].ID != runningLease {
		t.Errorf("leases page ends with %s, want the newest lease %s", views[len(views)-1].ID,
			runningLease)
	}

	report, err := w.reconcile(ctx)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if want := []string{oldHeld, newHeld}; !slices.Equal(report.SettledWithoutLease, want) {
		t.Errorf("reconcile: settled without lease %v, want %v",
			report.SettledWithoutLease, want)
	}
	if len(report.LeasesWithoutPayment) != 0 {
		t.Errorf("reconcile: leases without payment %v, want none",
			report.LeasesWithoutPayment)
	}
	if want := []string{runningLease}; !slices.Equal(report.MissingInstances, want) {
		t.Errorf("reconcile: missing instances %v, want %v", report.MissingInstances, want)
	}

	// The JSON API keeps its shape and adds series_partial.
	req := httptest.NewRequest(http.MethodGet, "/api/v1/admin/overview", nil)
	req.SetBasicAuth("admin", password)
	rec := httptest.NewRecorder()
	w.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/admin/overview: %d %s", rec.Code, rec.Body)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"open_invoices", "running_instances", "revenue_sat",
		"series", "series_partial", "alerts"} {
		if _, ok := body[key]; !ok {
			t.Errorf("GET /api/v1/admin/overview lacks %q: %s", key, rec.Body)
		}
	}
}
