package ec2emu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/instars/instars/internal/ec2emu"
)

func injectFault(t *testing.T, b *testBundle, f ec2emu.Fault) {
	t.Helper()
	if err := b.emu.InjectFault(f); err != nil {
		t.Fatalf("InjectFault(%+v): %v", f, err)
	}
}

func TestFaultsFailBeforeTheAction(t *testing.T) {
	cases := []struct {
		kind   ec2emu.FaultKind
		status int
		code   string
	}{
		{ec2emu.FaultThrottle, http.StatusServiceUnavailable, "RequestLimitExceeded"},
		{ec2emu.FaultUnavailable, http.StatusServiceUnavailable, "Unavailable"},
		{ec2emu.FaultInternalError, http.StatusInternalServerError, "InternalError"},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			b := setup(t)
			injectFault(t, b, ec2emu.Fault{Action: "RunInstances", Kind: tc.kind, Count: 2})
			for attempt := range 2 {
				_, err := b.client.RunInstances(ctx(t), runInput("fault-token", 1))
				requireAPIError(t, err, tc.code)
				if got := len(b.emu.Instances()); got != 0 {
					t.Fatalf("attempt %d: a failed call launched %d instances", attempt+1, got)
				}
			}
			if _, err := b.client.RunInstances(ctx(t), runInput("fault-token", 1)); err != nil {
				t.Fatalf("third call after a count-2 fault: %v", err)
			}
			if got := b.emu.Calls("RunInstances"); got != 3 {
				t.Errorf("RunInstances calls = %d, want 3", got)
			}
			injectFault(t, b, ec2emu.Fault{Kind: tc.kind, Count: 1})
			b.rawCall(t, url.Values{"Action": {"DescribeRegions"}}).
				requireError(t, tc.status, tc.code)
		})
	}
}

func TestFaultOnlyHitsItsAction(t *testing.T) {
	b := setup(t)
	injectFault(t, b, ec2emu.Fault{Action: "TerminateInstances", Kind: ec2emu.FaultThrottle,
		Count: 1})
	if _, err := b.client.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{}); err != nil {
		t.Fatalf("DescribeRegions with a TerminateInstances fault pending: %v", err)
	}
	if got := len(b.emu.PendingFaults()); got != 1 {
		t.Errorf("pending faults = %d, want 1", got)
	}
}

func TestSDKRetriesThrottling(t *testing.T) {
	b := setup(t)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	client := ec2.NewFromConfig(aws.Config{
		Region:      testRegion,
		Credentials: newClientCredentials(),
	}, func(o *ec2.Options) { o.BaseEndpoint = aws.String(b.url) })
	injectFault(t, b, ec2emu.Fault{Action: "DescribeRegions", Kind: ec2emu.FaultThrottle,
		Count: 1})
	if _, err := client.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{}); err != nil {
		t.Fatalf("DescribeRegions with the SDK's default retries: %v", err)
	}
	if got := b.emu.Calls("DescribeRegions"); got != 2 {
		t.Errorf("DescribeRegions calls = %d, want 2 (one throttled, one retried)", got)
	}
}

func TestLostResponseThenRetrySameToken(t *testing.T) {
	for _, kind := range []ec2emu.FaultKind{ec2emu.FaultLostResponse,
		ec2emu.FaultDropConnection} {
		t.Run(string(kind), func(t *testing.T) {
			b := setup(t)
			injectFault(t, b, ec2emu.Fault{Action: "RunInstances", Kind: kind, Count: 1})
			_, err := b.client.RunInstances(ctx(t), runInput("lost-token", 1))
			if err == nil {
				t.Fatalf("RunInstances with a lost response succeeded")
			}
			launched := b.emu.Instances()
			if len(launched) != 1 {
				t.Fatalf("instances after a lost response = %d, want 1", len(launched))
			}
			out, err := b.client.RunInstances(ctx(t), runInput("lost-token", 1))
			if err != nil {
				t.Fatalf("retry with the same token: %v", err)
			}
			if got := aws.ToString(out.Instances[0].InstanceId); got != launched[0].ID {
				t.Errorf("retry returned %s, want the instance already launched %s", got,
					launched[0].ID)
			}
			if got := len(b.emu.Instances()); got != 1 {
				t.Errorf("instances after the retry = %d, want 1", got)
			}
		})
	}
}

func TestLostResponseCodes(t *testing.T) {
	b := setup(t)
	injectFault(t, b, ec2emu.Fault{Action: "DescribeRegions", Kind: ec2emu.FaultLostResponse,
		Count: 1})
	b.rawCall(t, url.Values{"Action": {"DescribeRegions"}}).
		requireError(t, http.StatusInternalServerError, "InternalError")
}

func TestLatencyFault(t *testing.T) {
	b := setup(t)
	injectFault(t, b, ec2emu.Fault{Action: "DescribeRegions", Kind: ec2emu.FaultNone,
		Latency: 2 * time.Second, Count: 1})
	short, cancel := context.WithTimeout(ctx(t), 100*time.Millisecond)
	defer cancel()
	_, err := b.client.DescribeRegions(short, &ec2.DescribeRegionsInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DescribeRegions under 2s latency with a 100ms deadline: %v", err)
	}
	if _, err := b.client.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{}); err != nil {
		t.Fatalf("DescribeRegions after the latency fault was spent: %v", err)
	}
}

// throttledCalls makes n DescribeRegions calls and records which were throttled.
func throttledCalls(t *testing.T, b *testBundle, n int) []bool {
	t.Helper()
	out := make([]bool, n)
	for i := range n {
		_, err := b.client.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{})
		var apiErr smithy.APIError
		switch {
		case err == nil:
		case errors.As(err, &apiErr) && apiErr.ErrorCode() == "RequestLimitExceeded":
			out[i] = true
		default:
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	return out
}

func TestProbabilisticFaultIsRepeatable(t *testing.T) {
	fault := ec2emu.Fault{Kind: ec2emu.FaultThrottle, Probability: 0.5, Seed: 42}
	var runs [2][]bool
	for i := range runs {
		b := setup(t)
		injectFault(t, b, fault)
		runs[i] = throttledCalls(t, b, 40)
	}
	hit := 0
	for i := range runs[0] {
		if runs[0][i] != runs[1][i] {
			t.Fatalf("call %d throttled differently under the same seed", i+1)
		}
		if runs[0][i] {
			hit++
		}
	}
	if hit == 0 || hit == 40 {
		t.Errorf("probability 0.5 throttled %d of 40 calls", hit)
	}
}

func TestInjectFaultRejectsInvalid(t *testing.T) {
	b := setup(t)
	invalid := []ec2emu.Fault{
		{Kind: "explode", Count: 1},
		{Kind: ec2emu.FaultThrottle},
		{Kind: ec2emu.FaultThrottle, Count: 1, Action: "MineBitcoin"},
		{Kind: ec2emu.FaultThrottle, Probability: 1.5},
		{Kind: ec2emu.FaultThrottle, Count: -1},
	}
	for _, f := range invalid {
		if err := b.emu.InjectFault(f); err == nil {
			t.Errorf("InjectFault(%+v) accepted an invalid fault", f)
		}
	}
}

func TestParseFault(t *testing.T) {
	f, err := ec2emu.ParseFault("throttle,action=RunInstances,count=2,p=0.25,seed=9," +
		"latency=150ms")
	if err != nil {
		t.Fatalf("ParseFault: %v", err)
	}
	want := ec2emu.Fault{Action: "RunInstances", Kind: ec2emu.FaultThrottle, Count: 2,
		Probability: 0.25, Seed: 9, Latency: 150 * time.Millisecond}
	if f != want {
		t.Errorf("ParseFault = %+v, want %+v", f, want)
	}
	for _, spec := range []string{"throttle", "throttle,count=x", "boom,count=1",
		"throttle,count=1,colour=red", "throttle,count"} {
		if _, err := ec2emu.ParseFault(spec); err == nil {
			t.Errorf("ParseFault(%q) accepted an invalid spec", spec)
		}
	}
}

func TestAdminEndpoints(t *testing.T) {
	b := setup(t)
	body, _ := json.Marshal(ec2emu.Fault{Action: "DescribeRegions",
		Kind: ec2emu.FaultUnavailable, Count: 1})
	resp, err := http.Post(b.url+"/_emu/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /_emu/faults returned HTTP %d", resp.StatusCode)
	}
	_, err = b.client.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{})
	requireAPIError(t, err, "Unavailable")

	var calls map[string]int
	getJSON(t, b.url+"/_emu/calls", &calls)
	if calls["DescribeRegions"] != 1 {
		t.Errorf("GET /_emu/calls = %v, want DescribeRegions 1", calls)
	}
	if _, err := b.client.RunInstances(ctx(t), runInput("", 1)); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Post(b.url+"/_emu/advance?by=1m", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var instances []ec2emu.Instance
	getJSON(t, b.url+"/_emu/instances", &instances)
	if len(instances) != 1 {
		t.Fatalf("GET /_emu/instances returned %d instances, want 1", len(instances))
	}
	if got := b.emu.Instances()[0].State; got != ec2emu.StateRunning {
		t.Errorf("state after POST /_emu/advance?by=1m = %s, want running", got)
	}
	for _, endpoint := range []string{"/_emu/calls", "/_emu/faults"} {
		req, err := http.NewRequest(http.MethodDelete, b.url+endpoint, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("DELETE %s returned HTTP %d, want 204", endpoint, resp.StatusCode)
		}
	}
	if got := b.emu.CallCounts(); len(got) != 0 {
		t.Errorf("call counters after DELETE /_emu/calls = %v, want none", got)
	}

	resp, err = http.Post(b.url+"/_emu/faults", "application/json",
		bytes.NewReader([]byte(`{"kind":"boom","count":1}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST of an invalid fault returned HTTP %d, want 400", resp.StatusCode)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s returned HTTP %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
