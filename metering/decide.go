package metering

import (
	"slices"
	"strconv"
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

// Decision is the outcome for one lease at one instant: the facts a caller acts on.
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
	paid, end, graceEnd := l.ends()
	state := l.stateAt(now, paid, end, graceEnd)
	windows := l.unsentWindows(state, paid, end)
	next, _ := nextChange(state, now, end, graceEnd, windows)
	return Decision{
		At:         now,
		State:      state,
		End:        end,
		GraceEnd:   graceEnd,
		Reminders:  dueIn(windows, now),
		NextChange: next,
	}
}

// State returns the lease's state at now.
func (l *Lease) State(now time.Time) State {
	paid, end, graceEnd := l.ends()
	return l.stateAt(now, paid, end, graceEnd)
}

// DueReminders returns the reminders due at now that are not recorded as sent, earliest
// first. Reminders are due only while the lease is active. Each reminder stays due until
// the next one, closer to the end, becomes due, so a caller that was down for a while
// sends only the most urgent notice. A reminder whose instant is at or before the start is
// never due, because the customer bought less time than its offset and saw the end then.
func (l *Lease) DueReminders(now time.Time) []Reminder {
	paid, end, graceEnd := l.ends()
	state := l.stateAt(now, paid, end, graceEnd)
	return dueIn(l.unsentWindows(state, paid, end), now)
}

// NextChange returns the next instant strictly after now at which State or DueReminders
// would return something else, with true, so that a scheduler can sleep until then. It
// returns false when no passage of time changes the lease: it is pending, terminated or
// must be terminated.
func (l *Lease) NextChange(now time.Time) (time.Time, bool) {
	paid, end, graceEnd := l.ends()
	state := l.stateAt(now, paid, end, graceEnd)
	return nextChange(state, now, end, graceEnd, l.unsentWindows(state, paid, end))
}

// ends returns PaidSeconds, End and GraceEnd with one pass over the extensions.
func (l *Lease) ends() (paid int64, end, graceEnd time.Time) {
	paid = l.PaidSeconds()
	if !l.Started() {
		return paid, time.Time{}, time.Time{}
	}
	end = l.StartedAt.Add(time.Duration(paid) * time.Second)
	return paid, end, end.Add(time.Duration(l.GraceSeconds) * time.Second)
}

func (l *Lease) stateAt(now time.Time, paid int64, end, graceEnd time.Time) State {
	switch {
	case l.Terminated():
		return StateTerminated
	case paid == 0:
		return StateMustTerminate // every payment was revoked
	case l.Started() && !now.Before(graceEnd):
		return StateMustTerminate
	case l.Suspended():
		return StateSuspended
	case !l.Started():
		return StatePending
	case now.Before(end):
		return StateActive
	default:
		return StateGrace
	}
}

// unsentWindows returns the windows of the reminders not yet sent, or none unless the lease
// is active, since only an active lease has reminders due.
func (l *Lease) unsentWindows(state State, paid int64, end time.Time) []reminderWindow {
	if state != StateActive {
		return nil
	}
	return slices.DeleteFunc(l.reminderWindows(paid, end), func(w reminderWindow) bool {
		return l.ReminderSent(w.reminder.Key)
	})
}

func dueIn(windows []reminderWindow, now time.Time) []Reminder {
	var due []Reminder
	for _, w := range windows {
		if !now.Before(w.from) && now.Before(w.until) {
			due = append(due, w.reminder)
		}
	}
	return due
}

// nextChange returns the earliest instant after now at which the state or the set of due
// reminders changes, given the windows of the unsent reminders.
func nextChange(state State, now, end, graceEnd time.Time,
	windows []reminderWindow) (time.Time, bool) {
	switch state {
	case StateSuspended:
		if graceEnd.IsZero() {
			return time.Time{}, false // not started, so its time does not run
		}
		return graceEnd, true
	case StateGrace:
		return graceEnd, true
	case StateActive:
		next := end
		for _, w := range windows {
			if w.from.After(now) && w.from.Before(next) {
				next = w.from
			}
			if w.until.After(now) && w.until.Before(next) {
				next = w.until
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

// reminderWindows returns the non-empty due intervals of the lease's reminders for paid
// seconds of paid time ending at end, earliest first. The windows do not overlap: each ends
// where the next, closer to the end, begins.
func (l *Lease) reminderWindows(paid int64, end time.Time) []reminderWindow {
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
	key := make([]byte, 0, len(leaseID)+48)
	key = append(key, leaseID...)
	key = append(key, "/paid-"...)
	key = strconv.AppendInt(key, paidSeconds, 10)
	key = append(key, "/before-"...)
	key = strconv.AppendInt(key, offsetSeconds, 10)
	return string(key)
}
