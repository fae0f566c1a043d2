package metering

import (
	"fmt"
	"slices"
	"time"
)

// Reminder is a notice to the customer that the paid time of a lease ends soon.
type Reminder struct {
	// Key identifies the reminder for MarkReminderSent. It is stable across restarts and
	// store round trips: it names the lease, the paid seconds and the offset, so an
	// extension, which moves the end, brings a fresh set of reminders.
	Key string `json:"key"`
	// OffsetSeconds is how long before the end this reminder is set, from the plan.
	OffsetSeconds int64 `json:"offset_seconds"`
	// DueAt is when the reminder becomes due: End minus the offset.
	DueAt time.Time `json:"due_at"`
	// End is the end of the paid time that the reminder announces.
	End time.Time `json:"end"`
}

// Decision is what a caller acts on for one lease at one instant.
type Decision struct {
	// At is the instant decided for.
	At time.Time `json:"at"`
	// State is the lease's state at At.
	State State `json:"state"`
	// End and GraceEnd are the ends of the paid time and of the grace period, zero while the
	// lease is pending.
	End      time.Time `json:"end,omitzero"`
	GraceEnd time.Time `json:"grace_end,omitzero"`
	// Reminders lists the reminders due at At and not yet recorded as sent, earliest first.
	Reminders []Reminder `json:"reminders,omitempty"`
	// NextChange is the next instant after At at which the decision changes by time alone,
	// zero when only a call on the lease can change it.
	NextChange time.Time `json:"next_change,omitzero"`
}

// Decide returns the state, the due reminders and the next change of the lease at now.
func (l *Lease) Decide(now time.Time) Decision {
	next, _ := l.NextChange(now)
	return Decision{
		At:         now,
		State:      l.State(now),
		End:        l.End(),
		GraceEnd:   l.GraceEnd(),
		Reminders:  l.DueReminders(now),
		NextChange: next,
	}
}

// State returns the lease's state at now.
func (l *Lease) State(now time.Time) State {
	switch {
	case l.Terminated():
		return StateTerminated
	case l.Started() && !now.Before(l.GraceEnd()):
		return StateMustTerminate
	case l.Suspended():
		return StateSuspended
	case !l.Started():
		return StatePending
	case now.Before(l.End()):
		return StateActive
	default:
		return StateGrace
	}
}

// DueReminders returns the reminders due at now that are not recorded as sent, earliest
// first. Reminders are due only while the lease is active. Each reminder stays due until
// the next one, closer to the end, becomes due, so a caller that was down for a while
// sends only the most urgent notice. A reminder whose instant is at or before the start is
// never due: the customer bought less time than its offset and knows when the lease ends.
func (l *Lease) DueReminders(now time.Time) []Reminder {
	if l.State(now) != StateActive {
		return nil
	}
	var due []Reminder
	for _, w := range l.reminderWindows() {
		if !now.Before(w.from) && now.Before(w.until) && !l.ReminderSent(w.reminder.Key) {
			due = append(due, w.reminder)
		}
	}
	return due
}

// NextChange returns the next instant strictly after now at which State or DueReminders
// would return something else, with true, so that a scheduler can sleep until then. It
// returns false when no passage of time changes the lease: it is pending, terminated or
// must be terminated.
func (l *Lease) NextChange(now time.Time) (time.Time, bool) {
	switch l.State(now) {
	case StateSuspended:
		if l.Started() {
			return l.GraceEnd(), true
		}
		return time.Time{}, false
	case StateGrace:
		return l.GraceEnd(), true
	case StateActive:
		next := l.End()
		for _, w := range l.reminderWindows() {
			if l.ReminderSent(w.reminder.Key) {
				continue
			}
			for _, edge := range []time.Time{w.from, w.until} {
				if edge.After(now) && edge.Before(next) {
					next = edge
				}
			}
		}
		return next, true
	default:
		return time.Time{}, false
	}
}

// reminderWindow is the interval [from, until) in which a reminder is due.
type reminderWindow struct {
	reminder Reminder
	from     time.Time
	until    time.Time
}

// reminderWindows returns the non-empty due intervals of the lease's reminders, earliest
// first. The windows do not overlap: each ends where the next, closer to the end, begins.
func (l *Lease) reminderWindows() []reminderWindow {
	if !l.Started() || len(l.ReminderSeconds) == 0 {
		return nil
	}
	offsets := slices.Clone(l.ReminderSeconds)
	slices.Sort(offsets)
	offsets = slices.Compact(offsets)
	offsets = slices.DeleteFunc(offsets, func(offset int64) bool {
		return offset <= 0 || offset > MaxPaidSeconds
	})
	slices.Reverse(offsets)

	end := l.End()
	paid := l.PaidSeconds()
	windows := make([]reminderWindow, 0, len(offsets))
	for i, offset := range offsets {
		from := end.Add(-time.Duration(offset) * time.Second)
		if !from.After(l.StartedAt) {
			continue
		}
		until := end
		if i+1 < len(offsets) {
			until = end.Add(-time.Duration(offsets[i+1]) * time.Second)
		}
		if !from.Before(until) {
			continue
		}
		windows = append(windows, reminderWindow{
			reminder: Reminder{
				Key:           reminderKey(l.ID, paid, offset),
				OffsetSeconds: offset,
				DueAt:         from,
				End:           end,
			},
			from:  from,
			until: until,
		})
	}
	return windows
}

// reminderKey names a reminder by the paid seconds rather than by the end instant, because
// a store may round timestamps (PostgreSQL keeps microseconds) and the key must survive it.
func reminderKey(leaseID string, paidSeconds, offsetSeconds int64) string {
	return fmt.Sprintf("%s/paid-%d/before-%d", leaseID, paidSeconds, offsetSeconds)
}
