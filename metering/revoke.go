package metering

import (
	"fmt"
	"strings"
	"time"
)

// Revoke takes back the paid time of the extension with id, because its payment is lost for
// good, for example after a double spend replaced the transaction that paid it. The end
// moves earlier by the extension's seconds, possibly into the past, in which case the lease
// must be terminated at once. A lease with no paid time left must be terminated even if it
// never started.
//
// Revoke does not lift a suspension: a caller that suspended the lease while the payment was
// in doubt calls Resume after revoking, if the remaining payments are sound. The id stays
// used, so applying it again is a no-op, and a replacement payment comes as a new extension.
// Revoke returns false when the extension was already revoked, keeping the first instant and
// reason, and ErrExtensionNotFound when the lease has no extension with id. A terminated
// lease may still be revoked, so that its usage records stay within what was paid.
func (l *Lease) Revoke(id, reason string, at time.Time) (bool, error) {
	if strings.TrimSpace(reason) == "" {
		return false, fmt.Errorf("metering: revoke extension %q of lease %q: got an empty "+
			"reason, expected why the payment is lost", id, l.ID)
	}
	if at.IsZero() {
		return false, fmt.Errorf("metering: revoke extension %q of lease %q: got the zero "+
			"time, expected the instant of revocation", id, l.ID)
	}
	for i := range l.Extensions {
		ext := &l.Extensions[i]
		if ext.ID != id {
			continue
		}
		if ext.Revoked() {
			return false, nil
		}
		ext.RevokedAt = at
		ext.RevokeReason = reason
		return true, nil
	}
	return false, fmt.Errorf("metering: revoke extension %q of lease %q: %w",
		id, l.ID, ErrExtensionNotFound)
}
