package billing

import (
	"context"
	"errors"
	"time"
)

// Provisioner runs instances on a cloud. The service calls it from durable jobs, so each call
// may be repeated after a crash or an error; an implementation must make repeats harmless.
// EucalyptusProvisioner adapts the eucalyptus driver to it.
type Provisioner interface {
	// Launch starts the instance the request describes and waits until it runs. A repeated
	// call with the same LeaseID and Attempt returns the instance already launched and
	// never starts a second one (EC2's ClientToken gives this). When the instance failed
	// before it ran, the error wraps ErrInstanceFailed and the service retries with the next
	// Attempt. When the request can never succeed, the error wraps ErrLaunchRejected.
	Launch(ctx context.Context, req LaunchRequest) (Instance, error)
	// Terminate terminates the instance (a no-op if it is already gone) and deletes the
	// lease's key pair. instanceID may be empty when no instance was ever recorded.
	Terminate(ctx context.Context, leaseID, instanceID string) error
}

// Errors a Provisioner wraps so the service can tell failures apart.
var (
	// ErrInstanceFailed means the launched instance stopped or terminated before it ran;
	// another attempt may succeed.
	ErrInstanceFailed = errors.New("billing: instance failed before it ran")
	// ErrLaunchRejected means the cloud rejected the request itself (an invalid image,
	// instance type or key), so retrying cannot help.
	ErrLaunchRejected = errors.New("billing: launch request rejected")
)

// LaunchRequest describes the instance of one lease.
type LaunchRequest struct {
	LeaseID string
	OrderID string
	// Attempt numbers deliberate relaunches after a failed instance, from 0.
	Attempt      int
	ImageID      string
	InstanceType string
	// SSHPublicKey is the customer's key, one authorized_keys line.
	SSHPublicKey string
	// PaidUntil is the end of the paid time, for the instance's tags; zero if unknown.
	PaidUntil time.Time
}

// Instance is a running instance as a Provisioner reports it.
type Instance struct {
	ID string
	// Address is the public IP address or DNS name the customer connects to.
	Address string
	// HostKeys are the instance's SSH host keys; empty when the cloud did not report them.
	HostKeys []HostKey
}

// HostKey is one SSH host key of an instance.
type HostKey struct {
	// Type is the SSH key algorithm, such as "ssh-ed25519".
	Type string `json:"type"`
	// Fingerprint is the key's fingerprint as ssh-keygen -l prints it ("SHA256:...").
	Fingerprint string `json:"fingerprint"`
	// PublicKey is the key in authorized_keys format, when known.
	PublicKey string `json:"public_key,omitempty"`
}

// Reconciler is implemented by a Provisioner that can list the instances it launched, so that
// the service finds instances no lease pays for and leases whose instance vanished.
type Reconciler interface {
	// Reconcile compares the live instances the provisioner launched with the leases that
	// should have one.
	Reconcile(ctx context.Context, expected []ExpectedInstance) (ReconcileReport, error)
}

// ExpectedInstance is a lease that should have a live instance.
type ExpectedInstance struct {
	LeaseID    string
	InstanceID string
}

// ReconcileReport is the result of one Reconciler pass.
type ReconcileReport struct {
	// Unexpected are live instances whose lease is not among the expected ones, with the
	// lease each is tagged with.
	Unexpected []TaggedInstance
	// Missing are the expected leases that have no live instance.
	Missing []ExpectedInstance
}

// TaggedInstance is a live instance and the lease it was launched for.
type TaggedInstance struct {
	LeaseID    string
	InstanceID string
}

// PaidUntilTagger is implemented by a Provisioner that records the end of the paid time on
// the instance, so that the cloud's own tools (and the eucalyptus driver's reconciliation) see
// it. The service calls it once the instance runs and after each extension.
type PaidUntilTagger interface {
	TagPaidUntil(ctx context.Context, instanceID string, paidUntil time.Time) error
}
