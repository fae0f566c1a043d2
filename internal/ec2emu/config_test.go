package ec2emu_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/instars/instars/internal/ec2emu"
)

func TestAddressRange(t *testing.T) {
	cases := []struct {
		cidr      string
		wantFirst string
		wantLast  string
		wantCount int
	}{
		{"127.0.1.0/24", "127.0.1.1", "127.0.1.254", 254},
		{"10.9.8.7/30", "10.9.8.5", "10.9.8.6", 2},
		{"127.0.0.2/32", "127.0.0.2", "127.0.0.2", 1},
		{"127.0.0.2/31", "127.0.0.2", "127.0.0.3", 2},
	}
	for _, tc := range cases {
		got, err := ec2emu.AddressRange(tc.cidr)
		if err != nil {
			t.Fatalf("AddressRange(%s): %v", tc.cidr, err)
		}
		if len(got) != tc.wantCount || got[0] != tc.wantFirst || got[len(got)-1] != tc.wantLast {
			t.Errorf("AddressRange(%s) = %d addresses %s..%s, want %d %s..%s", tc.cidr,
				len(got), got[0], got[len(got)-1], tc.wantCount, tc.wantFirst, tc.wantLast)
		}
	}
	for _, bad := range []string{"127.0.0.1", "::1/128", "10.0.0.0/8", "nonsense"} {
		if _, err := ec2emu.AddressRange(bad); err == nil {
			t.Errorf("AddressRange(%q) accepted an invalid range", bad)
		}
	}
}

func TestPublicIPsAreReleasedOnTermination(t *testing.T) {
	b := setup(t, func(c *ec2emu.Config) { c.PublicIPs = []string{"127.0.1.1", "127.0.1.2"} })
	out, err := b.client.RunInstances(ctx(t), runInput("", 2))
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, inst := range out.Instances {
		addrs = append(addrs, aws.ToString(inst.PublicIpAddress))
	}
	if !slices.Equal(addrs, []string{"127.0.1.1", "127.0.1.2"}) {
		t.Fatalf("public addresses = %v, want the two configured", addrs)
	}
	third, err := b.client.RunInstances(ctx(t), runInput("", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(third.Instances[0].PublicIpAddress); got != "" {
		t.Errorf("a launch with the pool exhausted got public address %s", got)
	}
	terminate(t, b, aws.ToString(out.Instances[0].InstanceId))
	b.emu.Advance(ec2emu.DefaultTimings.ShuttingDown)
	fourth, err := b.client.RunInstances(ctx(t), runInput("", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(fourth.Instances[0].PublicIpAddress); got != "127.0.1.1" {
		t.Errorf("launch after termination got public address %q, want 127.0.1.1 again", got)
	}
}
