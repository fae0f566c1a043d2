package metering

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Lease is the paid time of one instance. Its methods only compute, and the caller persists
// the lease after each change and before acting on it. Methods that change a lease report
// whether they changed it, so a retried call is a no-op that reports false.
//
// A lease is pending from its first payment until its instance runs, because the paid time
// starts with the instance and not with the payment. Once started, the lease ends at
// StartedAt plus the sum of the paid seconds of its extensions, and the instance may keep
// running for GraceSeconds after that. An extension paid before the grace period ends moves
// the end from the old end, so the lease continues without a gap.
//
// A suspended lease is one whose payment is in doubt, for example because the transaction
// that paid it was reorganised out of the chain. Suspension never moves the end: time keeps
// running while the lease is suspended, because the instance keeps running and the operator
// does not owe time for a payment it may never receive. Resuming restores the active or grace
// state the lease would be in at that instant, and a lease still suspended at the end of its
// grace period must be terminated like any other. A payment found lost for good is revoked
// with Revoke, which takes its paid time back.
type Lease struct {
	// ID identifies the lease and prefixes its reminder keys.
	ID string `json:"id"`
	// PlanID is the plan the lease was bought under.
	PlanID string `json:"plan_id"`
	// GraceSeconds is copied from the plan when the lease is created, so that later changes
	// to the plan do not change the terms of leases already sold.
	GraceSeconds int64 `json:"grace_seconds"`
	// ReminderSeconds is copied from the plan when the lease is created, for the same reason.
	ReminderSeconds []int64 `json:"reminder_seconds,omitempty"`
	// StartedAt is when the instance was first seen running, rounded up to a whole second,
	// or zero while the lease is pending.
	StartedAt time.Time `json:"started_at,omitzero"`
	// Extensions lists every payment applied, the first purchase included, in the order
	// applied.
	Extensions []Extension `json:"extensions"`
	// SuspendedAt is when the lease was suspended; zero when it is not suspended.
	SuspendedAt time.Time `json:"suspended_at,omitzero"`
	// SuspendReason is the reason for the suspension, shown to the operator.
	SuspendReason string `json:"suspend_reason,omitempty"`
	// TerminatedAt is when the lease was terminated; zero until then.
	TerminatedAt time.Time `json:"terminated_at,omitzero"`
	// TerminateReason is the reason for the termination, shown to the operator.
	TerminateReason string `json:"terminate_reason,omitempty"`
	// RemindersSent lists the keys of the reminders already sent, in the order sent.
	RemindersSent []string `json:"reminders_sent,omitempty"`
}

// NewLease returns a pending lease under plan, paid by first, which usually comes from
// plan.NewExtension. The lease copies the plan's grace period and reminders. NewLease
// returns the plan's validation errors, first's validation errors, an error matching
// ErrInvalidLease when id is empty or contains spaces or control characters, or ErrOverflow
// when the paid and grace seconds add up to more than MaxPaidSeconds.
func NewLease(id string, plan Plan, first Extension) (*Lease, error) {
	if err := plan.Validate(); err != nil {
		return nil, err
	}
	errs := &fieldErrors{object: "lease"}
	checkToken(errs, "id", id)
	if err := errs.err(); err != nil {
		return nil, err
	}
	if err := first.validateNew(); err != nil {
		return nil, err
	}
	// Both terms are at most MaxPaidSeconds once validated, so the sum fits in an int64.
	if first.Seconds+plan.GraceSeconds > MaxPaidSeconds {
		return nil, fmt.Errorf("metering: lease %q: %d paid and %d grace seconds: %w",
			id, first.Seconds, plan.GraceSeconds, ErrOverflow)
	}
	return &Lease{
		ID:              id,
		PlanID:          plan.ID,
		GraceSeconds:    plan.GraceSeconds,
		ReminderSeconds: slices.Clone(plan.ReminderSeconds),
		Extensions:      []Extension{first},
	}, nil
}

// Validate checks a lease read back from a store: the fields that NewLease and the methods
// maintain. It returns all problems joined, each a *FieldError matching ErrInvalidLease, or
// nil.
func (l *Lease) Validate() error {
	errs := &fieldErrors{object: "lease"}
	checkToken(errs, "id", l.ID)
	if l.GraceSeconds < 0 || l.GraceSeconds > MaxPaidSeconds {
		errs.add("grace_seconds", l.GraceSeconds,
			fmt.Sprintf("between 0 and %d seconds", MaxPaidSeconds))
	}
	checkReminders(errs, "reminder_seconds", l.ReminderSeconds)
	if len(l.Extensions) == 0 {
		errs.add("extensions", "none", "at least the first purchase")
	}
	total := max(l.GraceSeconds, 0)
	for i, ext := range l.Extensions {
		ext.validate(errs, fmt.Sprintf("extensions[%d].", i))
		if slices.ContainsFunc(l.Extensions[:i], func(e Extension) bool { return e.ID == ext.ID }) {
			errs.add(fmt.Sprintf("extensions[%d].id", i), ext.ID, "each extension id once")
		}
		if !ext.Revoked() {
			total += max(ext.Seconds, 0)
		}
		if total < 0 || total > MaxPaidSeconds {
			errs.add(fmt.Sprintf("extensions[%d].seconds", i), ext.Seconds,
				fmt.Sprintf("paid and grace seconds that add up to at most %d", MaxPaidSeconds))
			total = 0
		}
	}
	if !l.SuspendedAt.IsZero() && strings.TrimSpace(l.SuspendReason) == "" {
		errs.add("suspend_reason", l.SuspendReason, "a reason while suspended_at is set")
	}
	if !l.TerminatedAt.IsZero() && strings.TrimSpace(l.TerminateReason) == "" {
		errs.add("terminate_reason", l.TerminateReason, "a reason while terminated_at is set")
	}
	return errs.err()
}

// PaidSeconds returns the paid time of the lease: the sum of the seconds of its extensions
// that are not revoked.
func (l *Lease) PaidSeconds() int64 {
	var total int64
	for _, ext := range l.Extensions {
		if !ext.Revoked() {
			total += ext.Seconds
		}
	}
	return total
}

// Started reports whether the lease's instance has run, which starts its paid time.
func (l *Lease) Started() bool {
	return !l.StartedAt.IsZero()
}

// Suspended reports whether the lease is suspended.
func (l *Lease) Suspended() bool {
	return !l.SuspendedAt.IsZero()
}

// Terminated reports whether the lease was terminated.
func (l *Lease) Terminated() bool {
	return !l.TerminatedAt.IsZero()
}

// End returns the end of the paid time, StartedAt plus PaidSeconds, or the zero time while
// the lease is pending.
func (l *Lease) End() time.Time {
	if !l.Started() {
		return time.Time{}
	}
	return l.StartedAt.Add(time.Duration(l.PaidSeconds()) * time.Second)
}

// GraceEnd returns the end of the grace period, End plus GraceSeconds, or the zero time
// while the lease is pending. The instance must be terminated from this instant on.
func (l *Lease) GraceEnd() time.Time {
	if !l.Started() {
		return time.Time{}
	}
	return l.End().Add(time.Duration(l.GraceSeconds) * time.Second)
}

// Start records that the lease's instance runs from at, which starts the paid time at at
// rounded up to a whole second. It returns false when the lease had already started, since the first start counts and a
// retry must not move the end. It returns ErrLeaseEnded for a terminated lease. A suspended
// lease may start: the instance runs, so its time runs too.
func (l *Lease) Start(at time.Time) (bool, error) {
	if at.IsZero() {
		return false, fmt.Errorf("metering: lease %q start: got the zero time, "+
			"expected the instant the instance was seen running", l.ID)
	}
	if l.Started() {
		return false, nil
	}
	if l.Terminated() {
		return false, fmt.Errorf("metering: start lease %q terminated at %s: %w",
			l.ID, l.TerminatedAt.Format(time.RFC3339), ErrLeaseEnded)
	}
	l.StartedAt = ceilSecond(at)
	return true, nil
}

// ceilSecond rounds t up to a whole second and drops its monotonic clock reading. Starting
// on a whole second makes every instant of the lease (end, grace end, reminders) a whole
// second, which survives JSON and stores that keep only microseconds. The customer gains
// under a second.
func ceilSecond(t time.Time) time.Time {
	whole := t.Truncate(time.Second)
	if whole.Before(t) {
		whole = whole.Add(time.Second)
	}
	return whole
}

// Extend applies ext, adding its seconds to the end of the lease. It returns false with no
// error when an extension with the same id and terms was already applied, and
// ErrExtensionConflict when the id was applied with other terms. A payment made while the
// lease is pending, active, suspended or in grace extends it from its current end. A payment
// made at or after the end of the grace period, or to a terminated lease, returns
// ErrLeaseEnded: it pays for a new lease instead. On any error the lease is unchanged.
func (l *Lease) Extend(ext Extension) (bool, error) {
	if err := ext.validateNew(); err != nil {
		return false, err
	}
	for _, applied := range l.Extensions {
		if applied.ID != ext.ID {
			continue
		}
		if applied.sameTerms(ext) {
			return false, nil
		}
		return false, fmt.Errorf("metering: lease %q extension %q: applied for %d units "+
			"(%d s), now %d units (%d s): %w", l.ID, ext.ID, applied.Units, applied.Seconds,
			ext.Units, ext.Seconds, ErrExtensionConflict)
	}
	if l.Terminated() {
		return false, fmt.Errorf("metering: extend lease %q terminated at %s: %w",
			l.ID, l.TerminatedAt.Format(time.RFC3339), ErrLeaseEnded)
	}
	if l.Started() && !ext.PaidAt.Before(l.GraceEnd()) {
		return false, fmt.Errorf("metering: extend lease %q with payment at %s, "+
			"after its grace period ended at %s: %w", l.ID, ext.PaidAt.Format(time.RFC3339),
			l.GraceEnd().Format(time.RFC3339), ErrLeaseEnded)
	}
	total, ok := add(l.PaidSeconds(), ext.Seconds)
	if ok {
		total, ok = add(total, l.GraceSeconds)
	}
	if !ok || total > MaxPaidSeconds {
		return false, fmt.Errorf("metering: extend lease %q by %d s: %w",
			l.ID, ext.Seconds, ErrOverflow)
	}
	l.Extensions = append(l.Extensions, ext)
	return true, nil
}

// Suspend marks the lease's payment as in doubt from at, for reason. Its end does not move.
// It returns false when the lease was already suspended, keeping the first instant and
// reason, and ErrLeaseEnded for a terminated lease.
func (l *Lease) Suspend(reason string, at time.Time) (bool, error) {
	if strings.TrimSpace(reason) == "" {
		return false, fmt.Errorf("metering: suspend lease %q: got an empty reason, "+
			"expected why its payment is in doubt", l.ID)
	}
	if at.IsZero() {
		return false, fmt.Errorf("metering: suspend lease %q: got the zero time, "+
			"expected the instant of suspension", l.ID)
	}
	if l.Terminated() {
		return false, fmt.Errorf("metering: suspend lease %q terminated at %s: %w",
			l.ID, l.TerminatedAt.Format(time.RFC3339), ErrLeaseEnded)
	}
	if l.Suspended() {
		return false, nil
	}
	l.SuspendedAt = at
	l.SuspendReason = reason
	return true, nil
}

// Resume lifts a suspension once the payment is confirmed again. The lease returns to the
// state its paid time gives it, with the end it had all along. It returns false when the
// lease was not suspended, and ErrLeaseEnded for a terminated lease.
func (l *Lease) Resume() (bool, error) {
	if l.Terminated() {
		return false, fmt.Errorf("metering: resume lease %q terminated at %s: %w",
			l.ID, l.TerminatedAt.Format(time.RFC3339), ErrLeaseEnded)
	}
	if !l.Suspended() {
		return false, nil
	}
	l.SuspendedAt = time.Time{}
	l.SuspendReason = ""
	return true, nil
}

// Terminate records that the lease ended at at, for reason: its grace period ran out, its
// payment was lost or the operator cancelled it. The caller records the termination before
// it terminates the instance. It returns false when the lease was already terminated,
// keeping the first instant and reason.
func (l *Lease) Terminate(reason string, at time.Time) (bool, error) {
	if strings.TrimSpace(reason) == "" {
		return false, fmt.Errorf("metering: terminate lease %q: got an empty reason, "+
			"expected why it ends", l.ID)
	}
	if at.IsZero() {
		return false, fmt.Errorf("metering: terminate lease %q: got the zero time, "+
			"expected the instant of termination", l.ID)
	}
	if l.Terminated() {
		return false, nil
	}
	l.TerminatedAt = at
	l.TerminateReason = reason
	return true, nil
}

// MarkReminderSent records that the reminder with key was sent, so Decide no longer returns
// it. It returns false when key was already recorded.
func (l *Lease) MarkReminderSent(key string) bool {
	if slices.Contains(l.RemindersSent, key) {
		return false
	}
	l.RemindersSent = append(l.RemindersSent, key)
	return true
}

// ReminderSent reports whether the reminder with key was recorded as sent.
func (l *Lease) ReminderSent(key string) bool {
	return slices.Contains(l.RemindersSent, key)
}
