package billing

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/instars/instars/metering"
)

// forEachDatabase runs test against a new Service, not started, on SQLite and on
// PostgreSQL.
func forEachDatabase(t *testing.T, test func(t *testing.T, svc *Service,
	clock *metering.FakeClock)) {
	t.Helper()
	open := map[string]func(t *testing.T) (*SQLStore, error){
		"sqlite": func(t *testing.T) (*SQLStore, error) {
			return OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "billing.db"),
				nil)
		},
		"postgres": func(t *testing.T) (*SQLStore, error) {
			return OpenPostgres(context.Background(), svcPostgresDSN(t), nil)
		},
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			store, err := open[engine](t)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = store.Close() })
			chainSrv := httptest.NewServer(newSvcChain())
			t.Cleanup(chainSrv.Close)
			clock := metering.NewFakeClock(time.Now().UTC().Truncate(time.Second))
			_, driver := svcCloud(t, "")
			svc, err := NewService(context.Background(), Config{
				Store: store, Provisioner: EucalyptusProvisioner{Driver: driver},
				Gateway: &svcGateway{url: chainSrv.URL, client: chainSrv.Client(),
					interval: 10 * time.Millisecond},
				ServerKey: svcServerKey(t, t.TempDir()), Network: &chaincfg.RegressionNetParams,
				Plans: []metering.Plan{svcPlan()}, Clock: clock, Logger: svcTestLogger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			test(t, svc, clock)
		})
	}
}

// invoiceRow describes an invoice that writeInvoices stores with its order and its
// service record.
type invoiceRow struct {
	// id is the invoice's ID; empty picks a new one.
	id        string
	state     InvoiceState
	status    AdditionalStatus
	paid      btcutil.Amount
	createdAt time.Time
	// extendsLease is the lease an extension invoice pays for; empty for a first purchase.
	extendsLease string
}

// writeInvoices stores the invoices in one transaction and returns their IDs in the same
// order. As with writeLeases, no job, event or payment is written.
func writeInvoices(t testing.TB, svc *Service, rows []invoiceRow) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, len(rows))
	err := svc.inTx(ctx, func(tx *serviceTx) error {
		for i, row := range rows {
			order := testOrder(testCustomer, "nonce-rows-"+NewID("n")[2:])
			order.ReceivedAt = row.createdAt
			if err := tx.InsertOrder(ctx, order); err != nil {
				return err
			}
			index, err := tx.NextDerivationIndex(ctx, "rows")
			if err != nil {
				return err
			}
			inv := storedInvoice(order.ID, "rows-"+order.ID, "rows", index)
			if row.id != "" {
				inv.ID = row.id
			}
			inv.State, inv.Status, inv.Paid = row.state, row.status, row.paid
			inv.CreatedAt = row.createdAt
			inv.ExpiresAt = row.createdAt.Add(DefaultExpiry)
			inv.MonitoringUntil = inv.ExpiresAt.Add(DefaultMonitoring)
			if err := tx.InsertInvoice(ctx, inv); err != nil {
				return err
			}
			err = insertInvoiceRecord(ctx, tx.db, invoiceRecord{InvoiceID: inv.ID,
				OrderID: order.ID, Customer: testCustomer, PlanID: svcPlan().ID, Units: 1,
				ExtendsLease: row.extendsLease, CreatedAt: row.createdAt})
			if err != nil {
				return err
			}
			ids[i] = inv.ID
		}
		return nil
	})
	if err != nil {
		t.Fatalf("writing %d invoices: %v", len(rows), err)
	}
	return ids
}

// writeRefund stores a refund of the invoice for the reason.
func writeRefund(t testing.TB, svc *Service, invoiceID string, reason RefundReason) {
	t.Helper()
	err := svc.inTx(context.Background(), func(tx *serviceTx) error {
		_, err := insertRefund(tx.ctx, tx.db, Refund{ID: NewID("ref"), Customer: testCustomer,
			InvoiceID: invoiceID, Reason: reason, Amount: 1000, State: RefundAddressMissing,
			CreatedAt: tx.now, UpdatedAt: tx.now})
		return err
	})
	if err != nil {
		t.Fatalf("writing refund of %s: %v", invoiceID, err)
	}
}

// leaseRow describes a lease that writeLeases stores without an order or an invoice.
type leaseRow struct {
	// id is the lease's ID; empty picks a new one.
	id         string
	status     LeaseStatus
	instanceID string
	invoiceID  string
	createdAt  time.Time
	// startedAt is when the instance started running; zero leaves the lease unstarted.
	startedAt time.Time
	// terminatedAt is when the cloud confirmed the termination; zero while it runs.
	terminatedAt time.Time
	// extensions are the IDs of extension invoices applied after the first purchase.
	extensions []string
}

// writeLeases stores the leases in one transaction and returns their IDs in the same order.
// Only the rows are written: no job is scheduled and no event is stored, which is what
// makes thousands of them cheap.
func writeLeases(t testing.TB, svc *Service, rows []leaseRow) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, len(rows))
	err := svc.inTx(ctx, func(tx *serviceTx) error {
		for i, row := range rows {
			id := row.id
			if id == "" {
				id = newLeaseID()
			}
			invoiceID := row.invoiceID
			if invoiceID == "" {
				invoiceID = NewID("inv")
			}
			ext, err := svcPlan().NewExtension(invoiceID, 1, row.createdAt)
			if err != nil {
				return err
			}
			meter, err := metering.NewLease(id, svcPlan(), ext)
			if err != nil {
				return err
			}
			for _, extensionID := range row.extensions {
				ext, err := svcPlan().NewExtension(extensionID, 1, row.createdAt)
				if err != nil {
					return err
				}
				if _, err := meter.Extend(ext); err != nil {
					return err
				}
			}
			if !row.startedAt.IsZero() {
				if _, err := meter.Start(row.startedAt); err != nil {
					return err
				}
			}
			l := &Lease{ID: id, Customer: testCustomer, OrderID: NewID("ord"),
				InvoiceID: invoiceID, PlanID: svcPlan().ID, Status: row.status,
				InstanceID: row.instanceID, HostKeys: []HostKey{}, Meter: *meter,
				InstanceTerminatedAt: row.terminatedAt, CreatedAt: row.createdAt,
				UpdatedAt: row.createdAt}
			if err := insertLease(ctx, tx.db, l); err != nil {
				return err
			}
			ids[i] = id
		}
		return nil
	})
	if err != nil {
		t.Fatalf("writing %d leases: %v", len(rows), err)
	}
	return ids
}

// newLeaseID returns a new lease ID. Lease IDs name cloud tags, which take no underscore.
func newLeaseID() string { return strings.Replace(NewID("lease"), "_", "-", 1) }

// endedLeases returns n ended leases whose instances are terminated, created one
// microsecond apart from since.
func endedLeases(n int, since time.Time) []leaseRow {
	rows := make([]leaseRow, n)
	for i := range rows {
		created := since.Add(time.Duration(i) * time.Microsecond)
		rows[i] = leaseRow{status: LeaseEnded, instanceID: fmt.Sprintf("i-%08x", i),
			createdAt: created, startedAt: created, terminatedAt: created.Add(time.Hour)}
	}
	return rows
}

// storedAlertKinds counts the stored alerts by kind.
func storedAlertKinds(t testing.TB, b *serviceBundle) map[AlertKind]int {
	t.Helper()
	alerts, err := b.svc.Alerts(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[AlertKind]int{}
	for _, a := range alerts {
		out[a.Kind]++
	}
	return out
}
