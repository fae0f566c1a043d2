package eucalyptus

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const errInstanceNotFoundCode = "InvalidInstanceID.NotFound"

// validateInstanceID rejects an empty instance id before it is sent.
func validateInstanceID(instanceID string) error {
	if instanceID == "" {
		return fmt.Errorf("%w: instance id is empty; expected one such as i-0a1b2c3d",
			ErrInvalidRequest)
	}
	return nil
}

// Describe returns the instance's current state, addresses and tags. An instance the cloud
// does not know gives an error wrapping ErrInstanceNotFound.
func (d *Driver) Describe(ctx context.Context, instanceID string) (Instance, error) {
	if err := validateInstanceID(instanceID); err != nil {
		return Instance{}, err
	}
	out, err := d.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		InstanceIds: []string{instanceID},
	})
	if apiErrorCode(err) == errInstanceNotFoundCode {
		return Instance{}, fmt.Errorf("%w: %s", ErrInstanceNotFound, instanceID)
	}
	if err != nil {
		return Instance{}, d.classify(ctx, "DescribeInstances "+instanceID, err)
	}
	for _, reservation := range out.Reservations {
		for _, instance := range reservation.Instances {
			if aws.ToString(instance.InstanceId) == instanceID {
				return instanceFromEC2(instance), nil
			}
		}
	}
	return Instance{}, fmt.Errorf("%w: %s", ErrInstanceNotFound, instanceID)
}

// Terminate terminates the instance. An instance that is already terminated counts as
// terminated, so the call can be repeated. So does one that the cloud still does not know
// after Config.NotFoundWait. Until then Terminate repeats the call, because a new instance
// may not be listed yet.
func (d *Driver) Terminate(ctx context.Context, instanceID string) error {
	if err := validateInstanceID(instanceID); err != nil {
		return err
	}
	deadline := d.now().Add(d.cfg.NotFoundWait)
	interval := d.cfg.PollInterval
	for {
		out, err := d.client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{
			InstanceIds: []string{instanceID},
		})
		if apiErrorCode(err) != errInstanceNotFoundCode {
			return d.logTermination(ctx, instanceID, out, err)
		}
		remaining := deadline.Sub(d.now())
		if remaining <= 0 {
			d.logger.InfoContext(ctx, "instance to terminate not found; counted as terminated",
				"instance_id", instanceID, "waited", max(d.cfg.NotFoundWait, 0))
			return nil
		}
		if err := d.cfg.Sleep(ctx, min(interval, remaining)); err != nil {
			return fmt.Errorf("eucalyptus: waiting to terminate instance %s, which the cloud "+
				"does not list yet: %w", instanceID, err)
		}
		interval = min(2*interval, d.cfg.MaxPollInterval)
	}
}

// logTermination returns the result of a TerminateInstances call that did not fail with
// InvalidInstanceID.NotFound, and logs the state change it made.
func (d *Driver) logTermination(ctx context.Context, instanceID string,
	out *ec2.TerminateInstancesOutput, err error) error {
	if err != nil {
		return d.classify(ctx, "TerminateInstances "+instanceID, err)
	}
	for _, change := range out.TerminatingInstances {
		var previous, current types.InstanceStateName
		if change.PreviousState != nil {
			previous = change.PreviousState.Name
		}
		if change.CurrentState != nil {
			current = change.CurrentState.Name
		}
		d.logger.InfoContext(ctx, "terminated instance", "instance_id", instanceID,
			"previous_state", string(previous), "state", string(current))
	}
	return nil
}

// UpdatePaidUntil replaces the instance's TagPaidUntil tag after the lease was extended.
func (d *Driver) UpdatePaidUntil(ctx context.Context, instanceID string,
	paidUntil time.Time) error {
	if err := validateInstanceID(instanceID); err != nil {
		return err
	}
	if paidUntil.IsZero() {
		return fmt.Errorf("%w: paid-until time is not set", ErrInvalidRequest)
	}
	tags := []types.Tag{
		{Key: aws.String(TagPaidUntil), Value: aws.String(formatPaidUntil(paidUntil))},
	}
	if err := d.tagInstance(ctx, instanceID, tags); err != nil {
		return err
	}
	d.logger.InfoContext(ctx, "updated paid-until tag", "instance_id", instanceID,
		"paid_until", formatPaidUntil(paidUntil))
	return nil
}

// ConsoleOutput returns the instance's console output as text; it is empty while the cloud has
// none, as while the instance is pending.
func (d *Driver) ConsoleOutput(ctx context.Context, instanceID string) (string, error) {
	if err := validateInstanceID(instanceID); err != nil {
		return "", err
	}
	out, err := d.client.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{
		InstanceId: aws.String(instanceID),
	})
	if apiErrorCode(err) == errInstanceNotFoundCode {
		return "", fmt.Errorf("%w: %s", ErrInstanceNotFound, instanceID)
	}
	if err != nil {
		return "", d.classify(ctx, "GetConsoleOutput "+instanceID, err)
	}
	encoded := aws.ToString(out.Output)
	text, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("eucalyptus: console output of %s is not base64: %w", instanceID,
			err)
	}
	return string(text), nil
}
