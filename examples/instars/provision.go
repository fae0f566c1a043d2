package main

import (
	"context"
	"time"

	"github.com/instars/instars/billing"
	"github.com/instars/instars/metering"
)

// paidUntilProvisioner fills in LaunchRequest.PaidUntil when the service leaves it zero,
// which it does because the paid time starts only once the instance runs. The eucalyptus
// driver requires it for the instance's paid-until tag.
//
// NOTE: the tag then holds an estimate: the launch time plus the longest first purchase of
// any plan, with its grace. The reconciliation report compares against the lease's own end
// from the store, so the estimate only matters to someone reading the tag in the cloud.
type paidUntilProvisioner struct {
	billing.Provisioner
	clock metering.Clock
	// longest is the paid time plus grace of the longest first purchase.
	longest time.Duration
}

func newPaidUntilProvisioner(inner billing.Provisioner, clock metering.Clock,
	plans []metering.Plan,
) paidUntilProvisioner {
	p := paidUntilProvisioner{Provisioner: inner, clock: clock}
	for _, plan := range plans {
		seconds, err := plan.SecondsFor(plan.MinUnits)
		if err != nil {
			continue
		}
		p.longest = max(p.longest, time.Duration(seconds+plan.GraceSeconds)*time.Second)
	}
	return p
}

func (p paidUntilProvisioner) Launch(ctx context.Context, req billing.LaunchRequest) (
	billing.Instance, error,
) {
	if req.PaidUntil.IsZero() {
		req.PaidUntil = p.clock.Now().Add(p.longest).UTC().Truncate(time.Second)
	}
	return p.Provisioner.Launch(ctx, req)
}
