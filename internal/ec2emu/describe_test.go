package ec2emu_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"
)

func describeIDs(t *testing.T, b *testBundle, filters ...types.Filter) []string {
	t.Helper()
	out, err := b.client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{
		Filters: filters,
	})
	if err != nil {
		t.Fatalf("DescribeInstances %v: %v", filters, err)
	}
	var ids []string
	for _, r := range out.Reservations {
		ids = append(ids, instanceIDs(r.Instances)...)
	}
	slices.Sort(ids)
	return ids
}

func filterOf(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

func TestDescribeInstancesFilters(t *testing.T) {
	b := setup(t)
	launch := func(token, order string) string {
		in := runInput(token, 1)
		in.TagSpecifications = []types.TagSpecification{{
			ResourceType: types.ResourceTypeInstance,
			Tags: []types.Tag{
				{Key: aws.String("order"), Value: aws.String(order)},
				{Key: aws.String("service"), Value: aws.String("instars")},
			},
		}}
		out, err := b.client.RunInstances(ctx(t), in)
		if err != nil {
			t.Fatalf("RunInstances: %v", err)
		}
		return aws.ToString(out.Instances[0].InstanceId)
	}
	first := launch("tok-1", "order-1")
	second := launch("tok-2", "order-2")
	b.emu.Advance(time.Minute)
	third := launch("tok-3", "other-3")
	all := []string{first, second, third}
	slices.Sort(all)

	cases := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"none", nil, all},
		{"tag exact", []types.Filter{filterOf("tag:order", "order-2")}, []string{second}},
		{"tag wildcard", []types.Filter{filterOf("tag:order", "order-*")},
			sortedIDs(first, second)},
		{"tag values ORed", []types.Filter{filterOf("tag:order", "order-1", "other-3")},
			sortedIDs(first, third)},
		{"tag-key", []types.Filter{filterOf("tag-key", "service")}, all},
		{"tag-key absent", []types.Filter{filterOf("tag-key", "missing")}, nil},
		{"state pending", []types.Filter{filterOf("instance-state-name", "pending")},
			[]string{third}},
		{"state running", []types.Filter{filterOf("instance-state-name", "running")},
			sortedIDs(first, second)},
		{"client-token", []types.Filter{filterOf("client-token", "tok-1")}, []string{first}},
		{"filters ANDed", []types.Filter{
			filterOf("tag:service", "instars"), filterOf("client-token", "tok-3"),
		}, []string{third}},
		{"instance-id", []types.Filter{filterOf("instance-id", second)}, []string{second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := describeIDs(t, b, tc.filters...); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	_, err := b.client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{
		Filters: []types.Filter{filterOf("flavour", "x")},
	})
	requireAPIError(t, err, "InvalidParameterValue")
}

func sortedIDs(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

func TestDescribeInstancesPagination(t *testing.T) {
	b := setup(t)
	out, err := b.client.RunInstances(ctx(t), runInput("", 7))
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	paginator := ec2.NewDescribeInstancesPaginator(b.client, &ec2.DescribeInstancesInput{
		MaxResults: aws.Int32(5),
	})
	var ids []string
	pages := 0
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(ctx(t))
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		for _, r := range page.Reservations {
			ids = append(ids, instanceIDs(r.Instances)...)
		}
	}
	if pages != 2 {
		t.Errorf("pages = %d, want 2", pages)
	}
	if !slices.Equal(ids, instanceIDs(out.Instances)) {
		t.Errorf("paged ids %v, want %v", ids, instanceIDs(out.Instances))
	}
	_, err = b.client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{
		MaxResults: aws.Int32(2),
	})
	requireAPIError(t, err, "InvalidParameterValue")
}

func TestCreateTags(t *testing.T) {
	b := setup(t)
	out, err := b.client.RunInstances(ctx(t), runInput("", 1))
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	_, err = b.client.CreateTags(ctx(t), &ec2.CreateTagsInput{
		Resources: []string{id},
		Tags:      []types.Tag{{Key: aws.String("lease"), Value: aws.String("L-9")}},
	})
	if err != nil {
		t.Fatalf("CreateTags: %v", err)
	}
	if got := describeIDs(t, b, filterOf("tag:lease", "L-9")); !slices.Equal(got, []string{id}) {
		t.Errorf("DescribeInstances tag:lease=L-9 returned %v, want %s", got, id)
	}
	if got := b.emu.Instances()[0].Tags["lease"]; got != "L-9" {
		t.Errorf("stored tag lease = %q, want L-9", got)
	}

	_, err = b.client.CreateTags(ctx(t), &ec2.CreateTagsInput{
		Resources: []string{id, "i-0badc0de"},
		Tags:      []types.Tag{{Key: aws.String("half"), Value: aws.String("done")}},
	})
	requireAPIError(t, err, "InvalidInstanceID.NotFound")
	if _, tagged := b.emu.Instances()[0].Tags["half"]; tagged {
		t.Errorf("a failed CreateTags tagged the existing instance")
	}

	_, err = b.client.CreateTags(ctx(t), &ec2.CreateTagsInput{
		Resources: []string{id},
		Tags:      []types.Tag{{Key: aws.String("aws:owner"), Value: aws.String("x")}},
	})
	requireAPIError(t, err, "InvalidParameterValue")
	_, err = b.client.CreateTags(ctx(t), &ec2.CreateTagsInput{
		Resources: []string{"vol-12345678"},
		Tags:      []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}},
	})
	requireAPIError(t, err, "InvalidID")
}

func TestGetConsoleOutputHostKeys(t *testing.T) {
	b := setup(t)
	out, err := b.client.RunInstances(ctx(t), runInput("", 1))
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	pending, err := b.client.GetConsoleOutput(ctx(t), &ec2.GetConsoleOutputInput{
		InstanceId: aws.String(id),
	})
	if err != nil {
		t.Fatalf("GetConsoleOutput while pending: %v", err)
	}
	if pending.Output != nil {
		t.Errorf("pending instance has console output %q", aws.ToString(pending.Output))
	}

	b.emu.Advance(time.Minute)
	running, err := b.client.GetConsoleOutput(ctx(t), &ec2.GetConsoleOutputInput{
		InstanceId: aws.String(id),
	})
	if err != nil {
		t.Fatalf("GetConsoleOutput: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(running.Output))
	if err != nil {
		t.Fatalf("console output is not base64: %v", err)
	}

	text := strings.ReplaceAll(string(raw), "\r\n", "\n")
	keys := block(t, text, "-----BEGIN SSH HOST KEY KEYS-----",
		"-----END SSH HOST KEY KEYS-----")
	fingerprints := block(t, text, "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----",
		"ec2: -----END SSH HOST KEY FINGERPRINTS-----")

	stored := b.emu.Instances()[0].HostKeys
	if len(keys) != len(stored) || len(fingerprints) != len(stored) {
		t.Fatalf("console has %d keys and %d fingerprints, want %d of each",
			len(keys), len(fingerprints), len(stored))
	}
	for i, line := range keys {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			t.Fatalf("console key %q does not parse: %v", line, err)
		}
		if !strings.HasPrefix(line, stored[i]+" ") {
			t.Errorf("console key %q is not stored key %q", line, stored[i])
		}
		if !strings.Contains(fingerprints[i], " "+ssh.FingerprintSHA256(key)+" ") {
			t.Errorf("fingerprint line %q does not carry %s", fingerprints[i],
				ssh.FingerprintSHA256(key))
		}
	}

	_, err = b.client.GetConsoleOutput(ctx(t), &ec2.GetConsoleOutputInput{
		InstanceId: aws.String("i-0000beef"),
	})
	requireAPIError(t, err, "InvalidInstanceID.NotFound")
}

// block returns the lines strictly between begin and end.
func block(t *testing.T, text, begin, end string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(text, begin+"\n")
	if !ok {
		t.Fatalf("console output lacks %q:\n%s", begin, text)
	}
	inner, _, ok := strings.Cut(rest, end)
	if !ok {
		t.Fatalf("console output lacks %q:\n%s", end, text)
	}
	return strings.Split(strings.TrimSuffix(inner, "\n"), "\n")
}
