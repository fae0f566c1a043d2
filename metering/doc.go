// Package metering is the arithmetic of time-based rental: plans, leases, extensions, usage
// records, and for any instant which reminders are due, whether a lease is active, in grace or
// over, and when anything next changes. It does no I/O; time comes from a Clock.
package metering
