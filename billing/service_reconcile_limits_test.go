package billing

import (
	"context"
	"testing"
	"time"

	"github.com/instars/instars/internal/ec2emu"
)

// TestServiceReconcileBeyondListLimit stores more old ended leases than the list methods
// return, then checks that Reconcile still expects the newest running leases: it matches
// the real instance and reports the lease whose instance is gone.
func TestServiceReconcileBeyondListLimit(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{})
	inv := b.submit(t, "")
	b.chain.pay(inv.Destination, inv.Amount, 1)
	running := b.waitLease(t, inv.ID, LeaseRunning)

	now := b.clock.Now()
	writeLeases(t, b.svc, endedLeases(maxListed+5, now.Add(-3*time.Hour)))
	goneLease := writeLeases(t, b.svc, []leaseRow{{status: LeaseRunning, instanceID: "i-0badc0de",
		createdAt: now, startedAt: now.Add(-time.Hour)}})[0]

	if err := b.svc.Reconcile(ctx); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	kinds := storedAlertKinds(t, b)
	if n := kinds[AlertUnknownInstance]; n != 0 {
		t.Errorf("%d unknown-instance alerts; instance %s belongs to running lease %s", n,
			running.InstanceID, running.ID)
	}
	if n := kinds[AlertUnpaidInstance]; n != 0 {
		t.Errorf("%d unpaid-instance alerts, want none", n)
	}
	if n := kinds[AlertInstanceMissing]; n != 1 {
		t.Errorf("%d instance-missing alerts, want 1 for lease %s", n, goneLease)
	}
	if s := instanceState(b, running.InstanceID); s != ec2emu.StateRunning {
		t.Errorf("the running lease's instance is %s, want running", s)
	}
}

// TestServiceReconcileWaitsForNewInstances checks that an instance missing moments after
// its lease started raises no alert, since the cloud may not list it yet, and raises one
// once the grace period has passed.
func TestServiceReconcileWaitsForNewInstances(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{})
	inv := b.submit(t, "")
	b.chain.pay(inv.Destination, inv.Amount, 1)
	l := b.waitLease(t, inv.ID, LeaseRunning)
	if err := b.driver.Terminate(ctx, l.InstanceID); err != nil {
		t.Fatal(err)
	}

	b.clock.Advance(reconcileStartGrace - time.Second)
	if err := b.svc.Reconcile(ctx); err != nil {
		t.Fatalf("Reconcile within the grace period: %v", err)
	}
	if n := storedAlertKinds(t, b)[AlertInstanceMissing]; n != 0 {
		t.Fatalf("%d instance-missing alerts %v after the lease started, want none",
			n, reconcileStartGrace-time.Second)
	}

	b.clock.Advance(time.Second)
	if err := b.svc.Reconcile(ctx); err != nil {
		t.Fatalf("Reconcile after the grace period: %v", err)
	}
	if n := storedAlertKinds(t, b)[AlertInstanceMissing]; n != 1 {
		t.Errorf("%d instance-missing alerts once the grace period passed, want 1", n)
	}
}
