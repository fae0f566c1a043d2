package eucalyptus

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/instars/instars/internal/ec2emu"
)

func TestReconcile(t *testing.T) {
	b := setup(t, ec2emu.Config{Timings: &ec2emu.Timings{
		Pending: 5 * time.Second, ShuttingDown: 3 * time.Second, TerminatedVisible: 24 * time.Hour,
	}})
	ctx := context.Background()
	launch := func(leaseID string, paidUntil time.Time) Instance {
		t.Helper()
		req := b.request(t, leaseID)
		req.PaidUntil = paidUntil
		instance, err := b.driver.Launch(ctx, req)
		if err != nil {
			t.Fatalf("Launch %s: %v", leaseID, err)
		}
		return instance
	}
	day := testStart.Add(24 * time.Hour)
	fine := launch("lease-fine", day)
	tagOverdue := launch("lease-tag-overdue", testStart.Add(time.Hour))
	expectedOverdue := launch("lease-expected-overdue", day)
	stray := launch("lease-stray", day)
	ended := launch("lease-ended", day)
	if err := b.driver.Terminate(ctx, ended.ID); err != nil {
		t.Fatal(err)
	}
	// An instance the driver did not launch carries no lease tag and is not reported.
	_, err := b.driver.client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(testImage), InstanceType: testType, MinCount: aws.Int32(1),
		MaxCount: aws.Int32(1), ClientToken: aws.String("someone-else"),
	})
	if err != nil {
		t.Fatal(err)
	}
	b.emu.Advance(3 * time.Hour)

	report, err := b.driver.Reconcile(ctx, []Expected{
		{LeaseID: "lease-fine", InstanceID: fine.ID, PaidUntil: day},
		{LeaseID: "lease-tag-overdue"},
		{LeaseID: "lease-expected-overdue", InstanceID: expectedOverdue.ID,
			PaidUntil: testStart.Add(2 * time.Hour)},
		{LeaseID: "lease-ended", InstanceID: ended.ID, PaidUntil: day},
		{LeaseID: "lease-never-launched", PaidUntil: day},
		{LeaseID: "lease-lost-id", InstanceID: "i-0badf00d", PaidUntil: day},
	})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}

	if !report.CheckedAt.Equal(b.emu.Now()) {
		t.Errorf("CheckedAt = %v, want the clock's %v", report.CheckedAt, b.emu.Now())
	}
	var unknown []string
	for _, instance := range report.Unknown {
		unknown = append(unknown, instance.ID)
	}
	if !slices.Equal(unknown, []string{stray.ID}) {
		t.Errorf("Unknown = %v, want [%s]", unknown, stray.ID)
	}

	missing := map[string]*Instance{}
	for _, m := range report.Missing {
		missing[m.Expected.LeaseID] = m.LastSeen
	}
	if len(missing) != 3 {
		t.Errorf("Missing has %d leases, want 3: %+v", len(missing), report.Missing)
	}
	if seen, ok := missing["lease-ended"]; !ok || seen == nil || seen.ID != ended.ID ||
		seen.Live() {
		t.Errorf("Missing lease-ended = %+v, want the terminated %s as last seen", seen,
			ended.ID)
	}
	for _, lease := range []string{"lease-never-launched", "lease-lost-id"} {
		if seen, ok := missing[lease]; !ok || seen != nil {
			t.Errorf("Missing %s = %v (listed %v), want listed without a last seen instance",
				lease, seen, ok)
		}
	}

	overdue := map[string]Overdue{}
	for _, o := range report.Overdue {
		overdue[o.Instance.ID] = o
	}
	if len(overdue) != 2 {
		t.Errorf("Overdue has %d instances, want 2: %+v", len(overdue), report.Overdue)
	}
	if o, ok := overdue[tagOverdue.ID]; !ok || !o.FromTag ||
		!o.PaidUntil.Equal(testStart.Add(time.Hour)) {
		t.Errorf("Overdue %s = %+v, want paid until the tagged time", tagOverdue.ID, o)
	}
	if o, ok := overdue[expectedOverdue.ID]; !ok || o.FromTag ||
		!o.PaidUntil.Equal(testStart.Add(2*time.Hour)) {
		t.Errorf("Overdue %s = %+v, want paid until the expected time", expectedOverdue.ID, o)
	}

	var listed []string
	for _, instance := range report.Instances {
		listed = append(listed, instance.ID)
	}
	for _, id := range []string{fine.ID, tagOverdue.ID, expectedOverdue.ID, stray.ID, ended.ID} {
		if !slices.Contains(listed, id) {
			t.Errorf("Instances lacks %s: %v", id, listed)
		}
	}
	if len(listed) != 5 {
		t.Errorf("Instances has %d entries, want 5: %v", len(listed), listed)
	}
}

func TestReconcileSecondLaunchOfLeaseIsUnknown(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	ctx := context.Background()
	req := b.request(t, "lease-twice")
	first, err := b.driver.Launch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b.emu.Advance(time.Minute)
	req.Attempt = 1
	second, err := b.driver.Launch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	report, err := b.driver.Reconcile(ctx, []Expected{{LeaseID: "lease-twice"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Unknown) != 1 || report.Unknown[0].ID != second.ID {
		t.Errorf("Unknown = %+v, want only the later launch %s (first %s)", report.Unknown,
			second.ID, first.ID)
	}
	if len(report.Missing) != 0 || len(report.Overdue) != 0 {
		t.Errorf("Missing = %+v, Overdue = %+v, want none", report.Missing, report.Overdue)
	}
}

func TestReconcileRejectsBadLeaseID(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	_, err := b.driver.Reconcile(context.Background(), []Expected{{LeaseID: ""}})
	if err == nil {
		t.Fatal("Reconcile with an empty lease id succeeded")
	}
	if calls := b.emu.Calls("DescribeInstances"); calls != 0 {
		t.Errorf("DescribeInstances called %d times, want 0", calls)
	}
}
