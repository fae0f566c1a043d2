package metering

import (
	"reflect"
	"testing"
	"time"
)

// noChange marks a step whose lease does not change by time alone.
const noChange time.Duration = -1 << 63

// decideStep is the decision expected at started plus at.
type decideStep struct {
	at        time.Duration
	state     State
	reminders []int64       // offsets of the due reminders, earliest first
	next      time.Duration // NextChange minus started, or noChange
}

func TestLeaseDecide(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name  string
		lease func(t *testing.T) *Lease
		steps []decideStep
	}{
		{"pending", func(t *testing.T) *Lease { return newDailyLease(t, 2) }, []decideStep{
			{0, StatePending, nil, noChange},
			{1000 * h, StatePending, nil, noChange},
		}},
		{"two days through grace", func(t *testing.T) *Lease { return startedDailyLease(t, 2) },
			[]decideStep{
				{-time.Minute, StateActive, nil, 24 * h},
				{0, StateActive, nil, 24 * h},
				{24*h - 1, StateActive, nil, 24 * h},
				{24 * h, StateActive, []int64{86400}, 47 * h},
				{47*h - 1, StateActive, []int64{86400}, 47 * h},
				{47 * h, StateActive, []int64{3600}, 48 * h},
				{48*h - 1, StateActive, []int64{3600}, 48 * h},
				{48 * h, StateGrace, nil, 49 * h},
				{49*h - 1, StateGrace, nil, 49 * h},
				{49 * h, StateMustTerminate, nil, noChange},
				{5000 * h, StateMustTerminate, nil, noChange},
			}},
		{"one day skips the day reminder",
			func(t *testing.T) *Lease { return startedDailyLease(t, 1) }, []decideStep{
				{0, StateActive, nil, 23 * h},
				{23 * h, StateActive, []int64{3600}, 24 * h},
			}},
		{"sent reminder is not due", func(t *testing.T) *Lease {
			lease := startedDailyLease(t, 2)
			lease.MarkReminderSent(reminderKey(lease.ID, 2*86400, 86400))
			return lease
		}, []decideStep{
			{10 * h, StateActive, nil, 47 * h},
			{24 * h, StateActive, nil, 47 * h},
			{47 * h, StateActive, []int64{3600}, 48 * h},
		}},
		{"extension brings new reminders", func(t *testing.T) *Lease {
			lease := startedDailyLease(t, 2)
			lease.MarkReminderSent(reminderKey(lease.ID, 2*86400, 86400))
			lease.MarkReminderSent(reminderKey(lease.ID, 2*86400, 3600))
			if _, err := lease.Extend(extension("inv-2", 1, started.Add(47*h))); err != nil {
				t.Fatal(err)
			}
			return lease
		}, []decideStep{
			{47 * h, StateActive, nil, 48 * h},
			{48 * h, StateActive, []int64{86400}, 71 * h},
			{71 * h, StateActive, []int64{3600}, 72 * h},
			{72 * h, StateGrace, nil, 73 * h},
		}},
		{"suspended keeps time running", func(t *testing.T) *Lease {
			lease := startedDailyLease(t, 2)
			if _, err := lease.Suspend("payment reorganised out", started.Add(h)); err != nil {
				t.Fatal(err)
			}
			return lease
		}, []decideStep{
			{2 * h, StateSuspended, nil, 49 * h},
			{24 * h, StateSuspended, nil, 49 * h},
			{48 * h, StateSuspended, nil, 49 * h},
			{49 * h, StateMustTerminate, nil, noChange},
		}},
		{"suspended before start", func(t *testing.T) *Lease {
			lease := newDailyLease(t, 2)
			if _, err := lease.Suspend("payment reorganised out", paidAt); err != nil {
				t.Fatal(err)
			}
			return lease
		}, []decideStep{
			{0, StateSuspended, nil, noChange},
		}},
		{"terminated early", func(t *testing.T) *Lease {
			lease := startedDailyLease(t, 2)
			if _, err := lease.Terminate("operator", started.Add(h)); err != nil {
				t.Fatal(err)
			}
			return lease
		}, []decideStep{
			{0, StateTerminated, nil, noChange},
			{24 * h, StateTerminated, nil, noChange},
			{60 * h, StateTerminated, nil, noChange},
		}},
		{"no grace ends at the end", func(t *testing.T) *Lease {
			lease := startedDailyLease(t, 1)
			lease.GraceSeconds = 0
			lease.ReminderSeconds = nil
			return lease
		}, []decideStep{
			{0, StateActive, nil, 24 * h},
			{24 * h, StateMustTerminate, nil, noChange},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lease := tt.lease(t)
			for _, step := range tt.steps {
				checkDecision(t, lease, step)
			}
		})
	}
}

func checkDecision(t *testing.T, lease *Lease, step decideStep) {
	t.Helper()
	now := started.Add(step.at)
	d := lease.Decide(now)
	if d.State != step.state {
		t.Errorf("at +%v: state %v, want %v", step.at, d.State, step.state)
	}
	var offsets []int64
	for _, r := range d.Reminders {
		offsets = append(offsets, r.OffsetSeconds)
		wantDue := lease.End().Add(-time.Duration(r.OffsetSeconds) * time.Second)
		if !r.DueAt.Equal(wantDue) || !r.End.Equal(lease.End()) {
			t.Errorf("at +%v: reminder %+v, want due at %v for end %v",
				step.at, r, wantDue, lease.End())
		}
	}
	if !reflect.DeepEqual(offsets, step.reminders) {
		t.Errorf("at +%v: reminders %v, want %v", step.at, offsets, step.reminders)
	}
	next, ok := lease.NextChange(now)
	if step.next == noChange {
		if ok || !d.NextChange.IsZero() {
			t.Errorf("at +%v: NextChange %v, %v; want none", step.at, next, ok)
		}
		return
	}
	want := started.Add(step.next)
	if !ok || !next.Equal(want) || !d.NextChange.Equal(want) {
		t.Errorf("at +%v: NextChange +%v (%v), want +%v", step.at, next.Sub(started), ok,
			step.next)
	}
}

func TestStateIsFinal(t *testing.T) {
	final := map[State]bool{StateTerminated: true, StateMustTerminate: true}
	for _, s := range []State{StatePending, StateActive, StateGrace, StateMustTerminate,
		StateTerminated, StateSuspended} {
		if s.IsFinal() != final[s] {
			t.Errorf("%v.IsFinal() = %v, want %v", s, s.IsFinal(), final[s])
		}
	}
}

func TestReminderKeyStable(t *testing.T) {
	lease := startedDailyLease(t, 2)
	due := lease.DueReminders(started.Add(30 * time.Hour))
	if len(due) != 1 {
		t.Fatalf("DueReminders = %v, want one", due)
	}
	// A store that keeps microseconds shifts the start by under a microsecond.
	rounded := *lease
	rounded.StartedAt = lease.StartedAt.Add(999 * time.Nanosecond).Truncate(time.Microsecond)
	again := rounded.DueReminders(started.Add(30 * time.Hour))
	if len(again) != 1 || again[0].Key != due[0].Key {
		t.Errorf("key after rounding %v, want %q", again, due[0].Key)
	}
	if want := "lease-1/paid-172800/before-86400"; due[0].Key != want {
		t.Errorf("key %q, want %q", due[0].Key, want)
	}
}
