package ec2emu_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestLifecycleThroughSDK(t *testing.T) {
	b := setup(t)
	keyLine := newSSHKey(t)
	imported, err := b.client.ImportKeyPair(ctx(t), &ec2.ImportKeyPairInput{
		KeyName:           aws.String("customer"),
		PublicKeyMaterial: []byte(keyLine),
	})
	if err != nil {
		t.Fatalf("ImportKeyPair: %v", err)
	}
	if aws.ToString(imported.KeyPairId) == "" {
		t.Errorf("ImportKeyPair returned no key pair id")
	}

	run, err := b.client.RunInstances(ctx(t), &ec2.RunInstancesInput{
		ImageId:      aws.String(testImage),
		InstanceType: types.InstanceType("m1.small"),
		MinCount:     aws.Int32(1),
		MaxCount:     aws.Int32(1),
		KeyName:      aws.String("customer"),
		ClientToken:  aws.String("order-1"),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeInstance,
			Tags:         []types.Tag{{Key: aws.String("order"), Value: aws.String("1")}},
		}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if len(run.Instances) != 1 {
		t.Fatalf("RunInstances returned %d instances, want 1", len(run.Instances))
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	if got := run.Instances[0].State.Name; got != types.InstanceStateNamePending {
		t.Errorf("new instance state = %s, want pending", got)
	}

	b.emu.Advance(10 * time.Second)
	desc, err := b.client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("tag:order"), Values: []string{"1"}}},
	})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if len(desc.Reservations) != 1 || len(desc.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances by tag returned %+v, want one instance", desc.Reservations)
	}
	inst := desc.Reservations[0].Instances[0]
	if inst.State.Name != types.InstanceStateNameRunning {
		t.Errorf("state after 10s = %s, want running", inst.State.Name)
	}
	if aws.ToString(inst.InstanceId) != id {
		t.Errorf("described id %s, want %s", aws.ToString(inst.InstanceId), id)
	}

	term, err := b.client.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{
		InstanceIds: []string{id},
	})
	if err != nil {
		t.Fatalf("TerminateInstances: %v", err)
	}
	change := term.TerminatingInstances[0]
	if change.PreviousState.Name != types.InstanceStateNameRunning ||
		change.CurrentState.Name != types.InstanceStateNameShuttingDown {
		t.Errorf("terminate went %s -> %s, want running -> shutting-down",
			change.PreviousState.Name, change.CurrentState.Name)
	}
}
