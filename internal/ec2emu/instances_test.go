package ec2emu_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/instars/instars/internal/ec2emu"
)

func runInput(token string, count int32) *ec2.RunInstancesInput {
	return &ec2.RunInstancesInput{
		ImageId:      aws.String(testImage),
		InstanceType: types.InstanceType("m1.small"),
		MinCount:     aws.Int32(count),
		MaxCount:     aws.Int32(count),
		ClientToken:  aws.String(token),
	}
}

func instanceIDs(instances []types.Instance) []string {
	var ids []string
	for _, inst := range instances {
		ids = append(ids, aws.ToString(inst.InstanceId))
	}
	return ids
}

func TestRunInstancesClientToken(t *testing.T) {
	b := setup(t)
	first, err := b.client.RunInstances(ctx(t), runInput("token-a", 2))
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}

	b.emu.Advance(time.Minute)
	again, err := b.client.RunInstances(ctx(t), runInput("token-a", 2))
	if err != nil {
		t.Fatalf("repeated RunInstances: %v", err)
	}
	if aws.ToString(again.ReservationId) != aws.ToString(first.ReservationId) {
		t.Errorf("repeated RunInstances reservation %s, want %s",
			aws.ToString(again.ReservationId), aws.ToString(first.ReservationId))
	}
	if !slices.Equal(instanceIDs(again.Instances), instanceIDs(first.Instances)) {
		t.Errorf("repeated RunInstances ids %v, want %v", instanceIDs(again.Instances),
			instanceIDs(first.Instances))
	}
	if got := again.Instances[0].State.Name; got != types.InstanceStateNameRunning {
		t.Errorf("repeated RunInstances shows state %s, want the current state running", got)
	}
	if got := len(b.emu.Instances()); got != 2 {
		t.Errorf("instances after a repeated token = %d, want 2", got)
	}

	_, err = b.client.RunInstances(ctx(t), runInput("token-a", 3))
	requireAPIError(t, err, "IdempotentParameterMismatch")
	if got := len(b.emu.Instances()); got != 2 {
		t.Errorf("instances after a mismatched token = %d, want 2", got)
	}

	other, err := b.client.RunInstances(ctx(t), runInput("token-b", 1))
	if err != nil {
		t.Fatalf("RunInstances with a new token: %v", err)
	}
	if aws.ToString(other.ReservationId) == aws.ToString(first.ReservationId) {
		t.Errorf("a new token reused reservation %s", aws.ToString(first.ReservationId))
	}
}

func TestRunInstancesValidation(t *testing.T) {
	b := setup(t)
	_, err := b.client.ImportKeyPair(ctx(t), &ec2.ImportKeyPairInput{
		KeyName: aws.String("present"), PublicKeyMaterial: []byte(newSSHKey(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mutate func(*ec2.RunInstancesInput)
		code   string
	}{
		{"unknown image", func(in *ec2.RunInstancesInput) {
			in.ImageId = aws.String("emi-00000000")
		}, "InvalidAMIID.NotFound"},
		{"malformed image", func(in *ec2.RunInstancesInput) {
			in.ImageId = aws.String("debian")
		}, "InvalidAMIID.Malformed"},
		{"unknown type", func(in *ec2.RunInstancesInput) {
			in.InstanceType = types.InstanceType("x9.huge")
		}, "InvalidParameterValue"},
		{"unknown key", func(in *ec2.RunInstancesInput) {
			in.KeyName = aws.String("absent")
		}, "InvalidKeyPair.NotFound"},
		{"min above max", func(in *ec2.RunInstancesInput) {
			in.MinCount = aws.Int32(3)
		}, "InvalidParameterValue"},
		{"unknown zone", func(in *ec2.RunInstancesInput) {
			in.Placement = &types.Placement{AvailabilityZone: aws.String("moon-1a")}
		}, "InvalidParameterValue"},
		{"reserved tag", func(in *ec2.RunInstancesInput) {
			in.TagSpecifications = []types.TagSpecification{{
				ResourceType: types.ResourceTypeInstance,
				Tags:         []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}},
			}}
		}, "InvalidParameterValue"},
		{"bad user data", func(in *ec2.RunInstancesInput) {
			in.UserData = aws.String("not base64!")
		}, "InvalidParameterValue"},
		{"above quota", func(in *ec2.RunInstancesInput) {
			in.MinCount, in.MaxCount = aws.Int32(21), aws.Int32(21)
		}, "InstanceLimitExceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := runInput("", 1)
			in.ClientToken = nil
			in.KeyName = aws.String("present")
			tc.mutate(in)
			_, err := b.client.RunInstances(ctx(t), in)
			requireAPIError(t, err, tc.code)
		})
	}
	if got := len(b.emu.Instances()); got != 0 {
		t.Errorf("rejected launches left %d instances, want 0", got)
	}
	b.rawCall(t, url.Values{"Action": {"RunInstances"}, "MinCount": {"1"}, "MaxCount": {"1"}}).
		requireError(t, http.StatusBadRequest, "MissingParameter")
}

func TestRunInstancesCountsAndQuota(t *testing.T) {
	b := setup(t, func(c *ec2emu.Config) { c.MaxInstances = 4 })
	in := runInput("", 1)
	in.MinCount, in.MaxCount = aws.Int32(2), aws.Int32(3)
	out, err := b.client.RunInstances(ctx(t), in)
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if len(out.Instances) != 3 {
		t.Fatalf("RunInstances MaxCount 3 launched %d, want 3", len(out.Instances))
	}
	for i, inst := range out.Instances {
		if got := aws.ToInt32(inst.AmiLaunchIndex); got != int32(i) {
			t.Errorf("instance %d launch index = %d", i, got)
		}
	}
	in.MinCount, in.MaxCount = aws.Int32(1), aws.Int32(5)
	out, err = b.client.RunInstances(ctx(t), in)
	if err != nil {
		t.Fatalf("RunInstances up to the quota: %v", err)
	}
	if len(out.Instances) != 1 {
		t.Errorf("RunInstances at quota launched %d, want the 1 left", len(out.Instances))
	}
	_, err = b.client.RunInstances(ctx(t), runInput("", 1))
	requireAPIError(t, err, "InstanceLimitExceeded")
}

func TestInstanceAddressesAndIDs(t *testing.T) {
	b := setup(t, func(c *ec2emu.Config) { c.LongIDs = true })
	out, err := b.client.RunInstances(ctx(t), runInput("", 2))
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	seen := map[string]bool{}
	for _, inst := range out.Instances {
		id := aws.ToString(inst.InstanceId)
		if len(id) != len("i-")+17 {
			t.Errorf("instance id %s is not 17 hex digits long", id)
		}
		private, public := aws.ToString(inst.PrivateIpAddress), aws.ToString(inst.PublicIpAddress)
		if private == "" || public == "" {
			t.Fatalf("instance %s has private %q and public %q addresses", id, private, public)
		}
		if seen[public] || seen[private] {
			t.Errorf("address of %s handed out twice: %s %s", id, private, public)
		}
		seen[public], seen[private] = true, true
		if aws.ToTime(inst.LaunchTime).IsZero() {
			t.Errorf("instance %s has no launch time", id)
		}
	}
}

func TestStateTimings(t *testing.T) {
	b := setup(t, func(c *ec2emu.Config) {
		c.Timings = &ec2emu.Timings{
			Pending: 30 * time.Second, ShuttingDown: 10 * time.Second,
			TerminatedVisible: time.Hour,
		}
	})
	out, err := b.client.RunInstances(ctx(t), runInput("", 1))
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}

	id := aws.ToString(out.Instances[0].InstanceId)
	state := func() types.InstanceStateName {
		t.Helper()
		desc, err := b.client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{
			InstanceIds: []string{id},
		})
		if err != nil {
			t.Fatalf("DescribeInstances: %v", err)
		}
		return desc.Reservations[0].Instances[0].State.Name
	}

	steps := []struct {
		advance time.Duration
		want    types.InstanceStateName
	}{
		{29 * time.Second, types.InstanceStateNamePending},
		{time.Second, types.InstanceStateNameRunning},
	}
	for _, step := range steps {
		b.clock.Advance(step.advance)
		if got := state(); got != step.want {
			t.Fatalf("after %v more: state %s, want %s", step.advance, got, step.want)
		}
	}

	for attempt := range 2 {
		term, err := b.client.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{
			InstanceIds: []string{id},
		})
		if err != nil {
			t.Fatalf("TerminateInstances attempt %d: %v", attempt+1, err)
		}
		change := term.TerminatingInstances[0]
		if change.CurrentState.Name != types.InstanceStateNameShuttingDown {
			t.Errorf("terminate attempt %d current state %s, want shutting-down",
				attempt+1, change.CurrentState.Name)
		}
	}

	b.clock.Advance(10 * time.Second)
	if got := state(); got != types.InstanceStateNameTerminated {
		t.Fatalf("state 10s after terminate = %s, want terminated", got)
	}
	term, err := b.client.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{
		InstanceIds: []string{id},
	})
	if err != nil {
		t.Fatalf("TerminateInstances on a terminated instance: %v", err)
	}
	if got := term.TerminatingInstances[0].PreviousState.Name; got != "terminated" {
		t.Errorf("terminate of a terminated instance had previous state %s", got)
	}
	if got := aws.ToInt32(term.TerminatingInstances[0].CurrentState.Code); got != 48 {
		t.Errorf("terminated state code = %d, want 48", got)
	}

	b.clock.Advance(time.Hour)
	_, err = b.client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{
		InstanceIds: []string{id},
	})
	requireAPIError(t, err, "InvalidInstanceID.NotFound")
	_, err = b.client.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{
		InstanceIds: []string{id},
	})
	requireAPIError(t, err, "InvalidInstanceID.NotFound")
}

func TestTerminatePendingInstance(t *testing.T) {
	b := setup(t)
	out, err := b.client.RunInstances(ctx(t), runInput("", 1))
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	term, err := b.client.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{
		InstanceIds: instanceIDs(out.Instances),
	})
	if err != nil {
		t.Fatalf("TerminateInstances: %v", err)
	}
	if got := term.TerminatingInstances[0].PreviousState.Name; got != "pending" {
		t.Errorf("previous state = %s, want pending", got)
	}
	b.emu.Advance(time.Minute)
	if got := b.emu.Instances()[0].State; got != ec2emu.StateTerminated {
		t.Errorf("state a minute after terminating a pending instance = %s", got)
	}
}

func TestInstanceIDErrors(t *testing.T) {
	b := setup(t)
	_, err := b.client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{
		InstanceIds: []string{"i-0123abcd"},
	})
	requireAPIError(t, err, "InvalidInstanceID.NotFound")
	_, err = b.client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{
		InstanceIds: []string{"instance-1"},
	})
	requireAPIError(t, err, "InvalidInstanceID.Malformed")
	_, err = b.client.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{
		InstanceIds: []string{"i-xyz"},
	})
	requireAPIError(t, err, "InvalidInstanceID.Malformed")
	b.rawCall(t, url.Values{"Action": {"TerminateInstances"}}).
		requireError(t, http.StatusBadRequest, "MissingParameter")
}

func TestDryRun(t *testing.T) {
	b := setup(t)
	in := runInput("", 1)
	in.DryRun = aws.Bool(true)
	_, err := b.client.RunInstances(ctx(t), in)
	requireAPIError(t, err, "DryRunOperation")
	if got := len(b.emu.Instances()); got != 0 {
		t.Errorf("a dry run launched %d instances", got)
	}
	b.rawCall(t, url.Values{"Action": {"DescribeRegions"}, "DryRun": {"true"}}).
		requireError(t, http.StatusPreconditionFailed, "DryRunOperation")
}

func TestInstanceSnapshot(t *testing.T) {
	b := setup(t)
	out, err := b.client.RunInstances(ctx(t), runInput("", 1))
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	inst, ok := b.emu.Instance(id)
	if !ok {
		t.Fatalf("Instance(%s) not found", id)
	}
	if inst.State != ec2emu.StatePending || len(inst.HostKeys) != 2 {
		t.Errorf("Instance(%s) = state %s with %d host keys, want pending with 2", id,
			inst.State, len(inst.HostKeys))
	}
	if _, ok := b.emu.Instance("i-00000000"); ok {
		t.Errorf("Instance of an unknown id reported found")
	}
}

func TestPropagationDelay(t *testing.T) {
	b := setup(t, func(c *ec2emu.Config) { c.PropagationDelay = 2 * time.Second })
	out, err := b.client.RunInstances(ctx(t), runInput("fresh", 1))
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	_, err = b.client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{
		InstanceIds: []string{id},
	})
	requireAPIError(t, err, "InvalidInstanceID.NotFound")
	_, err = b.client.CreateTags(ctx(t), &ec2.CreateTagsInput{
		Resources: []string{id},
		Tags:      []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}},
	})
	requireAPIError(t, err, "InvalidInstanceID.NotFound")
	if got := describeIDs(t, b); len(got) != 0 {
		t.Errorf("DescribeInstances lists %v before the delay passed", got)
	}
	again, err := b.client.RunInstances(ctx(t), runInput("fresh", 1))
	if err != nil {
		t.Fatalf("RunInstances with the same token during the delay: %v", err)
	}
	if got := aws.ToString(again.Instances[0].InstanceId); got != id {
		t.Errorf("RunInstances with the same token returned %s, want %s", got, id)
	}

	b.emu.Advance(2 * time.Second)
	if got := describeIDs(t, b); !slices.Equal(got, []string{id}) {
		t.Errorf("DescribeInstances after the delay lists %v, want %s", got, id)
	}
}

func terminate(t *testing.T, b *testBundle, id string) {
	t.Helper()
	if _, err := b.client.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{
		InstanceIds: []string{id},
	}); err != nil {
		t.Fatalf("TerminateInstances %s: %v", id, err)
	}
}
