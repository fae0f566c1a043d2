package ec2emu_test

import (
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/instars/instars/internal/ec2emu"
)

// BenchmarkDescribeRegions is the baseline: one signed SDK round trip to the smallest action.
func BenchmarkDescribeRegions(b *testing.B) {
	bundle := setup(b)
	for b.Loop() {
		if _, err := bundle.client.DescribeRegions(b.Context(),
			&ec2.DescribeRegionsInput{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDescribeInstancesByTag finds one tagged instance among 200.
func BenchmarkDescribeInstancesByTag(b *testing.B) {
	bundle := setup(b, func(c *ec2emu.Config) { c.MaxInstances = 1000 })
	for i := range 200 {
		in := runInput("", 1)
		in.TagSpecifications = []types.TagSpecification{{
			ResourceType: types.ResourceTypeInstance,
			Tags: []types.Tag{{Key: aws.String("order"),
				Value: aws.String("order-" + strconv.Itoa(i))}},
		}}
		if _, err := bundle.client.RunInstances(b.Context(), in); err != nil {
			b.Fatal(err)
		}
	}
	input := &ec2.DescribeInstancesInput{
		Filters: []types.Filter{filterOf("tag:order", "order-150")},
	}
	for b.Loop() {
		out, err := bundle.client.DescribeInstances(b.Context(), input)
		if err != nil {
			b.Fatal(err)
		}
		if len(out.Reservations) != 1 {
			b.Fatalf("found %d reservations, want 1", len(out.Reservations))
		}
	}
}

// BenchmarkRunInstances launches one instance per call, host key generation included.
func BenchmarkRunInstances(b *testing.B) {
	bundle := setup(b, func(c *ec2emu.Config) { c.MaxInstances = 1 << 30 })
	for b.Loop() {
		if _, err := bundle.client.RunInstances(b.Context(), runInput("", 1)); err != nil {
			b.Fatal(err)
		}
	}
}
