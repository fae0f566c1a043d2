package ec2emu

import (
	"slices"
	"strings"
	"time"
)

func (s *Server) describeImages(p params, _ time.Time) (any, *apiError) {
	ids := p.list("ImageId")
	for _, id := range ids {
		if !imageIDPattern.MatchString(id) {
			return nil, badRequest("InvalidAMIID.Malformed", "Invalid id: \"%s\"", id)
		}
		if !slices.ContainsFunc(s.cfg.Images, func(img Image) bool { return img.ID == id }) {
			return nil, badRequest("InvalidAMIID.NotFound", "The image id '[%s]' does not exist",
				id)
		}
	}
	filters := p.filters()
	for _, f := range filters {
		if !slices.Contains([]string{"image-id", "name", "architecture", "state"}, f.Name) {
			return nil, invalidParameter("The filter '%s' is invalid", f.Name)
		}
	}
	resp := &describeImagesResponse{}
	for _, img := range s.cfg.Images {
		if len(ids) > 0 && !slices.Contains(ids, img.ID) {
			continue
		}
		fields := map[string]string{
			"image-id": img.ID, "name": img.Name, "architecture": img.Architecture,
			"state": "available",
		}
		if !matchFields(fields, filters) {
			continue
		}
		resp.Images = append(resp.Images, imageXML{
			ImageID:            img.ID,
			ImageLocation:      "images/" + img.Name + ".manifest.xml",
			ImageState:         "available",
			ImageOwnerID:       s.cfg.OwnerID,
			IsPublic:           true,
			Architecture:       img.Architecture,
			ImageType:          "machine",
			Name:               img.Name,
			Description:        img.Description,
			RootDeviceType:     "instance-store",
			RootDeviceName:     "/dev/sda1",
			VirtualizationType: "hvm",
			Hypervisor:         "kvm",
		})
	}
	return resp, nil
}

// matchFields reports whether every filter has a value matching the named field.
func matchFields(fields map[string]string, filters []filter) bool {
	for _, f := range filters {
		field := fields[f.Name]
		if !slices.ContainsFunc(f.Values, func(v string) bool { return matchGlob(v, field) }) {
			return false
		}
	}
	return true
}

func (s *Server) describeInstanceTypes(p params, _ time.Time) (any, *apiError) {
	names := p.list("InstanceType")
	for _, name := range names {
		if _, ok := s.instanceType(name); !ok {
			return nil, invalidParameter("The following supplied instance types do not "+
				"exist: [%s]", name)
		}
	}
	resp := &describeInstanceTypesResponse{}
	for _, it := range s.cfg.InstanceTypes {
		if len(names) > 0 && !slices.Contains(names, it.Name) {
			continue
		}
		resp.InstanceTypes = append(resp.InstanceTypes, instanceTypeXML{
			InstanceType:      it.Name,
			CurrentGeneration: true,
			VCPUs:             it.VCPUs,
			MemoryMiB:         it.MemoryMiB,
			InstanceStorage:   true,
			TotalDiskGiB:      it.DiskGiB,
			Architectures:     []string{"x86_64"},
			Hypervisor:        "kvm",
		})
	}
	return resp, nil
}

func (s *Server) describeRegions(p params, _ time.Time) (any, *apiError) {
	names := p.list("RegionName")
	for _, name := range names {
		if !slices.Contains(s.cfg.regions(), name) {
			return nil, invalidParameter("Invalid region: %s", name)
		}
	}
	resp := &describeRegionsResponse{}
	for _, region := range s.cfg.regions() {
		if len(names) > 0 && !slices.Contains(names, region) {
			continue
		}
		resp.Regions = append(resp.Regions, regionXML{
			RegionName:     region,
			RegionEndpoint: strings.TrimPrefix(s.url, "http://"),
			OptInStatus:    "opt-in-not-required",
		})
	}
	return resp, nil
}

func (s *Server) describeAvailabilityZones(p params, _ time.Time) (any, *apiError) {
	names := p.list("ZoneName")
	for _, name := range names {
		if !slices.Contains(s.cfg.Zones, name) {
			return nil, invalidParameter("The zone '%s' does not exist.", name)
		}
	}
	resp := &describeAvailabilityZonesResponse{}
	for i, zone := range s.cfg.Zones {
		if len(names) > 0 && !slices.Contains(names, zone) {
			continue
		}
		resp.Zones = append(resp.Zones, zoneXML{
			ZoneName:    zone,
			ZoneState:   "available",
			RegionName:  s.cfg.Region,
			ZoneID:      s.cfg.Region + "-az" + string(rune('1'+i%9)),
			ZoneType:    "availability-zone",
			OptInStatus: "opt-in-not-required",
			GroupName:   s.cfg.Region,
		})
	}
	return resp, nil
}
