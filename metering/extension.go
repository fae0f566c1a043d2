package metering

import (
	"fmt"
	"strings"
	"time"
)

// Extension is one payment applied to a lease: the first purchase or a later extension. It
// adds Seconds of paid time to the end of the lease.
type Extension struct {
	// ID is the payment's stable identifier, such as its invoice id. A lease applies each
	// id once, so retrying an extension is safe.
	ID string `json:"id"`
	// Units is the number of billing units bought.
	Units int64 `json:"units"`
	// Seconds is the paid time bought: Units times the length of the plan's unit.
	Seconds int64 `json:"seconds"`
	// PaidAt is the instant the payment counts as made. It decides whether an extension
	// continues a lease in its grace period or comes too late and needs a new lease.
	PaidAt time.Time `json:"paid_at"`
	// RevokedAt is when the payment was found lost for good, zero while it counts. A
	// revoked extension adds no paid time, and its id stays used.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// RevokeReason is the reason for the revocation, shown to the operator.
	RevokeReason string `json:"revoke_reason,omitempty"`
}

// Revoked reports whether the extension was revoked and so adds no paid time.
func (e Extension) Revoked() bool {
	return !e.RevokedAt.IsZero()
}

// Validate returns the problems of e joined with errors.Join, each a *FieldError matching
// ErrInvalidExtension, or nil when e can be applied.
func (e Extension) Validate() error {
	errs := &fieldErrors{object: "extension"}
	e.validate(errs, "")
	return errs.err()
}

// validateNew is Validate for an extension about to be applied, which cannot be revoked
// yet.
func (e Extension) validateNew() error {
	errs := &fieldErrors{object: "extension"}
	e.validate(errs, "")
	if e.Revoked() {
		errs.add("revoked_at", e.RevokedAt.Format(time.RFC3339),
			"the zero time: apply the extension, then revoke it with Lease.Revoke")
	}
	return errs.err()
}

// validate adds the problems of e to errs, with field names under prefix.
func (e Extension) validate(errs *fieldErrors, prefix string) {
	if strings.TrimSpace(e.ID) == "" {
		errs.add(prefix+"id", e.ID, "a non-empty payment id, such as the invoice id")
	}
	if e.Units <= 0 {
		errs.add(prefix+"units", e.Units, "a positive number of billing units")
	}
	if e.Seconds <= 0 || e.Seconds > MaxPaidSeconds {
		errs.add(prefix+"seconds", e.Seconds,
			fmt.Sprintf("a positive number of seconds up to %d", MaxPaidSeconds))
	}
	if e.PaidAt.IsZero() {
		errs.add(prefix+"paid_at", e.PaidAt, "the instant the payment was made")
	}
	if e.Revoked() && strings.TrimSpace(e.RevokeReason) == "" {
		errs.add(prefix+"revoke_reason", e.RevokeReason, "a reason while revoked_at is set")
	}
}

// sameTerms reports whether e and other buy the same time, so that applying other after e
// under the same id is a retry and not a conflict. PaidAt may differ between retries, since
// a caller may observe the same payment at different instants.
func (e Extension) sameTerms(other Extension) bool {
	return e.Units == other.Units && e.Seconds == other.Seconds
}
