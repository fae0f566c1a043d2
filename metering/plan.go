package metering

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
)

// MaxPaidSeconds is the longest paid time a lease can hold, plus its grace period: the
// largest whole number of seconds that fits in a time.Duration (about 292 years).
const MaxPaidSeconds = math.MaxInt64 / int64(time.Second)

// Plan is an offer that customers buy in whole billing units: which instance, at what price
// per unit, how many units per purchase, how long the instance survives an unpaid end and
// when the customer is reminded. Plans are plain data; call Validate before using one that
// came from a file, a form or a store.
type Plan struct {
	// ID identifies the plan in orders and stores. It contains no spaces or control
	// characters.
	ID string `json:"id"`
	// Name is the plan's title for people.
	Name string `json:"name"`
	// InstanceType is the cloud's instance type, such as "m1.small".
	InstanceType string `json:"instance_type"`
	// ImageID is the machine image to launch, such as "emi-12345678".
	ImageID string `json:"image_id"`
	// Unit is the billing unit that one Price buys.
	Unit Unit `json:"unit"`
	// Price is the price of one unit.
	Price Price `json:"price"`
	// MinUnits is the fewest units one purchase may buy, at least 1.
	MinUnits int64 `json:"min_units"`
	// MaxUnits is the most units one purchase may buy, at least MinUnits.
	MaxUnits int64 `json:"max_units"`
	// GraceSeconds is how long the instance keeps running after the paid time ends, so a
	// late extension continues the lease. Zero means the instance ends with the paid time.
	GraceSeconds int64 `json:"grace_seconds"`
	// ReminderSeconds lists how long before the end of the paid time the customer is
	// reminded, in seconds (86400 and 3600 for a day and an hour before). Order does not
	// matter; each value is positive and appears once.
	ReminderSeconds []int64 `json:"reminder_seconds,omitempty"`
}

// Validate checks every field and returns all problems joined with errors.Join. Each problem
// is a *FieldError that names the field, the value and what is expected, and matches
// ErrInvalidPlan. It returns nil for a valid plan.
func (p Plan) Validate() error {
	errs := &fieldErrors{object: "plan"}
	checkToken(errs, "id", p.ID)
	if strings.TrimSpace(p.Name) == "" {
		errs.add("name", p.Name, "a non-empty name")
	}
	checkToken(errs, "instance_type", p.InstanceType)
	checkToken(errs, "image_id", p.ImageID)
	if !p.Unit.Valid() {
		errs.add("unit", string(p.Unit), fmt.Sprintf("one of %v", Units()))
	}
	p.Price.validate(errs, "price")
	p.validateUnits(errs)
	if p.GraceSeconds < 0 || p.GraceSeconds > MaxPaidSeconds {
		errs.add("grace_seconds", p.GraceSeconds,
			fmt.Sprintf("between 0 and %d seconds", MaxPaidSeconds))
	}
	checkReminders(errs, "reminder_seconds", p.ReminderSeconds)
	return errs.err()
}

func (p Plan) validateUnits(errs *fieldErrors) {
	if p.MinUnits < 1 {
		errs.add("min_units", p.MinUnits, "at least 1")
	}
	if p.MaxUnits < max(p.MinUnits, 1) {
		errs.add("max_units", p.MaxUnits,
			fmt.Sprintf("at least min_units (%d) and at least 1", p.MinUnits))
		return
	}
	// NewLease rejects a purchase whose paid time plus grace exceeds MaxPaidSeconds, so a
	// valid plan keeps its largest purchase below that.
	grace := p.GraceSeconds
	if grace < 0 || grace > MaxPaidSeconds {
		grace = 0 // reported as a grace_seconds problem
	}
	if unit := p.Unit.Seconds(); unit > 0 && p.MaxUnits > (MaxPaidSeconds-grace)/unit {
		errs.add("max_units", p.MaxUnits, fmt.Sprintf("at most %d, so that the paid time "+
			"plus grace_seconds fits in a time.Duration", (MaxPaidSeconds-grace)/unit))
	}
	if _, err := p.Price.Times(p.MaxUnits); err != nil && p.Price.Sats >= 0 &&
		p.Price.FiatMinor >= 0 {
		errs.add("max_units", p.MaxUnits,
			fmt.Sprintf("a count whose total price at %s per unit fits in an int64", p.Price))
	}
}

// checkToken requires an identifier with no spaces or control characters.
func checkToken(errs *fieldErrors, field, value string) {
	if value == "" {
		errs.add(field, value, "a non-empty identifier")
		return
	}
	if strings.ContainsFunc(value, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar
	}) {
		errs.add(field, value, "an identifier without spaces or control characters")
	}
}

func checkReminders(errs *fieldErrors, field string, offsets []int64) {
	for i, offset := range offsets {
		name := fmt.Sprintf("%s[%d]", field, i)
		if offset <= 0 || offset > MaxPaidSeconds {
			errs.add(name, offset, fmt.Sprintf("between 1 and %d seconds", MaxPaidSeconds))
		}
		if slices.Contains(offsets[:i], offset) {
			errs.add(name, offset, "each reminder offset once")
		}
	}
}

// checkUnits returns an error matching ErrInvalidExtension unless units is within the
// plan's limits.
func (p Plan) checkUnits(units int64) error {
	if units < p.MinUnits || units > p.MaxUnits {
		return &FieldError{
			Object:   "extension",
			Field:    "units",
			Value:    formatValue(units),
			Expected: fmt.Sprintf("between %d and %d for plan %q", p.MinUnits, p.MaxUnits, p.ID),
		}
	}
	return nil
}

// PriceFor returns the price of units billing units. It returns an error matching
// ErrInvalidExtension when units is outside [MinUnits, MaxUnits], and ErrOverflow when the
// total does not fit in an int64.
func (p Plan) PriceFor(units int64) (Price, error) {
	if err := p.checkUnits(units); err != nil {
		return Price{}, err
	}
	return p.Price.Times(units)
}

// SecondsFor returns the paid time that units billing units buy, in seconds. It returns
// the same errors as PriceFor, and ErrOverflow when the time exceeds MaxPaidSeconds.
func (p Plan) SecondsFor(units int64) (int64, error) {
	if err := p.checkUnits(units); err != nil {
		return 0, err
	}
	unit := p.Unit.Seconds()
	if unit == 0 {
		return 0, &FieldError{Object: "plan", Field: "unit", Value: formatValue(string(p.Unit)),
			Expected: fmt.Sprintf("one of %v", Units())}
	}
	seconds, ok := multiply(units, unit)
	if !ok || seconds > MaxPaidSeconds {
		return 0, fmt.Errorf("metering: %d units of a %s: %w", units, p.Unit, ErrOverflow)
	}
	return seconds, nil
}

// NewExtension returns the extension that buys units billing units of this plan, paid at
// paidAt, under id. The id is what makes applying it idempotent, so it is the payment's
// stable identifier, such as the invoice id. The same call serves the first purchase.
func (p Plan) NewExtension(id string, units int64, paidAt time.Time) (Extension, error) {
	seconds, err := p.SecondsFor(units)
	if err != nil {
		return Extension{}, err
	}
	ext := Extension{ID: id, Units: units, Seconds: seconds, PaidAt: paidAt}
	if err := ext.Validate(); err != nil {
		return Extension{}, err
	}
	return ext, nil
}
