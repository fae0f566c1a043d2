package ec2emu_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/instars/instars/internal/ec2emu"
)

func TestDescribeImages(t *testing.T) {
	b := setup(t)
	all, err := b.client.DescribeImages(ctx(t), &ec2.DescribeImagesInput{})
	if err != nil {
		t.Fatalf("DescribeImages: %v", err)
	}
	if len(all.Images) != len(ec2emu.DefaultImages) {
		t.Errorf("DescribeImages returned %d images, want %d", len(all.Images),
			len(ec2emu.DefaultImages))
	}
	one, err := b.client.DescribeImages(ctx(t), &ec2.DescribeImagesInput{
		Filters: []types.Filter{filterOf("name", "debian-*")},
	})
	if err != nil {
		t.Fatalf("DescribeImages by name: %v", err)
	}
	if len(one.Images) != 1 || aws.ToString(one.Images[0].ImageId) != testImage {
		t.Errorf("DescribeImages name=debian-* returned %+v, want %s", one.Images, testImage)
	}
	if one.Images[0].State != types.ImageStateAvailable {
		t.Errorf("image state = %s, want available", one.Images[0].State)
	}
	_, err = b.client.DescribeImages(ctx(t), &ec2.DescribeImagesInput{
		ImageIds: []string{"emi-ffffffff"},
	})
	requireAPIError(t, err, "InvalidAMIID.NotFound")
}

func TestConfiguredImagesAndTypes(t *testing.T) {
	b := setup(t, func(c *ec2emu.Config) {
		c.Images = []ec2emu.Image{{ID: "emi-12345678", Name: "custom"}}
		c.InstanceTypes = []ec2emu.InstanceType{{Name: "tiny", VCPUs: 1, MemoryMiB: 128}}
	})
	in := runInput("", 1)
	in.ImageId, in.InstanceType = aws.String("emi-12345678"), types.InstanceType("tiny")
	if _, err := b.client.RunInstances(ctx(t), in); err != nil {
		t.Fatalf("RunInstances with configured image and type: %v", err)
	}
	_, err := b.client.RunInstances(ctx(t), runInput("", 1))
	requireAPIError(t, err, "InvalidAMIID.NotFound")
}

func TestDescribeInstanceTypes(t *testing.T) {
	b := setup(t)
	out, err := b.client.DescribeInstanceTypes(ctx(t), &ec2.DescribeInstanceTypesInput{
		InstanceTypes: []types.InstanceType{"m1.small", "c1.medium"},
	})
	if err != nil {
		t.Fatalf("DescribeInstanceTypes: %v", err)
	}
	if len(out.InstanceTypes) != 2 {
		t.Fatalf("DescribeInstanceTypes returned %d types, want 2", len(out.InstanceTypes))
	}
	for _, it := range out.InstanceTypes {
		if aws.ToInt32(it.VCpuInfo.DefaultVCpus) < 1 || aws.ToInt64(it.MemoryInfo.SizeInMiB) < 1 {
			t.Errorf("type %s lacks CPU or memory: %+v", it.InstanceType, it)
		}
	}
	_, err = b.client.DescribeInstanceTypes(ctx(t), &ec2.DescribeInstanceTypesInput{
		InstanceTypes: []types.InstanceType{"p9.giant"},
	})
	requireAPIError(t, err, "InvalidParameterValue")
}

func TestDescribeRegionsAndZones(t *testing.T) {
	b := setup(t)
	regions, err := b.client.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{})
	if err != nil {
		t.Fatalf("DescribeRegions: %v", err)
	}
	if len(regions.Regions) != 1 || aws.ToString(regions.Regions[0].RegionName) != testRegion {
		t.Errorf("DescribeRegions returned %+v, want %s only", regions.Regions, testRegion)
	}
	zones, err := b.client.DescribeAvailabilityZones(ctx(t),
		&ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		t.Fatalf("DescribeAvailabilityZones: %v", err)
	}
	if len(zones.AvailabilityZones) != 1 {
		t.Fatalf("DescribeAvailabilityZones returned %d zones, want 1",
			len(zones.AvailabilityZones))
	}
	zone := zones.AvailabilityZones[0]
	if aws.ToString(zone.ZoneName) != testRegion+"a" || zone.State != "available" {
		t.Errorf("zone = %s %s, want %sa available", aws.ToString(zone.ZoneName), zone.State,
			testRegion)
	}
	_, err = b.client.DescribeAvailabilityZones(ctx(t), &ec2.DescribeAvailabilityZonesInput{
		ZoneNames: []string{"nowhere-1z"},
	})
	requireAPIError(t, err, "InvalidParameterValue")
}
