package metering

import (
	"fmt"
	"testing"
	"time"
)

// benchLease returns a started lease with extensions extensions, five reminder offsets and
// the first two reminders recorded as sent.
func benchLease(b *testing.B, extensions int) *Lease {
	b.Helper()
	plan := dailyPlan()
	plan.MaxUnits = 3
	plan.ReminderSeconds = []int64{7 * 86400, 3 * 86400, 86400, 3600, 600}
	first, err := plan.NewExtension("inv-0", 1, paidAt)
	if err != nil {
		b.Fatal(err)
	}
	lease, err := NewLease("lease-bench", plan, first)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := lease.Start(started); err != nil {
		b.Fatal(err)
	}
	for i := 1; i < extensions; i++ {
		ext, err := plan.NewExtension(fmt.Sprintf("inv-%d", i), 1, started)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := lease.Extend(ext); err != nil {
			b.Fatal(err)
		}
	}
	for _, w := range lease.reminderWindows(lease.PaidSeconds(), lease.End())[:2] {
		lease.MarkReminderSent(w.reminder.Key)
	}
	return lease
}

// BenchmarkLeaseState is the baseline: the state alone, without reminders.
func BenchmarkLeaseState(b *testing.B) {
	for _, n := range []int{10, 100} {
		lease := benchLease(b, n)
		now := lease.End().Add(-2 * time.Hour)
		b.Run(fmt.Sprintf("extensions=%d", n), func(b *testing.B) {
			for b.Loop() {
				_ = lease.State(now)
			}
		})
	}
}

func BenchmarkLeaseDecide(b *testing.B) {
	for _, n := range []int{10, 100} {
		lease := benchLease(b, n)
		now := lease.End().Add(-2 * time.Hour)
		b.Run(fmt.Sprintf("extensions=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = lease.Decide(now)
			}
		})
	}
}

func BenchmarkLeaseNextChange(b *testing.B) {
	for _, n := range []int{10, 100} {
		lease := benchLease(b, n)
		now := lease.End().Add(-2 * time.Hour)
		b.Run(fmt.Sprintf("extensions=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = lease.NextChange(now)
			}
		})
	}
}
