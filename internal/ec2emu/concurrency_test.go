package ec2emu_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/instars/instars/internal/ec2emu"
)

func TestConcurrentRunsWithOneToken(t *testing.T) {
	b := setup(t)
	const callers = 8
	reservations := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			out, err := b.client.RunInstances(ctx(t), runInput("shared-token", 1))
			errs[i] = err
			if err == nil {
				reservations[i] = aws.ToString(out.ReservationId)
			}
		})
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if reservations[i] != reservations[0] {
			t.Errorf("caller %d got reservation %s, caller 0 got %s", i, reservations[i],
				reservations[0])
		}
	}
	if got := len(b.emu.Instances()); got != 1 {
		t.Errorf("instances after %d concurrent calls with one token = %d, want 1", callers,
			got)
	}
}

func TestConcurrentRunsWithOneTokenDifferentTypes(t *testing.T) {
	b := setup(t)
	const callers = 8
	instanceTypes := []string{"m1.small", "t1.micro"}
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			input := runInput("contested-token", 1)
			input.InstanceType = types.InstanceType(instanceTypes[i%2])
			_, errs[i] = b.client.RunInstances(ctx(t), input)
		})
	}
	wg.Wait()

	instances := b.emu.Instances()
	if len(instances) != 1 {
		t.Fatalf("instances after concurrent calls with one token = %d, want 1", len(instances))
	}
	winner := instances[0].InstanceType
	for i := range callers {
		var apiErr smithy.APIError
		switch {
		case instanceTypes[i%2] == winner && errs[i] != nil:
			t.Errorf("caller %d asked for the launched type %s and got %v", i, winner, errs[i])
		case instanceTypes[i%2] != winner &&
			(!errors.As(errs[i], &apiErr) || apiErr.ErrorCode() != "IdempotentParameterMismatch"):
			t.Errorf("caller %d asked for %s after %s won: error %v, want "+
				"IdempotentParameterMismatch", i, instanceTypes[i%2], winner, errs[i])
		}
	}
}

func TestStateFileWrittenAfterEachChange(t *testing.T) {
	stateFile := filepath.Join(t.TempDir(), "ec2.json")
	b := setup(t, func(c *ec2emu.Config) { c.StateFile = stateFile })
	out, err := b.client.RunInstances(ctx(t), runInput("", 1))
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	if !stateFileHas(t, stateFile, id, false) {
		t.Fatalf("state file lacks %s right after RunInstances", id)
	}
	if _, err := b.client.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{
		InstanceIds: []string{id},
	}); err != nil {
		t.Fatal(err)
	}
	if !stateFileHas(t, stateFile, id, true) {
		t.Errorf("state file does not show %s terminated right after TerminateInstances", id)
	}
}

// stateFileHas reports whether the state file lists the instance, with a termination time
// when terminated is set.
func stateFileHas(t *testing.T, path, id string, terminated bool) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Instances []struct {
			ID            string    `json:"id"`
			TerminateTime time.Time `json:"terminate_time"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("state file is not JSON: %v", err)
	}
	for _, inst := range st.Instances {
		if inst.ID == id {
			return !terminated || !inst.TerminateTime.IsZero()
		}
	}
	return false
}

func TestRealClockTimings(t *testing.T) {
	b := setup(t, func(c *ec2emu.Config) {
		c.Clock = nil
		c.Timings = &ec2emu.Timings{Pending: 50 * time.Millisecond, TerminatedVisible: time.Hour}
	})
	if _, err := b.client.RunInstances(ctx(t), runInput("", 1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.emu.Instances()[0].State != ec2emu.StateRunning {
		if time.Now().After(deadline) {
			t.Fatalf("instance still %s 5s after a 50ms pending time",
				b.emu.Instances()[0].State)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEndpointWithEucalyptusPath(t *testing.T) {
	b := setup(t)
	client := newClient(t, b.url+"/services/compute", testAccessKey, testSecretKey,
		testRegion)
	if _, err := client.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{}); err != nil {
		t.Fatalf("DescribeRegions at /services/compute: %v", err)
	}
}

func TestEndpointPathWithEscapes(t *testing.T) {
	// SigV4 for services other than S3 encodes the already escaped path once more, so a
	// server that signs the decoded path disagrees with clients on "%20" and non-ASCII bytes.
	b := setup(t)
	for _, path := range []string{"/ec2%20api/compute", "/r%C3%A9gion/compute", "/a%2Fb/compute"} {
		client := newClient(t, b.url+path, testAccessKey, testSecretKey, testRegion)
		if _, err := client.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{}); err != nil {
			t.Errorf("DescribeRegions at %s: %v", path, err)
		}
	}
}

func TestSetClockReplacesTimeSource(t *testing.T) {
	b := setup(t)
	if _, err := b.client.RunInstances(ctx(t), runInput("", 1)); err != nil {
		t.Fatal(err)
	}
	later := ec2emu.NewManualClock(b.clock.Now().Add(time.Hour))
	b.emu.SetClock(later)
	if got := b.emu.Now(); !got.Equal(later.Now()) {
		t.Errorf("Now after SetClock = %v, want %v", got, later.Now())
	}
	if got := b.emu.Instances()[0].State; got != ec2emu.StateRunning {
		t.Errorf("state an hour later by the new clock = %s, want running", got)
	}
}
