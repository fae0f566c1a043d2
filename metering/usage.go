package metering

import (
	"fmt"
	"time"
)

// UsageRecord is the paid instance time a lease used over an interval.
type UsageRecord struct {
	// LeaseID is the lease measured.
	LeaseID string `json:"lease_id"`
	// From and To bound the interval [From, To).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Seconds is the number of whole instance-seconds of paid time inside the interval.
	Seconds int64 `json:"seconds"`
}

// Usage returns the paid instance time of the lease inside [from, to). Only time between
// the start and the earlier of the end and the termination counts, so usage is never
// negative and never exceeds PaidSeconds. Grace time is not paid and does not count.
// Suspension does not stop the count, because the lease's time keeps running.
//
// Seconds are counted in whole seconds from the lease's start, so the usage of adjacent
// intervals adds up exactly to the usage of their union. For usage so far, pass the current
// time as to. Usage returns an error when to is before from.
func (l *Lease) Usage(from, to time.Time) (UsageRecord, error) {
	if to.Before(from) {
		return UsageRecord{}, fmt.Errorf("metering: usage of lease %q: interval ends at %s "+
			"before it starts at %s, expected from <= to", l.ID,
			to.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano))
	}
	record := UsageRecord{LeaseID: l.ID, From: from, To: to}
	if !l.Started() {
		return record, nil
	}
	limit := l.PaidSeconds()
	if l.Terminated() {
		limit = min(limit, l.offset(l.TerminatedAt, limit))
	}
	record.Seconds = l.offset(to, limit) - l.offset(from, limit)
	return record, nil
}

// offset returns the whole seconds from the lease's start to t, clamped to [0, limit].
func (l *Lease) offset(t time.Time, limit int64) int64 {
	if !t.After(l.StartedAt) {
		return 0
	}
	// Sub saturates at the largest Duration, which is beyond any limit.
	seconds := int64(t.Sub(l.StartedAt) / time.Second)
	return min(seconds, limit)
}
