package metering

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidPlan is matched by every problem that Plan.Validate reports.
	ErrInvalidPlan = errors.New("metering: invalid plan")

	// ErrInvalidExtension is matched by every problem found in an Extension before it is
	// applied, and by a unit count outside the plan's limits.
	ErrInvalidExtension = errors.New("metering: invalid extension")

	// ErrInvalidLease is matched by every problem that Lease.Validate reports.
	ErrInvalidLease = errors.New("metering: invalid lease")

	// ErrLeaseEnded is returned when a lease is asked to change after it has ended: it was
	// terminated, or a payment arrived at or after the end of its grace period. A payment in
	// that case buys a new lease, so the caller creates one with NewLease.
	ErrLeaseEnded = errors.New("metering: lease has ended, so a new payment needs a new lease")

	// ErrExtensionConflict is returned when an extension id that was already applied comes
	// again with different units or seconds. The same id with the same terms is a no-op.
	ErrExtensionConflict = errors.New("metering: extension id already applied with other terms")

	// ErrExtensionNotFound is returned when an extension id to revoke was never applied to
	// the lease.
	ErrExtensionNotFound = errors.New("metering: extension not found in lease")

	// ErrOverflow is returned when a price or a paid time does not fit in an int64 or in a
	// time.Duration.
	ErrOverflow = errors.New("metering: arithmetic overflow")
)

// FieldError is one invalid field: which object and field, the value found and what was
// expected. It matches ErrInvalidPlan, ErrInvalidExtension or ErrInvalidLease with errors.Is,
// according to Object.
type FieldError struct {
	// Object is "plan", "extension" or "lease".
	Object string
	// Field is the JSON name of the field, with a dot for nested fields ("price.currency").
	Field string
	// Value is the value found, formatted for people.
	Value string
	// Expected describes the values that are accepted.
	Expected string
}

// Error formats the field, the value and what was expected on one line.
func (e *FieldError) Error() string {
	return fmt.Sprintf("metering: invalid %s field %s: got %s, expected %s",
		e.Object, e.Field, e.Value, e.Expected)
}

// Unwrap returns the sentinel of the object kind, so errors.Is(err, ErrInvalidPlan) holds for
// every plan field error.
func (e *FieldError) Unwrap() error {
	switch e.Object {
	case "plan":
		return ErrInvalidPlan
	case "extension":
		return ErrInvalidExtension
	case "lease":
		return ErrInvalidLease
	}
	return nil
}

// fieldErrors collects the problems of one object so that validation reports all of them.
type fieldErrors struct {
	object string
	errs   []error
}

func (f *fieldErrors) add(field string, value any, expected string) {
	f.errs = append(f.errs, &FieldError{
		Object:   f.object,
		Field:    field,
		Value:    formatValue(value),
		Expected: expected,
	})
}

func (f *fieldErrors) err() error {
	return errors.Join(f.errs...)
}

func formatValue(value any) string {
	switch v := value.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}
