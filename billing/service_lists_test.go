package billing

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/instars/instars/metering"
)

// TestServiceListsNewestRows stores more invoices and leases than the list methods return
// and checks that they return the newest ones, oldest first, while RunningLeases returns
// every running lease.
func TestServiceListsNewestRows(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, svc *Service, clock *metering.FakeClock) {
		ctx := context.Background()
		const extra = 5
		start := clock.Now().Add(-time.Hour)
		invoiceRows := make([]invoiceRow, maxListed+extra)
		for i := range invoiceRows {
			invoiceRows[i] = invoiceRow{state: StateNew,
				createdAt: start.Add(time.Duration(i) * time.Microsecond)}
		}
		invoiceIDs := writeInvoices(t, svc, invoiceRows)
		running := writeLeases(t, svc, []leaseRow{
			{status: LeaseRunning, instanceID: "i-00000001", createdAt: start.Add(-time.Hour),
				startedAt: start.Add(-time.Hour)},
			{status: LeaseRunning, instanceID: "i-00000002",
				createdAt: start.Add(-time.Hour + time.Microsecond),
				startedAt: start.Add(-time.Hour)},
		})
		leaseIDs := writeLeases(t, svc, endedLeases(maxListed+extra, start))

		for _, customer := range []string{"", testCustomer} {
			invoices, err := svc.ListInvoices(ctx, customer)
			if err != nil {
				t.Fatalf("ListInvoices(%q): %v", customer, err)
			}
			var got []string
			for _, inv := range invoices {
				got = append(got, inv.ID)
			}
			if want := invoiceIDs[extra:]; !slices.Equal(got, want) {
				t.Errorf("ListInvoices(%q) returned %d invoices from %s to %s, want the "+
					"newest %d from %s to %s", customer, len(got), first(got), last(got),
					len(want), first(want), last(want))
			}
		}

		leases, err := svc.ListLeases(ctx, "")
		if err != nil {
			t.Fatalf("ListLeases: %v", err)
		}
		var got []string
		for _, l := range leases {
			got = append(got, l.ID)
		}
		if want := leaseIDs[extra:]; !slices.Equal(got, want) {
			t.Errorf("ListLeases returned %d leases from %s to %s, want the newest %d from "+
				"%s to %s", len(got), first(got), last(got), len(want), first(want), last(want))
		}

		runningLeases, err := svc.RunningLeases(ctx)
		if err != nil {
			t.Fatalf("RunningLeases: %v", err)
		}
		got = nil
		for _, l := range runningLeases {
			got = append(got, l.ID)
		}
		if !slices.Equal(got, running) {
			t.Errorf("RunningLeases = %v, want %v", got, running)
		}
		if len(runningLeases) > 0 && runningLeases[0].StartedAt.IsZero() {
			t.Errorf("RunningLeases returned lease %s without its start time",
				runningLeases[0].ID)
		}
	})
}

func first(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return ids[0]
}

func last(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return ids[len(ids)-1]
}

// TestServiceHeldLatePayments checks which settled invoices paid late wait for the
// operator: those that bought no lease or extension and became no refund.
func TestServiceHeldLatePayments(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, svc *Service, clock *metering.FakeClock) {
		ctx := context.Background()
		now := clock.Now()
		late := func(extends string) invoiceRow {
			now = now.Add(time.Second)
			return invoiceRow{state: StateSettled, status: StatusPaidLate, paid: 50_000,
				createdAt: now, extendsLease: extends}
		}
		leaseID := newLeaseID()
		rows := []invoiceRow{
			late(""),      // held
			late(""),      // accepted: it has its lease
			late(""),      // declined: a late_declined refund
			late(leaseID), // held extension
			late(leaseID), // accepted extension: the lease lists it
			late(leaseID), // accepted after the lease ended: a lease_ended refund
			{state: StateSettled, status: StatusNone, paid: 50_000, createdAt: now}, // on time
			{state: StateExpired, status: StatusPaidPartial, paid: 10_000, createdAt: now},
		}
		ids := writeInvoices(t, svc, rows)
		writeLeases(t, svc, []leaseRow{
			{status: LeaseRunning, invoiceID: ids[1], createdAt: now, startedAt: now},
			{id: leaseID, status: LeaseRunning, createdAt: now, startedAt: now,
				extensions: []string{ids[4]}},
		})
		writeRefund(t, svc, ids[2], RefundLateDeclined)
		writeRefund(t, svc, ids[5], RefundLeaseEnded)
		want := map[string]bool{ids[0]: true, ids[3]: true}

		held, err := svc.HeldLatePayments(ctx)
		if err != nil {
			t.Fatalf("HeldLatePayments: %v", err)
		}
		var got []string
		for _, inv := range held {
			got = append(got, inv.ID)
		}
		if !slices.Equal(got, []string{ids[0], ids[3]}) {
			t.Errorf("HeldLatePayments = %v, want %v", got, []string{ids[0], ids[3]})
		}
		for i, id := range ids {
			isHeld, err := svc.LatePaymentHeld(ctx, id)
			if err != nil {
				t.Fatalf("LatePaymentHeld(row %d): %v", i, err)
			}
			if isHeld != want[id] {
				t.Errorf("LatePaymentHeld(row %d, %s) = %v, want %v", i, id, isHeld, want[id])
			}
		}
	})
}

// TestServicePaymentMismatches checks that settled invoices without their lease or
// extension and leases without a settled invoice are reported, and nothing else.
func TestServicePaymentMismatches(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, svc *Service, clock *metering.FakeClock) {
		ctx := context.Background()
		now := clock.Now()
		settled := func(id, extends string) invoiceRow {
			now = now.Add(time.Second)
			return invoiceRow{id: id, state: StateSettled, paid: 50_000, createdAt: now,
				extendsLease: extends}
		}
		leaseID := newLeaseID()
		rows := []invoiceRow{
			settled("", ""),                   // 0: has its lease
			settled("", ""),                   // 1: no lease
			settled("", leaseID),              // 2: extension the lease lists
			settled("", leaseID),              // 3: extension the lease does not list
			settled("inv_trap0001", leaseID),  // 4: the lease lists invXtrap0001 only
			{state: StateNew, createdAt: now}, // 5: its lease exists anyway
		}
		ids := writeInvoices(t, svc, rows)
		leases := writeLeases(t, svc, []leaseRow{
			{status: LeaseRunning, invoiceID: ids[0], createdAt: now, startedAt: now},
			{id: leaseID, status: LeaseRunning, createdAt: now, startedAt: now,
				extensions: []string{ids[2], "invXtrap0001"}},
			{status: LeaseProvisioning, invoiceID: ids[5], createdAt: now.Add(time.Second)},
		})

		got, err := svc.PaymentMismatches(ctx)
		if err != nil {
			t.Fatalf("PaymentMismatches: %v", err)
		}
		if want := []string{ids[1], ids[3], ids[4]}; !slices.Equal(got.SettledWithoutLease,
			want) {
			t.Errorf("SettledWithoutLease = %v, want %v", got.SettledWithoutLease, want)
		}
		// The second lease's first invoice was never stored.
		if want := []string{leases[1], leases[2]}; !slices.Equal(got.LeasesWithoutPayment,
			want) {
			t.Errorf("LeasesWithoutPayment = %v, want %v", got.LeasesWithoutPayment, want)
		}
	})
}
