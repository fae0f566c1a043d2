package billing

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// lostReplyProvisioner launches the first time but reports an error, as when the cloud's
// reply is lost, and moves the clock before the service tries again.
type lostReplyProvisioner struct {
	EucalyptusProvisioner
	advance func()
	calls   atomic.Int32
}

func (p *lostReplyProvisioner) Launch(ctx context.Context, req LaunchRequest) (Instance,
	error,
) {
	inst, err := p.EucalyptusProvisioner.Launch(ctx, req)
	if p.calls.Add(1) == 1 && err == nil {
		p.advance()
		return Instance{}, errors.New("connection reset after RunInstances")
	}
	return inst, err
}

func TestLaunchRepeatedLaterSendsSameRequest(t *testing.T) {
	var lost *lostReplyProvisioner
	b := newServiceBundle(t, bundleOptions{configure: func(cfg *Config) {
		lost = &lostReplyProvisioner{EucalyptusProvisioner: cfg.Provisioner.(EucalyptusProvisioner)}
		cfg.Provisioner = lost
	}})
	lost.advance = func() { b.clock.Advance(time.Minute) }

	inv := b.submit(t, "")
	svcWaitFor(t, 5*time.Second, "the gateway to watch the invoice", func() bool {
		return b.chain.isWatched(inv.Destination)
	})
	b.chain.pay(inv.Destination, inv.Amount, 1)
	l := b.waitLease(t, inv.ID, LeaseRunning)
	if n := lost.calls.Load(); n < 2 {
		t.Fatalf("Launch was called %d times, want a repeat after the lost reply", n)
	}
	instances := b.emu.Instances()
	if len(instances) != 1 || instances[0].ID != l.InstanceID {
		t.Fatalf("emulator has %+v, want the one instance %s of the first call", instances,
			l.InstanceID)
	}
}
