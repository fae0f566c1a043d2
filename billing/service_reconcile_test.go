package billing

import (
	"context"
	"testing"
	"time"

	"github.com/instars/instars/eucalyptus"
	"github.com/instars/instars/internal/ec2emu"
)

// drainAlerts returns the kinds of the alerts notified so far.
func drainAlerts(b *serviceBundle) map[AlertKind]int {
	out := map[AlertKind]int{}
	for {
		select {
		case a := <-b.alerts:
			out[a.Kind]++
		default:
			return out
		}
	}
}

func instanceState(b *serviceBundle, id string) string {
	for _, in := range b.emu.Instances() {
		if in.ID == id {
			return in.State
		}
	}
	return ""
}

func TestServiceReconcileFindsStrayInstances(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{})
	inv := b.submit(t, "")
	b.chain.pay(inv.Destination, inv.Amount, 1)
	l := b.waitLease(t, inv.ID, LeaseRunning)
	if err := b.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	// Alerts are stored before Reconcile returns, so none stored means none raised.
	if stored, err := b.svc.Alerts(ctx, 0); err != nil || len(stored) != 0 {
		t.Fatalf("alerts %+v (%v) when everything matches, want none", stored, err)
	}

	// A second instance for the same lease (a leaked earlier attempt) and one for a lease
	// the server does not know.
	launch := func(leaseID string, attempt int) string {
		in, err := b.driver.Launch(ctx, eucalyptus.LaunchRequest{LeaseID: leaseID,
			Attempt: attempt, ImageID: svcPlan().ImageID, InstanceType: svcPlan().InstanceType,
			SSHPublicKey: b.customer.sshKey, PaidUntil: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return in.ID
	}
	leaked := launch(l.ID, 7)
	ghost := launch("lease-ghost", 0)
	if err := b.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	svcWaitFor(t, 5*time.Second, "the leaked instance to be terminated", func() bool {
		s := instanceState(b, leaked)
		return s == ec2emu.StateTerminated || s == "shutting-down"
	})
	if s := instanceState(b, l.InstanceID); s != ec2emu.StateRunning {
		t.Fatalf("the lease's own instance is %s, want running", s)
	}
	if s := instanceState(b, ghost); s != ec2emu.StateRunning {
		t.Fatalf("the unknown lease's instance is %s, want it left running for the operator", s)
	}

	if err := b.driver.Terminate(ctx, l.InstanceID); err != nil {
		t.Fatal(err)
	}
	// An instance missing right after its start may only be unlisted yet.
	b.advance(t, reconcileStartGrace)
	if err := b.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	want := []AlertKind{AlertUnpaidInstance, AlertUnknownInstance, AlertInstanceMissing}
	got := map[AlertKind]int{}
	svcWaitFor(t, 5*time.Second, "the three alerts", func() bool {
		for k, n := range drainAlerts(b) {
			got[k] += n
		}
		for _, k := range want {
			if got[k] == 0 {
				return false
			}
		}
		return true
	})
	// Reconciling again raises no new alert about the same instances.
	if err := b.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	alerts, err := b.svc.Alerts(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 3 {
		t.Fatalf("%d stored alerts after reconciling twice, want 3: %+v", len(alerts), alerts)
	}
}
