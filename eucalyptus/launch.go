package eucalyptus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"
)

// LaunchRequest describes the instance to launch for a lease.
type LaunchRequest struct {
	// LeaseID identifies the lease: 1 to 128 characters from A-Z, a-z, 0-9 and "._:-". It names
	// the key pair, seeds the client token and is tagged on the instance.
	LeaseID string
	// OrderID is tagged on the instance; optional.
	OrderID string
	// Attempt numbers deliberate relaunches of the same lease, starting at 0. A request with
	// the same LeaseID and Attempt returns the instance already launched, even a terminated
	// one; raise Attempt to launch a replacement. A repeat must carry the same image, type,
	// order, PaidUntil and tags, or EC2 rejects it with IdempotentParameterMismatch.
	Attempt int
	// ImageID is the machine image, such as "emi-0d1e2b3c" or "ami-0abcdef1234567890".
	ImageID string
	// InstanceType is the instance type, such as "m1.small" or "t3.micro".
	InstanceType string
	// SSHPublicKey is the customer's public key, one line in authorized_keys format.
	SSHPublicKey string
	// PaidUntil is the end of the paid time, tagged on the instance.
	PaidUntil time.Time
	// Tags are further tags for the instance. Keys may not start with "instars:" or "aws:";
	// a "Name" tag replaces the default name "instars-" + LeaseID.
	Tags map[string]string
}

var leaseIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// validateLeaseID checks that a lease id can name a key pair and be tagged.
func validateLeaseID(leaseID string) error {
	if !leaseIDPattern.MatchString(leaseID) {
		return fmt.Errorf("%w: lease id %q is invalid; expected 1 to 128 characters from "+
			"A-Z, a-z, 0-9 and \"._:-\"", ErrInvalidRequest, abbreviate(leaseID))
	}
	return nil
}

// EC2's tag limits: 50 tags per resource, keys up to 128 and values up to 256 characters.
const (
	maxTags           = 50
	maxTagKeyLength   = 128
	maxTagValueLength = 256
)

// validate checks every field of req and returns the parsed SSH key.
func (req LaunchRequest) validate() (ssh.PublicKey, error) {
	if err := validateLeaseID(req.LeaseID); err != nil {
		return nil, err
	}
	key, err := ParseSSHPublicKey(req.SSHPublicKey)
	if err != nil {
		return nil, err
	}
	switch {
	case req.ImageID == "":
		return nil, fmt.Errorf("%w: ImageID is empty; expected an image id such as "+
			"emi-0d1e2b3c", ErrInvalidRequest)
	case req.InstanceType == "":
		return nil, fmt.Errorf("%w: InstanceType is empty; expected a type such as m1.small",
			ErrInvalidRequest)
	case req.PaidUntil.IsZero():
		return nil, fmt.Errorf("%w: PaidUntil is not set", ErrInvalidRequest)
	case req.Attempt < 0:
		return nil, fmt.Errorf("%w: Attempt %d is negative", ErrInvalidRequest, req.Attempt)
	case len(req.OrderID) > maxTagValueLength:
		return nil, fmt.Errorf("%w: OrderID is %d characters long; expected at most %d",
			ErrInvalidRequest, len(req.OrderID), maxTagValueLength)
	case len(req.Tags) > maxTags-4:
		return nil, fmt.Errorf("%w: %d extra tags; expected at most %d", ErrInvalidRequest,
			len(req.Tags), maxTags-4)
	}
	for k, v := range req.Tags {
		lower := strings.ToLower(k)
		switch {
		case k == "" || len(k) > maxTagKeyLength:
			return nil, fmt.Errorf("%w: tag key %q must be 1 to %d characters long",
				ErrInvalidRequest, abbreviate(k), maxTagKeyLength)
		case strings.HasPrefix(lower, "instars:") || strings.HasPrefix(lower, "aws:"):
			return nil, fmt.Errorf("%w: tag key %q uses a reserved prefix (instars: or aws:)",
				ErrInvalidRequest, k)
		case len(v) > maxTagValueLength:
			return nil, fmt.Errorf("%w: tag %q has a value of %d characters; expected at "+
				"most %d", ErrInvalidRequest, k, len(v), maxTagValueLength)
		}
	}
	return key, nil
}

// tags returns the instance tags of req.
func (req LaunchRequest) tags() []types.Tag {
	values := map[string]string{
		TagName:      "instars-" + req.LeaseID,
		TagLease:     req.LeaseID,
		TagPaidUntil: formatPaidUntil(req.PaidUntil),
	}
	if req.OrderID != "" {
		values[TagOrder] = req.OrderID
	}
	for k, v := range req.Tags {
		values[k] = v
	}
	// Sorted, because EC2 compares a repeated RunInstances with the first one parameter by
	// parameter and returns IdempotentParameterMismatch when the tags come in another order.
	tags := make([]types.Tag, 0, len(values))
	for _, k := range slices.Sorted(maps.Keys(values)) {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(values[k])})
	}
	return tags
}

// Launch starts the lease's instance and waits until it runs. It validates the request first
// and sends nothing when it is invalid. Then it imports the SSH key as the key pair
// [KeyPairName] and runs one instance with the client token [ClientToken](LeaseID, Attempt)
// and the lease's tags. It waits up to Config.LaunchTimeout for the instance to run, and reads
// its SSH host keys from the console for up to Config.HostKeyTimeout.
//
// Launch is idempotent: calling it again for the same lease and attempt, after a crash or an
// error, returns the same instance and never launches a second one. When waiting fails
// (ErrInstanceFailed, ErrLaunchTimeout, a cancelled ctx) the error comes with the instance as
// last seen, so the caller can record or terminate it.
func (d *Driver) Launch(ctx context.Context, req LaunchRequest) (Instance, error) {
	key, err := req.validate()
	if err != nil {
		return Instance{}, err
	}
	if err := d.importKeyPair(ctx, req.LeaseID, key); err != nil {
		return Instance{}, err
	}
	input := &ec2.RunInstancesInput{
		ImageId:      aws.String(req.ImageID),
		InstanceType: types.InstanceType(req.InstanceType),
		MinCount:     aws.Int32(1),
		MaxCount:     aws.Int32(1),
		KeyName:      aws.String(KeyPairName(req.LeaseID)),
		ClientToken:  aws.String(ClientToken(req.LeaseID, req.Attempt)),
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: req.tags()},
		},
	}
	if d.cfg.SubnetID != "" {
		input.SubnetId = aws.String(d.cfg.SubnetID)
	}
	if len(d.cfg.SecurityGroupIDs) > 0 {
		input.SecurityGroupIds = d.cfg.SecurityGroupIDs
	}
	if d.cfg.AvailabilityZone != "" {
		input.Placement = &types.Placement{AvailabilityZone: aws.String(d.cfg.AvailabilityZone)}
	}
	out, err := d.client.RunInstances(ctx, input)
	if err != nil {
		return Instance{}, d.classify(ctx, "RunInstances for lease "+req.LeaseID, err)
	}
	if len(out.Instances) != 1 {
		return Instance{}, fmt.Errorf("eucalyptus: RunInstances for lease %s returned %d "+
			"instances; expected 1", req.LeaseID, len(out.Instances))
	}
	instance := instanceFromEC2(out.Instances[0])
	d.logger.InfoContext(ctx, "launched instance", "instance_id", instance.ID,
		"lease", req.LeaseID, "attempt", req.Attempt, "state", instance.State)
	if instance.LeaseID != req.LeaseID {
		// Some EC2-compatible clouds ignore TagSpecifications; Reconcile needs the tags.
		if err := d.tagInstance(ctx, instance.ID, req.tags()); err != nil {
			return instance, err
		}
	}

	instance, err = d.waitRunning(ctx, req.LeaseID, instance)
	if err != nil {
		return instance, err
	}
	instance.HostKeys = d.readHostKeys(ctx, instance.ID)
	return instance, nil
}

// waitRunning polls the instance until it runs, fails or the launch timeout passes, waiting
// PollInterval at first and twice as long each time up to MaxPollInterval.
func (d *Driver) waitRunning(ctx context.Context, leaseID string, instance Instance) (
	Instance, error) {
	deadline := d.now().Add(d.cfg.LaunchTimeout)
	interval := d.cfg.PollInterval
	for {
		switch instance.State {
		case StateRunning:
			d.logger.InfoContext(ctx, "instance running", "instance_id", instance.ID,
				"lease", leaseID, "public_ip", instance.PublicIP)
			return instance, nil
		case StatePending, "":
		default:
			return instance, fmt.Errorf("%w: instance %s of lease %s is %s (%s)",
				ErrInstanceFailed, instance.ID, leaseID, instance.State, instance.StateReason)
		}
		remaining := deadline.Sub(d.now())
		if remaining <= 0 {
			return instance, fmt.Errorf("%w: instance %s of lease %s still %s after %v",
				ErrLaunchTimeout, instance.ID, leaseID, instance.State, d.cfg.LaunchTimeout)
		}
		if err := d.cfg.Sleep(ctx, min(interval, remaining)); err != nil {
			return instance, fmt.Errorf("eucalyptus: waiting for instance %s of lease %s: %w",
				instance.ID, leaseID, err)
		}
		interval = min(2*interval, d.cfg.MaxPollInterval)

		current, err := d.Describe(ctx, instance.ID)
		switch {
		case err == nil:
			instance = current
		case errors.Is(err, ErrInstanceNotFound):
			// EC2 is eventually consistent: a new instance may not be listed yet.
		case errors.Is(err, ErrAuthFailure) || ctx.Err() != nil:
			return instance, err
		default:
			d.logger.WarnContext(ctx, "cannot describe launching instance; will poll again",
				"instance_id", instance.ID, "lease", leaseID, "error", err)
		}
	}
}

// readHostKeys polls the instance's console output for its SSH host keys until they appear or
// HostKeyTimeout passes, and returns what it found, possibly nothing.
func (d *Driver) readHostKeys(ctx context.Context, instanceID string) []HostKey {
	if d.cfg.HostKeyTimeout < 0 {
		return nil
	}
	deadline := d.now().Add(d.cfg.HostKeyTimeout)
	interval := d.cfg.PollInterval
	for {
		console, err := d.ConsoleOutput(ctx, instanceID)
		if err == nil {
			if keys := ParseHostKeys(console); len(keys) > 0 {
				return keys
			}
		} else {
			d.logger.WarnContext(ctx, "cannot read console output", "instance_id", instanceID,
				"error", err)
		}
		remaining := deadline.Sub(d.now())
		if remaining <= 0 || ctx.Err() != nil {
			d.logger.InfoContext(ctx, "no SSH host keys on the console", "instance_id",
				instanceID, "waited", d.cfg.HostKeyTimeout)
			return nil
		}
		if err := d.cfg.Sleep(ctx, min(interval, remaining)); err != nil {
			return nil
		}
		interval = min(2*interval, d.cfg.MaxPollInterval)
	}
}

// tagInstance adds or replaces tags on an instance.
func (d *Driver) tagInstance(ctx context.Context, instanceID string, tags []types.Tag) error {
	_, err := d.client.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: []string{instanceID},
		Tags:      tags,
	})
	if apiErrorCode(err) == errInstanceNotFoundCode {
		return fmt.Errorf("%w: %s", ErrInstanceNotFound, instanceID)
	}
	if err != nil {
		return d.classify(ctx, "CreateTags "+instanceID, err)
	}
	return nil
}
