package metering

// State is the phase of a lease at a given instant. Its JSON form is its name.
type State string

// The lease states, as Lease.State computes them. Precedence, highest first: terminated,
// must terminate, suspended, pending, active, grace.
const (
	// StatePending is a paid lease whose instance does not run yet, so its time has not
	// started.
	StatePending State = "pending"
	// StateActive is a started lease before its end: the instance runs on paid time.
	StateActive State = "active"
	// StateGrace is a lease past its end but inside its grace period: the instance still
	// runs, and an extension paid now continues the lease without a gap.
	StateGrace State = "grace"
	// StateMustTerminate is a lease whose grace period has ended, or whose payments were all
	// revoked, but which is not yet recorded as terminated. The caller records Terminate
	// and then terminates the instance.
	StateMustTerminate State = "must_terminate"
	// StateTerminated is a lease recorded as terminated. Nothing changes it any more.
	StateTerminated State = "terminated"
	// StateSuspended is a lease whose payment is in doubt, before the end of its grace
	// period. The instance is not to be trusted: the caller stops serving it until the
	// lease resumes. Its time keeps running.
	StateSuspended State = "suspended"
)

// String returns the state's name.
func (s State) String() string {
	return string(s)
}

// IsFinal reports whether the lease is over: terminated, or due to be terminated. Time alone
// never changes a final state, and Extend refuses payments made from then on.
//
// NOTE: a must-terminate lease can still come back through Extend in two cases: a payment
// made before the grace end but applied late, and a new payment to a lease that never
// started and whose payments were all revoked. Recording Terminate first closes both.
func (s State) IsFinal() bool {
	return s == StateTerminated || s == StateMustTerminate
}
