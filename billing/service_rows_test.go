package billing

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/instars/instars/metering"
)

// leaseRow describes a lease that writeLeases stores without an order or an invoice.
type leaseRow struct {
	status     LeaseStatus
	instanceID string
	invoiceID  string
	createdAt  time.Time
	// startedAt is when the instance started running; zero leaves the lease unstarted.
	startedAt time.Time
	// terminatedAt is when the cloud confirmed the termination; zero while it runs.
	terminatedAt time.Time
}

// writeLeases stores the leases in one transaction and returns their IDs in the same order.
// Only the rows are written: no job is scheduled and no event is stored, which is what
// makes thousands of them cheap.
func writeLeases(t testing.TB, b *serviceBundle, rows []leaseRow) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, len(rows))
	err := b.svc.inTx(ctx, func(tx *serviceTx) error {
		for i, row := range rows {
			// Lease IDs name cloud tags, which take no underscore.
			id := strings.Replace(NewID("lease"), "_", "-", 1)
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
