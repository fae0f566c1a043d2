package metering

import (
	"errors"
	"testing"
	"time"
)

func TestLeaseRevoke(t *testing.T) {
	h := time.Hour
	day := 24 * h
	tests := []struct {
		name    string
		lease   func(t *testing.T) *Lease
		id      string
		changed bool
		err     error
		paid    int64
		now     time.Duration // instant after started at which state is checked
		state   State
	}{
		{"extension moves the end back", threeDayLease, "inv-2", true, nil, 86400,
			10 * h, StateActive},
		{"end moved into grace", threeDayLease, "inv-2", true, nil, 86400,
			24*h + 30*time.Minute, StateGrace},
		{"end moved past grace", threeDayLease, "inv-2", true, nil, 86400,
			26 * h, StateMustTerminate},
		{"first purchase", threeDayLease, "inv-first", true, nil, 2 * 86400, 10 * h,
			StateActive},
		{"already revoked", func(t *testing.T) *Lease {
			lease := threeDayLease(t)
			if _, err := lease.Revoke("inv-2", "double spent", started); err != nil {
				t.Fatal(err)
			}
			return lease
		}, "inv-2", false, nil, 86400, 10 * h, StateActive},
		{"unknown id", threeDayLease, "inv-9", false, ErrExtensionNotFound, 3 * 86400,
			10 * h, StateActive},
		{"only payment of a pending lease", func(t *testing.T) *Lease {
			return newDailyLease(t, 1)
		}, "inv-first", true, nil, 0, 0, StateMustTerminate},
		{"terminated lease", func(t *testing.T) *Lease {
			lease := threeDayLease(t)
			if _, err := lease.Terminate("operator", started.Add(day)); err != nil {
				t.Fatal(err)
			}
			return lease
		}, "inv-2", true, nil, 86400, 10 * h, StateTerminated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lease := tt.lease(t)
			changed, err := lease.Revoke(tt.id, "double spent", started.Add(time.Hour))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("Revoke() error = %v, want %v", err, tt.err)
			}
			if changed != tt.changed {
				t.Errorf("Revoke() changed = %v, want %v", changed, tt.changed)
			}
			if got := lease.PaidSeconds(); got != tt.paid {
				t.Errorf("PaidSeconds() = %d, want %d", got, tt.paid)
			}
			if got := lease.State(started.Add(tt.now)); got != tt.state {
				t.Errorf("State(+%v) = %v, want %v", tt.now, got, tt.state)
			}
			if err := lease.Validate(); err != nil {
				t.Errorf("Validate() after Revoke = %v", err)
			}
		})
	}
}

// threeDayLease returns a one-day lease started at started and extended by two days under
// the id "inv-2".
func threeDayLease(t *testing.T) *Lease {
	t.Helper()
	lease := startedDailyLease(t, 1)
	if _, err := lease.Extend(extension("inv-2", 2, started.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	return lease
}

func TestLeaseRevokeKeepsIDUsed(t *testing.T) {
	lease := threeDayLease(t)
	if _, err := lease.Revoke("inv-2", "double spent", started.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	changed, err := lease.Extend(extension("inv-2", 2, started.Add(2*time.Hour)))
	if err != nil || changed {
		t.Errorf("Extend() with a revoked id = %v, %v; want false, nil", changed, err)
	}
	if got := lease.PaidSeconds(); got != 86400 {
		t.Errorf("PaidSeconds() = %d, want 86400", got)
	}
	usage, err := lease.Usage(started, started.Add(100*time.Hour))
	if err != nil || usage.Seconds != 86400 {
		t.Errorf("Usage() = %d s, %v; want 86400 s", usage.Seconds, err)
	}
}

func TestLeaseRevokeRejects(t *testing.T) {
	lease := threeDayLease(t)
	if _, err := lease.Revoke("inv-2", "", started); err == nil {
		t.Error("Revoke with an empty reason succeeded")
	}
	if _, err := lease.Revoke("inv-2", "double spent", time.Time{}); err == nil {
		t.Error("Revoke at the zero time succeeded")
	}
	if lease.Extensions[1].Revoked() {
		t.Error("a rejected Revoke changed the extension")
	}

	revoked := extension("inv-3", 1, started)
	revoked.RevokedAt = started
	revoked.RevokeReason = "double spent"
	if _, err := lease.Extend(revoked); !errors.Is(err, ErrInvalidExtension) {
		t.Errorf("Extend() with a revoked extension error = %v, want ErrInvalidExtension", err)
	}
	if _, err := NewLease("lease-2", dailyPlan(), revoked); !errors.Is(err, ErrInvalidExtension) {
		t.Errorf("NewLease() with a revoked extension error = %v, want ErrInvalidExtension", err)
	}

	lease.Extensions[1].RevokedAt = started
	if err := lease.Validate(); !errors.Is(err, ErrInvalidLease) {
		t.Errorf("Validate() with a revocation without reason = %v, want ErrInvalidLease", err)
	}
}
