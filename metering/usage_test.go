package metering

import (
	"testing"
	"time"
)

func TestLeaseUsage(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name     string
		lease    func(t *testing.T) *Lease
		from, to time.Duration // relative to started
		want     int64
	}{
		{"pending uses nothing", func(t *testing.T) *Lease { return newDailyLease(t, 1) },
			-h, 30 * h, 0},
		{"before start", func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			-2 * h, -h, 0},
		{"across start", func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			-h, h, 3600},
		{"inside", func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			2 * h, 5 * h, 3 * 3600},
		{"grace is not paid", func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			23 * h, 25 * h, 3600},
		{"never over paid time", func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			-100 * h, 1000 * h, 86400},
		{"empty interval", func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			3 * h, 3 * h, 0},
		{"partial seconds round down", func(t *testing.T) *Lease {
			return startedDailyLease(t, 1)
		}, 500 * time.Millisecond, 2500 * time.Millisecond, 2},
		{"stops at termination", func(t *testing.T) *Lease {
			lease := startedDailyLease(t, 1)
			if _, err := lease.Terminate("operator", started.Add(10*h+30*time.Minute)); err != nil {
				t.Fatal(err)
			}
			return lease
		}, 10 * h, 20 * h, 1800},
		{"suspension keeps counting", func(t *testing.T) *Lease {
			lease := startedDailyLease(t, 1)
			if _, err := lease.Suspend("payment in doubt", started.Add(h)); err != nil {
				t.Fatal(err)
			}
			return lease
		}, 0, 10 * h, 10 * 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lease := tt.lease(t)
			from, to := started.Add(tt.from), started.Add(tt.to)
			got, err := lease.Usage(from, to)
			if err != nil {
				t.Fatalf("Usage() error: %v", err)
			}
			if got.Seconds != tt.want {
				t.Errorf("Usage(+%v, +%v) = %d s, want %d", tt.from, tt.to, got.Seconds, tt.want)
			}
			if got.LeaseID != lease.ID || !got.From.Equal(from) || !got.To.Equal(to) {
				t.Errorf("record %+v does not describe the request", got)
			}
		})
	}
}

func TestLeaseUsageRejectsReversedInterval(t *testing.T) {
	lease := startedDailyLease(t, 1)
	if _, err := lease.Usage(started.Add(time.Hour), started); err == nil {
		t.Error("Usage with to before from succeeded")
	}
}
