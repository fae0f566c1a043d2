// Package metering is the arithmetic of time-based rental: plans, leases, extensions, usage
// records, and for any instant which reminders are due, whether a lease is active, in grace or
// over, and when anything next changes. It does no I/O; time comes from a Clock.
//
// # Plans and payments
//
// A Plan sells whole billing units (hour, day, week, or a month of exactly 30 days) at a Price
// that is either integer satoshis or an integer fiat amount in minor units with its ISO 4217 code,
// never both. Plan.Validate reports every invalid field at once. Plan.NewExtension turns a payment
// of some units into an Extension of paid seconds, identified by the payment's stable id (such as
// the invoice id) and dated by when the payment counts as made.
//
// # Leases
//
// NewLease makes a pending lease from the first Extension. It copies the plan's grace period and
// reminders, so later changes to the plan do not touch leases already sold. The paid time starts
// with Start, when the instance is first seen running, rounded up to a whole second. From then on
// End is StartedAt plus the paid seconds of all extensions not revoked, and GraceEnd is End plus
// the grace period. Methods only compute: the caller stores the lease after each change and before
// acting on it. Each changing method reports whether it changed anything, so a retry is a no-op
// that reports false.
//
// Extend adds an extension's seconds to the end of a pending, active, grace or suspended lease
// when the payment was made before GraceEnd: a payment during the grace period continues the lease
// without a gap. A payment made at or after GraceEnd, or to a terminated lease, returns
// ErrLeaseEnded and buys a new lease instead. The same extension id with the same terms is a
// no-op; with other terms it returns ErrExtensionConflict.
//
// Suspend marks a lease whose payment is in doubt (for example, reorganised out of the chain).
// Suspension never moves the end: the lease's time keeps running, no reminders are due, and the
// caller stops serving the instance until Resume. A lease still suspended at GraceEnd must be
// terminated. Revoke takes back the paid time of a payment lost for good; the end moves earlier,
// possibly into the past, and a lease left with no paid time must be terminated even if it never
// started. Revoke does not lift a suspension. Terminate records the end of a lease before the
// caller terminates its instance. After it, a new payment, Suspend and Resume return
// ErrLeaseEnded, while Revoke still applies so that usage stays within what was paid.
//
// # Decisions
//
// Lease.Decide returns, for one instant, the State (pending, active, grace, suspended,
// must_terminate, terminated), End and GraceEnd, the Reminders due and not yet marked sent, and
// NextChange, the next instant at which time alone changes any of these. A scheduler acts on the
// decision, records what it did (MarkReminderSent, Terminate), and sleeps until NextChange on a
// TimerClock; FakeClock moves time in tests. A reminder falls due at End minus its offset and
// stays due until the next one, so a scheduler that was down sends only the most urgent; one whose
// instant is at or before the start is never due. Reminder keys depend on the lease id, the paid
// seconds and the offset only, so an extension brings fresh reminders and keys survive a store
// that rounds timestamps.
//
// All instants compare with time.Time methods, so time zones and monotonic clock readings do not
// change a decision, and a lease decides the same after a JSON round trip. Lease.Usage counts the
// paid seconds used in an interval, in whole seconds from the start.
//
// # Errors
//
// An invalid plan, extension or lease returns *FieldError values joined with errors.Join; each
// names the object, the JSON field, the value and what was expected, and matches ErrInvalidPlan,
// ErrInvalidExtension or ErrInvalidLease. Changes that are not allowed return ErrLeaseEnded,
// ErrExtensionConflict or ErrExtensionNotFound, and arithmetic beyond MaxPaidSeconds or int64
// returns ErrOverflow. On any error the lease is unchanged.
package metering
