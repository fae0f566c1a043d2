package eucalyptus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Expected is a lease the caller believes should have a live instance.
type Expected struct {
	// LeaseID is the lease, as tagged on its instance.
	LeaseID string
	// InstanceID is the instance the caller recorded for the lease; empty when it never
	// learned it, as after a crash during Launch. Then the lease's tag finds the instance.
	InstanceID string
	// PaidUntil is the end of the paid time as the caller records it; zero means use the
	// instance's TagPaidUntil tag.
	PaidUntil time.Time
}

// Report compares the instances that carry the driver's tags with what the caller expects.
type Report struct {
	// CheckedAt is when the comparison was made, by the driver's clock.
	CheckedAt time.Time
	// Instances are every live (pending, running, stopping or stopped) instance that carries
	// TagLease, and every instance an Expected entry names.
	Instances []Instance
	// Unknown are live instances tagged with a lease that no Expected entry accounts for.
	// They cost money and nothing bills them.
	Unknown []Instance
	// Missing are Expected entries that have no live instance.
	Missing []Missing
	// Overdue are live instances whose paid time has passed.
	Overdue []Overdue
}

// Missing is an expected lease without a live instance.
type Missing struct {
	Expected Expected
	// LastSeen is the instance as the cloud still shows it (shutting-down or terminated), or
	// nil when the cloud does not know it.
	LastSeen *Instance
}

// Overdue is a live instance past its paid time.
type Overdue struct {
	Instance Instance
	// PaidUntil is the end of the paid time that has passed: Expected.PaidUntil when the
	// caller gave one, else the instance's tag.
	PaidUntil time.Time
	// FromTag reports whether PaidUntil was read from the instance's tag.
	FromTag bool
}

// Reconcile lists the instances that carry TagLease and compares them with expected: live
// instances no entry expects, expected leases without a live instance, and live instances past
// their paid time. It changes nothing in the cloud; the caller decides what to terminate or
// relaunch.
func (d *Driver) Reconcile(ctx context.Context, expected []Expected) (Report, error) {
	for i, e := range expected {
		if err := validateLeaseID(e.LeaseID); err != nil {
			return Report{}, fmt.Errorf("expected[%d]: %w", i, err)
		}
	}
	tagged, err := d.listTagged(ctx)
	if err != nil {
		return Report{}, err
	}
	report := Report{CheckedAt: d.now()}
	byID := map[string]Instance{}
	for _, instance := range tagged {
		byID[instance.ID] = instance
	}
	// An expected instance may lack the tag, say when a cloud dropped TagSpecifications.
	for _, e := range expected {
		if _, ok := byID[e.InstanceID]; e.InstanceID == "" || ok {
			continue
		}
		instance, err := d.Describe(ctx, e.InstanceID)
		if errors.Is(err, ErrInstanceNotFound) {
			continue
		}
		if err != nil {
			return Report{}, err
		}
		tagged = append(tagged, instance)
		byID[instance.ID] = instance
	}
	// Oldest first, so that without an instance id the first launch of a lease is the one
	// expected and any later one is reported unknown.
	slices.SortStableFunc(tagged, func(a, b Instance) int {
		return a.LaunchTime.Compare(b.LaunchTime)
	})

	matched := map[string]bool{}
	for _, e := range expected {
		instance, found := findExpected(e, tagged, matched)
		if found {
			matched[instance.ID] = true
		}
		if !found || !instance.Live() {
			missing := Missing{Expected: e}
			if found {
				missing.LastSeen = &instance
			}
			report.Missing = append(report.Missing, missing)
			d.logger.WarnContext(ctx, "expected lease has no live instance", "lease", e.LeaseID,
				"instance_id", e.InstanceID)
			continue
		}
		d.checkOverdue(ctx, &report, instance, e.PaidUntil)
	}
	for _, instance := range tagged {
		if instance.Live() || matched[instance.ID] {
			report.Instances = append(report.Instances, instance)
		}
		if !instance.Live() || matched[instance.ID] {
			continue
		}
		report.Unknown = append(report.Unknown, instance)
		d.logger.WarnContext(ctx, "live instance of no expected lease", "instance_id",
			instance.ID, "lease", instance.LeaseID, "state", instance.State)
		d.checkOverdue(ctx, &report, instance, time.Time{})
	}
	return report, nil
}

// findExpected returns the instance that e names, or else the oldest instance tagged with its
// lease that no other entry has matched, preferring a live one.
func findExpected(e Expected, instances []Instance, matched map[string]bool) (Instance, bool) {
	if e.InstanceID != "" {
		for _, instance := range instances {
			if instance.ID == e.InstanceID {
				return instance, true
			}
		}
		return Instance{}, false
	}
	var dead *Instance
	for i, instance := range instances {
		if instance.LeaseID != e.LeaseID || matched[instance.ID] {
			continue
		}
		if instance.Live() {
			return instance, true
		}
		if dead == nil {
			dead = &instances[i]
		}
	}
	if dead != nil {
		return *dead, true
	}
	return Instance{}, false
}

// checkOverdue adds instance to the report's Overdue list when its paid time has passed.
// paidUntil is the caller's value; zero means the instance's tag.
func (d *Driver) checkOverdue(ctx context.Context, report *Report, instance Instance,
	paidUntil time.Time) {
	fromTag := paidUntil.IsZero()
	if fromTag {
		paidUntil = instance.PaidUntil
	}
	if paidUntil.IsZero() || !report.CheckedAt.After(paidUntil) {
		return
	}
	report.Overdue = append(report.Overdue, Overdue{
		Instance: instance, PaidUntil: paidUntil, FromTag: fromTag,
	})
	d.logger.WarnContext(ctx, "instance running past its paid time", "instance_id",
		instance.ID, "lease", instance.LeaseID, "paid_until", formatPaidUntil(paidUntil),
		"from_tag", fromTag)
}

// listTagged returns every instance, in any state, that carries TagLease.
func (d *Driver) listTagged(ctx context.Context) ([]Instance, error) {
	pages := ec2.NewDescribeInstancesPaginator(d.client, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("tag-key"), Values: []string{TagLease}}},
	})
	var instances []Instance
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, d.classify(ctx, "DescribeInstances tagged "+TagLease, err)
		}
		for _, reservation := range page.Reservations {
			for _, instance := range reservation.Instances {
				instances = append(instances, instanceFromEC2(instance))
			}
		}
	}
	return instances, nil
}
