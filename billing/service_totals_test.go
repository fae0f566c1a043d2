package billing

import (
	"context"
	"testing"
)

// TestServiceTotalsCountEverything makes more invoices than the list methods return, pays
// one to a running lease and checks that Totals counts every row.
func TestServiceTotalsCountEverything(t *testing.T) {
	b := newServiceBundle(t, bundleOptions{})
	ctx := context.Background()
	paid := b.submit(t, "")
	b.chain.pay(paid.Destination, paid.Amount, 1)
	b.waitLease(t, paid.ID, LeaseRunning)

	// Rows beyond the list methods' limit, written directly: sealing that many orders
	// would take minutes.
	const extra = maxListed + 5
	err := b.store.InTx(ctx, func(tx StoreTx) error {
		for i := range extra {
			order := testOrder(testCustomer, "nonce-totals-"+NewID("n")[2:])
			if err := tx.InsertOrder(ctx, order); err != nil {
				return err
			}
			index, err := tx.NextDerivationIndex(ctx, "totals")
			if err != nil {
				return err
			}
			inv := storedInvoice(order.ID, "totals-"+order.ID, "totals", index)
			inv.State, inv.Paid = StateNew, 0
			if i%2 == 1 {
				inv.State = StateExpired
			}
			if err := tx.InsertInvoice(ctx, inv); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert invoices: %v", err)
	}
	// Two more settled invoices count as revenue; a partly paid expired one does not.
	now := b.clock.Now()
	writeInvoices(t, b.svc, []invoiceRow{
		{state: StateSettled, paid: 700, createdAt: now},
		{state: StateSettled, status: StatusPaidLate, paid: 700, createdAt: now},
		{state: StateExpired, status: StatusPaidPartial, paid: 300, createdAt: now},
	})

	totals, err := b.svc.Totals(ctx)
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	if got, want := totals.InvoicesByState[StateSettled], int64(3); got != want {
		t.Errorf("settled invoices %d, want %d", got, want)
	}
	if got, want := totals.InvoicesByState[StateNew], int64(extra/2+extra%2); got != want {
		t.Errorf("new invoices %d, want %d", got, want)
	}
	if got, want := totals.InvoicesByState[StateExpired], int64(extra/2+1); got != want {
		t.Errorf("expired invoices %d, want %d", got, want)
	}
	if _, ok := totals.InvoicesByState[StateInvalid]; !ok {
		t.Errorf("state Invalid missing from the totals; every state should be listed")
	}
	if want := paid.Amount + 1700; totals.PaidSatoshis != want {
		t.Errorf("paid %d sat, want %d", totals.PaidSatoshis, want)
	}
	if want := paid.Amount + 1400; totals.SettledSatoshis != want {
		t.Errorf("settled %d sat, want %d", totals.SettledSatoshis, want)
	}
	if totals.Payments != 1 {
		t.Errorf("payments %d, want 1", totals.Payments)
	}
	if totals.LeasesByStatus[LeaseRunning] != 1 || totals.InstancesRunning != 1 {
		t.Errorf("leases %v, instances running %d; want one running", totals.LeasesByStatus,
			totals.InstancesRunning)
	}
}
