package metering

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

var (
	paidAt  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	started = paidAt.Add(90 * time.Second)
)

// newDailyLease returns a pending lease of days days under dailyPlan, paid at paidAt.
func newDailyLease(t testing.TB, days int64) *Lease {
	t.Helper()
	plan := dailyPlan()
	first, err := plan.NewExtension("inv-first", days, paidAt)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := NewLease("lease-1", plan, first)
	if err != nil {
		t.Fatal(err)
	}
	return lease
}

// startedDailyLease returns newDailyLease started at started.
func startedDailyLease(t testing.TB, days int64) *Lease {
	t.Helper()
	lease := newDailyLease(t, days)
	if _, err := lease.Start(started); err != nil {
		t.Fatal(err)
	}
	return lease
}

func extension(id string, days int64, at time.Time) Extension {
	return Extension{ID: id, Units: days, Seconds: days * 86400, PaidAt: at}
}

func TestNewLeaseIsPending(t *testing.T) {
	lease := newDailyLease(t, 2)
	if got := lease.PaidSeconds(); got != 2*86400 {
		t.Errorf("PaidSeconds() = %d, want %d", got, 2*86400)
	}
	if !lease.End().IsZero() || !lease.GraceEnd().IsZero() {
		t.Errorf("End() = %v, GraceEnd() = %v; want zero times before the start",
			lease.End(), lease.GraceEnd())
	}
	if got := lease.State(paidAt.Add(1000 * time.Hour)); got != StatePending {
		t.Errorf("State() long after payment = %v, want pending", got)
	}
	if lease.GraceSeconds != 3600 {
		t.Errorf("GraceSeconds = %d, want the plan's 3600", lease.GraceSeconds)
	}
	if want := []int64{86400, 3600}; !reflect.DeepEqual(lease.ReminderSeconds, want) {
		t.Errorf("ReminderSeconds = %v, want the plan's %v", lease.ReminderSeconds, want)
	}
	if err := lease.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestNewLeaseRejects(t *testing.T) {
	plan := dailyPlan()
	first := extension("inv-1", 1, paidAt)
	if _, err := NewLease("", plan, first); !errors.Is(err, ErrInvalidLease) {
		t.Errorf("empty id: error = %v, want ErrInvalidLease", err)
	}
	bad := plan
	bad.MinUnits = 0
	if _, err := NewLease("lease-1", bad, first); !errors.Is(err, ErrInvalidPlan) {
		t.Errorf("invalid plan: error = %v, want ErrInvalidPlan", err)
	}
	_, err := NewLease("lease-1", plan, Extension{ID: "x"})
	if !errors.Is(err, ErrInvalidExtension) {
		t.Errorf("invalid extension: error = %v, want ErrInvalidExtension", err)
	}
	huge := extension("inv-1", 1, paidAt)
	huge.Seconds = MaxPaidSeconds
	if _, err := NewLease("lease-1", plan, huge); !errors.Is(err, ErrOverflow) {
		t.Errorf("paid and grace past the limit: error = %v, want ErrOverflow", err)
	}
}

func TestLeaseStart(t *testing.T) {
	lease := newDailyLease(t, 1)
	changed, err := lease.Start(started)
	if err != nil || !changed {
		t.Fatalf("Start() = %v, %v; want true, nil", changed, err)
	}
	if want := started.Add(24 * time.Hour); !lease.End().Equal(want) {
		t.Errorf("End() = %v, want %v", lease.End(), want)
	}
	if want := started.Add(25 * time.Hour); !lease.GraceEnd().Equal(want) {
		t.Errorf("GraceEnd() = %v, want %v", lease.GraceEnd(), want)
	}

	changed, err = lease.Start(started.Add(time.Hour))
	if err != nil || changed {
		t.Errorf("second Start() = %v, %v; want false, nil", changed, err)
	}
	if !lease.StartedAt.Equal(started) {
		t.Errorf("second Start moved StartedAt to %v", lease.StartedAt)
	}

	if _, err := newDailyLease(t, 1).Start(time.Time{}); err == nil {
		t.Error("Start(zero time) succeeded, want an error")
	}
	terminated := newDailyLease(t, 1)
	mustChange(t, terminated.Terminate)
	if _, err := terminated.Start(started); !errors.Is(err, ErrLeaseEnded) {
		t.Errorf("Start() after Terminate error = %v, want ErrLeaseEnded", err)
	}
}

// mustChange calls a reason-and-instant method and fails unless it changed the lease.
func mustChange(t *testing.T, method func(string, time.Time) (bool, error)) {
	t.Helper()
	changed, err := method("test reason", started)
	if err != nil || !changed {
		t.Fatalf("call = %v, %v; want true, nil", changed, err)
	}
}

func TestLeaseExtend(t *testing.T) {
	day := 24 * time.Hour
	end := started.Add(day)        // end of a started one-day lease
	graceEnd := end.Add(time.Hour) // end of its grace period
	tests := []struct {
		name    string
		lease   func(t *testing.T) *Lease
		ext     Extension
		changed bool
		err     error
		end     time.Time // expected End afterwards; zero while pending
	}{
		{"pending adds to paid time", func(t *testing.T) *Lease { return newDailyLease(t, 1) },
			extension("inv-2", 2, paidAt.Add(time.Minute)), true, nil, time.Time{}},
		{"active moves the end", func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			extension("inv-2", 2, started.Add(time.Hour)), true, nil, end.Add(2 * day)},
		{"grace continues from the old end",
			func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			extension("inv-2", 1, end.Add(59*time.Minute)), true, nil, end.Add(day)},
		{"paid at the end continues",
			func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			extension("inv-2", 1, end), true, nil, end.Add(day)},
		{"paid one second before grace end continues",
			func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			extension("inv-2", 1, graceEnd.Add(-time.Second)), true, nil, end.Add(day)},
		{"suspended still extends", func(t *testing.T) *Lease {
			lease := startedDailyLease(t, 1)
			mustChange(t, lease.Suspend)
			return lease
		}, extension("inv-2", 1, started.Add(time.Hour)), true, nil, end.Add(day)},
		{"paid at grace end needs a new lease",
			func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			extension("inv-2", 1, graceEnd), false, ErrLeaseEnded, end},
		{"terminated needs a new lease", func(t *testing.T) *Lease {
			lease := startedDailyLease(t, 1)
			mustChange(t, lease.Terminate)
			return lease
		}, extension("inv-2", 1, started.Add(time.Hour)), false, ErrLeaseEnded, end},
		{"same id and terms is a no-op",
			func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			extension("inv-first", 1, started), false, nil, end},
		{"same id after termination is a no-op", func(t *testing.T) *Lease {
			lease := startedDailyLease(t, 1)
			mustChange(t, lease.Terminate)
			return lease
		}, extension("inv-first", 1, paidAt), false, nil, end},
		{"same id other terms conflicts",
			func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			extension("inv-first", 2, paidAt), false, ErrExtensionConflict, end},
		{"invalid extension", func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			Extension{ID: "inv-2", Units: 1, PaidAt: paidAt}, false, ErrInvalidExtension, end},
		{"overflow", func(t *testing.T) *Lease { return startedDailyLease(t, 1) },
			Extension{ID: "inv-2", Units: 1, Seconds: MaxPaidSeconds - 3600, PaidAt: started},
			false, ErrOverflow, end},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lease := tt.lease(t)
			before := len(lease.Extensions)
			changed, err := lease.Extend(tt.ext)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("Extend() error = %v, want %v", err, tt.err)
			}
			if changed != tt.changed {
				t.Errorf("Extend() changed = %v, want %v", changed, tt.changed)
			}
			wantCount := before
			if tt.changed {
				wantCount++
			}
			if len(lease.Extensions) != wantCount {
				t.Errorf("lease has %d extensions, want %d", len(lease.Extensions), wantCount)
			}
			if !lease.End().Equal(tt.end) {
				t.Errorf("End() = %v, want %v", lease.End(), tt.end)
			}
		})
	}
}

func TestLeaseSuspendResume(t *testing.T) {
	lease := startedDailyLease(t, 1)
	end := lease.End()
	if _, err := lease.Suspend("", started); err == nil {
		t.Error("Suspend with empty reason succeeded")
	}
	changed, err := lease.Suspend("payment reorganised out", started.Add(time.Hour))
	if err != nil || !changed {
		t.Fatalf("Suspend() = %v, %v; want true, nil", changed, err)
	}
	changed, err = lease.Suspend("another reason", started.Add(2*time.Hour))
	if err != nil || changed {
		t.Errorf("second Suspend() = %v, %v; want false, nil", changed, err)
	}
	if lease.SuspendReason != "payment reorganised out" ||
		!lease.SuspendedAt.Equal(started.Add(time.Hour)) {
		t.Errorf("second Suspend replaced the first: %q at %v", lease.SuspendReason,
			lease.SuspendedAt)
	}
	if !lease.End().Equal(end) {
		t.Errorf("Suspend moved the end to %v from %v", lease.End(), end)
	}
	if got := lease.State(started.Add(3 * time.Hour)); got != StateSuspended {
		t.Errorf("State() while suspended = %v", got)
	}

	changed, err = lease.Resume()
	if err != nil || !changed {
		t.Fatalf("Resume() = %v, %v; want true, nil", changed, err)
	}
	if lease.Suspended() || lease.SuspendReason != "" {
		t.Errorf("Resume left suspension %v %q", lease.SuspendedAt, lease.SuspendReason)
	}
	changed, err = lease.Resume()
	if err != nil || changed {
		t.Errorf("second Resume() = %v, %v; want false, nil", changed, err)
	}
	if !lease.End().Equal(end) {
		t.Errorf("Resume moved the end to %v from %v", lease.End(), end)
	}

	mustChange(t, lease.Terminate)
	if _, err := lease.Suspend("late", started); !errors.Is(err, ErrLeaseEnded) {
		t.Errorf("Suspend() after Terminate error = %v, want ErrLeaseEnded", err)
	}
	if _, err := lease.Resume(); !errors.Is(err, ErrLeaseEnded) {
		t.Errorf("Resume() after Terminate error = %v, want ErrLeaseEnded", err)
	}
}

func TestLeaseTerminate(t *testing.T) {
	lease := startedDailyLease(t, 1)
	if _, err := lease.Terminate(" ", started); err == nil {
		t.Error("Terminate with blank reason succeeded")
	}
	if _, err := lease.Terminate("grace ended", time.Time{}); err == nil {
		t.Error("Terminate at the zero time succeeded")
	}
	at := lease.GraceEnd()
	changed, err := lease.Terminate("grace ended", at)
	if err != nil || !changed {
		t.Fatalf("Terminate() = %v, %v; want true, nil", changed, err)
	}
	changed, err = lease.Terminate("operator", at.Add(time.Hour))
	if err != nil || changed {
		t.Errorf("second Terminate() = %v, %v; want false, nil", changed, err)
	}
	if lease.TerminateReason != "grace ended" || !lease.TerminatedAt.Equal(at) {
		t.Errorf("second Terminate replaced the first: %q at %v", lease.TerminateReason,
			lease.TerminatedAt)
	}
	if got := lease.State(at.Add(-time.Hour)); got != StateTerminated {
		t.Errorf("State() = %v, want terminated", got)
	}
}

func TestLeaseMarkReminderSent(t *testing.T) {
	lease := startedDailyLease(t, 1)
	if !lease.MarkReminderSent("k") {
		t.Error("first MarkReminderSent returned false")
	}
	if lease.MarkReminderSent("k") {
		t.Error("second MarkReminderSent returned true")
	}
	if !lease.ReminderSent("k") || lease.ReminderSent("other") {
		t.Errorf("ReminderSent does not match RemindersSent %q", lease.RemindersSent)
	}
}

func TestLeaseJSONRoundTrip(t *testing.T) {
	lease := startedDailyLease(t, 3)
	if _, err := lease.Extend(extension("inv-2", 1, started.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	mustChange(t, lease.Suspend)
	lease.MarkReminderSent("lease-1/paid-345600/before-86400")
	data, err := json.Marshal(lease)
	if err != nil {
		t.Fatal(err)
	}
	var back Lease
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, lease) {
		t.Errorf("round trip = %+v, want %+v", back, *lease)
	}
	if err := back.Validate(); err != nil {
		t.Errorf("Validate() after round trip = %v", err)
	}

	pending, err := json.Marshal(newDailyLease(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(pending, &fields); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"started_at", "suspended_at", "terminated_at"} {
		if _, ok := fields[name]; ok {
			t.Errorf("pending lease JSON %s has %s set", pending, name)
		}
	}
}

func TestLeaseValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Lease)
		field  string
	}{
		{"no extensions", func(l *Lease) { l.Extensions = nil }, "extensions"},
		{"duplicate extension", func(l *Lease) {
			l.Extensions = append(l.Extensions, l.Extensions[0])
		}, "extensions[1].id"},
		{"bad extension", func(l *Lease) { l.Extensions[0].Seconds = 0 },
			"extensions[0].seconds"},
		{"overflowing total", func(l *Lease) {
			l.Extensions = append(l.Extensions, Extension{ID: "x", Units: 1,
				Seconds: MaxPaidSeconds - 10, PaidAt: paidAt})
		}, "extensions[1].seconds"},
		{"suspended without reason", func(l *Lease) { l.SuspendedAt = started },
			"suspend_reason"},
		{"terminated without reason", func(l *Lease) { l.TerminatedAt = started },
			"terminate_reason"},
		{"negative grace", func(l *Lease) { l.GraceSeconds = -5 }, "grace_seconds"},
		{"bad reminder", func(l *Lease) { l.ReminderSeconds = []int64{-1} },
			"reminder_seconds[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lease := startedDailyLease(t, 1)
			tt.change(lease)
			err := lease.Validate()
			var fieldErr *FieldError
			if !errors.Is(err, ErrInvalidLease) || !errors.As(err, &fieldErr) {
				t.Fatalf("Validate() = %v, want a *FieldError matching ErrInvalidLease", err)
			}
			if fieldErr.Field != tt.field {
				t.Errorf("Validate() named %q, want %q (error: %v)", fieldErr.Field, tt.field, err)
			}
		})
	}
}

func TestLeaseExtendAppliedLate(t *testing.T) {
	lease := startedDailyLease(t, 1)
	oldGraceEnd := lease.GraceEnd()
	applied := oldGraceEnd.Add(10 * time.Minute)
	if got := lease.State(applied); got != StateMustTerminate {
		t.Fatalf("State() before the late extension = %v, want must_terminate", got)
	}
	// Paid in the grace period, but seen by the caller only after it ended.
	paid := oldGraceEnd.Add(-30 * time.Minute)
	if _, err := lease.Extend(extension("inv-2", 1, paid)); err != nil {
		t.Fatalf("Extend() paid before the grace end: %v", err)
	}
	if got := lease.State(applied); got != StateActive {
		t.Errorf("State() after the late extension = %v, want active", got)
	}
	if want := started.Add(48 * time.Hour); !lease.End().Equal(want) {
		t.Errorf("End() = %v, want %v", lease.End(), want)
	}
}

func TestLeaseStartRoundsUpToSecond(t *testing.T) {
	tests := []struct {
		at   time.Time
		want time.Time
	}{
		{started, started},
		{started.Add(time.Nanosecond), started.Add(time.Second)},
		{started.Add(999_999_999), started.Add(time.Second)},
	}
	for _, tt := range tests {
		lease := newDailyLease(t, 1)
		if _, err := lease.Start(tt.at); err != nil {
			t.Fatal(err)
		}
		if !lease.StartedAt.Equal(tt.want) {
			t.Errorf("Start(%v) set StartedAt %v, want %v", tt.at, lease.StartedAt, tt.want)
		}
	}

	// A wall-clock reading loses its monotonic part, so the lease equals its JSON copy.
	lease := newDailyLease(t, 1)
	now := time.Now()
	if _, err := lease.Start(now); err != nil {
		t.Fatal(err)
	}
	if lease.StartedAt.Before(now) || lease.StartedAt.Sub(now) >= time.Second {
		t.Errorf("Start(%v) set StartedAt %v, want the next whole second", now, lease.StartedAt)
	}
	if lease.StartedAt.String() != lease.StartedAt.Round(0).String() {
		t.Errorf("StartedAt %v keeps a monotonic clock reading", lease.StartedAt)
	}
}

func TestLeaseDecidesSameAfterJSON(t *testing.T) {
	// Instants with a monotonic clock reading and in a zone with a half-hour offset, which a
	// JSON round trip drops and renames.
	zone := time.FixedZone("India", 5*3600+1800)
	now := time.Now()
	lease := newDailyLease(t, 2)
	if _, err := lease.Start(now.In(zone)); err != nil {
		t.Fatal(err)
	}
	if _, err := lease.Extend(extension("inv-2", 1, now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(lease)
	if err != nil {
		t.Fatal(err)
	}
	var back Lease
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}

	end, graceEnd := lease.End(), lease.GraceEnd()
	instants := []time.Time{now, now.In(zone), end.Add(-86400 * time.Second),
		end.Add(-3600 * time.Second), end.Add(-time.Second), end, graceEnd.Add(-time.Second),
		graceEnd}
	for _, at := range instants {
		want, got := lease.Decide(at), back.Decide(at)
		if got.State != want.State || !got.End.Equal(want.End) ||
			!got.GraceEnd.Equal(want.GraceEnd) || !got.NextChange.Equal(want.NextChange) {
			t.Errorf("at %v: decision after JSON = %+v, want %+v", at, got, want)
		}
		if !reflect.DeepEqual(reminderKeys(got.Reminders), reminderKeys(want.Reminders)) {
			t.Errorf("at %v: reminders after JSON = %v, want %v",
				at, reminderKeys(got.Reminders), reminderKeys(want.Reminders))
		}
	}
}

func reminderKeys(reminders []Reminder) []string {
	var keys []string
	for _, reminder := range reminders {
		keys = append(keys, reminder.Key)
	}
	return keys
}
