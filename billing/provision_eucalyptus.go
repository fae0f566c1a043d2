package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/instars/instars/eucalyptus"
)

// EucalyptusProvisioner is the Provisioner for Eucalyptus, AWS EC2 or any EC2-compatible
// cloud, through the eucalyptus driver.
type EucalyptusProvisioner struct {
	Driver *eucalyptus.Driver
}

var _ Provisioner = EucalyptusProvisioner{}

// Launch launches the lease's instance with the driver, which imports the customer's key as
// the lease's key pair and makes the launch idempotent with a client token derived from the
// lease ID and attempt. A launch that timed out keeps its attempt number, so the next call
// waits for the same instance instead of starting another.
func (p EucalyptusProvisioner) Launch(ctx context.Context, req LaunchRequest) (Instance, error) {
	inst, err := p.Driver.Launch(ctx, eucalyptus.LaunchRequest{
		LeaseID: req.LeaseID, OrderID: req.OrderID, Attempt: req.Attempt,
		ImageID: req.ImageID, InstanceType: req.InstanceType, SSHPublicKey: req.SSHPublicKey,
		PaidUntil: req.PaidUntil,
	})
	out := instanceFromDriver(inst)
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, eucalyptus.ErrInstanceFailed):
		return out, fmt.Errorf("%w: %w", ErrInstanceFailed, err)
	case errors.Is(err, eucalyptus.ErrInvalidRequest), errors.Is(err, eucalyptus.ErrInvalidSSHKey),
		errors.Is(err, eucalyptus.ErrKeyPairConflict):
		return out, fmt.Errorf("%w: %w", ErrLaunchRejected, err)
	default:
		return out, err
	}
}

// Terminate terminates the instance, if one was recorded, and deletes the lease's key pair.
// Both count an already missing resource as done.
func (p EucalyptusProvisioner) Terminate(ctx context.Context, leaseID, instanceID string) error {
	if instanceID != "" {
		if err := p.Driver.Terminate(ctx, instanceID); err != nil {
			return err
		}
	}
	return p.Driver.DeleteKeyPair(ctx, leaseID)
}

func instanceFromDriver(in eucalyptus.Instance) Instance {
	out := Instance{ID: in.ID, Address: in.PublicIP}
	if out.Address == "" {
		out.Address = in.PublicDNS
	}
	if out.Address == "" {
		out.Address = in.PrivateIP
	}
	for _, k := range in.HostKeys {
		out.HostKeys = append(out.HostKeys, HostKey{Type: k.Type, Fingerprint: k.Fingerprint,
			PublicKey: k.PublicKey})
	}
	return out
}

var _ Reconciler = EucalyptusProvisioner{}

// Reconcile lists the instances tagged by the driver and compares them with expected.
func (p EucalyptusProvisioner) Reconcile(ctx context.Context, expected []ExpectedInstance) (
	ReconcileReport, error,
) {
	var want []eucalyptus.Expected
	for _, e := range expected {
		want = append(want, eucalyptus.Expected{LeaseID: e.LeaseID, InstanceID: e.InstanceID})
	}
	report, err := p.Driver.Reconcile(ctx, want)
	if err != nil {
		return ReconcileReport{}, err
	}
	var out ReconcileReport
	for _, in := range report.Unknown {
		out.Unexpected = append(out.Unexpected, TaggedInstance{LeaseID: in.LeaseID,
			InstanceID: in.ID})
	}
	for _, m := range report.Missing {
		out.Missing = append(out.Missing, ExpectedInstance{LeaseID: m.Expected.LeaseID,
			InstanceID: m.Expected.InstanceID})
	}
	return out, nil
}

var _ PaidUntilTagger = EucalyptusProvisioner{}

// TagPaidUntil replaces the instance's paid-until tag.
func (p EucalyptusProvisioner) TagPaidUntil(ctx context.Context, instanceID string,
	paidUntil time.Time,
) error {
	return p.Driver.UpdatePaidUntil(ctx, instanceID, paidUntil)
}
