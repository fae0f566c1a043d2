package metering

import (
	"fmt"
	"time"
)

// Unit is the billing unit of a plan: the length of time that one unit of its price buys.
// Its JSON form is the lowercase name ("hour", "day", "week", "month").
type Unit string

// The billing units. A month is always 30 days, so that every unit has a fixed length in
// seconds and a lease's end does not depend on the calendar or the time zone.
const (
	UnitHour  Unit = "hour"
	UnitDay   Unit = "day"
	UnitWeek  Unit = "week"
	UnitMonth Unit = "month"
)

// Units lists every valid Unit, shortest first.
func Units() []Unit {
	return []Unit{UnitHour, UnitDay, UnitWeek, UnitMonth}
}

// Duration returns the length of one unit, or 0 for an unknown unit.
func (u Unit) Duration() time.Duration {
	switch u {
	case UnitHour:
		return time.Hour
	case UnitDay:
		return 24 * time.Hour
	case UnitWeek:
		return 7 * 24 * time.Hour
	case UnitMonth:
		return 30 * 24 * time.Hour
	}
	return 0
}

// Seconds returns the length of one unit in whole seconds, or 0 for an unknown unit.
func (u Unit) Seconds() int64 {
	return int64(u.Duration() / time.Second)
}

// Valid reports whether u is one of the units listed by Units.
func (u Unit) Valid() bool {
	return u.Duration() > 0
}

// String returns the unit's name.
func (u Unit) String() string {
	return string(u)
}

// ParseUnit returns the Unit named s, or an error naming s and the accepted names.
func ParseUnit(s string) (Unit, error) {
	u := Unit(s)
	if !u.Valid() {
		return "", fmt.Errorf("metering: unknown billing unit %q, expected one of %v", s, Units())
	}
	return u, nil
}
