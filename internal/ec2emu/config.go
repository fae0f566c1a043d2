package ec2emu

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"time"
)

// Config configures a [Server]. The zero value is not usable: Credentials must name at least
// one access key.
type Config struct {
	// Credentials maps each accepted access key id to its secret access key.
	Credentials map[string]string

	// Region is the region the emulator serves and the one request signatures must be scoped
	// to. Default "eucalyptus", the default region name of a Eucalyptus cloud.
	Region string

	// ExtraRegions are further region names that signatures may be scoped to; DescribeRegions
	// lists them after Region. All of them share one set of instances.
	ExtraRegions []string

	// Zones are the availability zone names. Default Region + "a".
	Zones []string

	// Images are the machine images RunInstances accepts. Default [DefaultImages].
	Images []Image

	// InstanceTypes are the instance types RunInstances accepts. Default
	// [DefaultInstanceTypes].
	InstanceTypes []InstanceType

	// Timings sets how long instances stay in each transient state. Nil means
	// [DefaultTimings]. A non-nil value is used as it is, so zero durations are instant.
	Timings *Timings

	// Clock is the time source for instance states and launch times. Default the system
	// clock. Request signatures are always checked against the system clock, because clients
	// sign with theirs.
	Clock Clock

	// StateFile, when set, is a JSON file the state is loaded from at start and written to,
	// atomically, after each change.
	StateFile string

	// OwnerID is the account id shown as the owner of reservations and images. Default
	// "000000000000".
	OwnerID string

	// LongIDs makes instance and reservation ids 17 hex digits long as on AWS today, instead
	// of the 8 digits of Eucalyptus and of older AWS accounts.
	LongIDs bool

	// PropagationDelay is how long a new instance stays unknown to every action but the
	// RunInstances that made it. EC2 is eventually consistent, so DescribeInstances,
	// CreateTags and TerminateInstances may return InvalidInstanceID.NotFound right after a
	// launch. Default zero: new instances are visible at once.
	PropagationDelay time.Duration

	// MaxInstances limits how many instances may be pending or running at once, the way an
	// account's instance quota does. Default 20.
	MaxInstances int

	// PublicIPs are the public addresses instances get: each launch takes the first one that
	// no instance short of terminated holds. Default the documentation ranges 203.0.113.0/24,
	// 198.51.100.0/24 and 192.0.2.0/24. When all are in use, instances get no public address.
	PublicIPs []string

	// Logger receives one line per request at debug level and faults at info level. Default
	// a logger that discards everything.
	Logger *slog.Logger
}

// Timings are the durations of the transient instance states.
type Timings struct {
	// Pending is how long a new instance stays pending before it runs.
	Pending time.Duration
	// ShuttingDown is how long a terminated instance stays shutting-down.
	ShuttingDown time.Duration
	// TerminatedVisible is how long a terminated instance still shows in DescribeInstances.
	// EC2 keeps them for about an hour.
	TerminatedVisible time.Duration
}

// DefaultTimings are the timings used when [Config].Timings is nil.
var DefaultTimings = Timings{
	Pending:           5 * time.Second,
	ShuttingDown:      3 * time.Second,
	TerminatedVisible: time.Hour,
}

// Image is a machine image that instances can be launched from.
type Image struct {
	// ID is the image id, such as "emi-0a1b2c3d" (Eucalyptus) or "ami-…".
	ID string
	// Name is the image name, such as "debian-12-amd64".
	Name string
	// Description is free text shown by DescribeImages.
	Description string
	// Architecture is "x86_64" or "arm64". Default "x86_64".
	Architecture string
}

// InstanceType is an instance type that instances can be launched as.
type InstanceType struct {
	// Name is the type name, such as "m1.small".
	Name string
	// VCPUs is the number of virtual CPUs.
	VCPUs int
	// MemoryMiB is the memory size in MiB.
	MemoryMiB int
	// DiskGiB is the root disk size in GiB.
	DiskGiB int
}

// DefaultImages are the images served when [Config].Images is empty.
var DefaultImages = []Image{
	{ID: "emi-0d1e2b3c", Name: "debian-12-amd64", Description: "Debian 12 (bookworm) cloud image"},
	{ID: "emi-5a6f7e81", Name: "ubuntu-22.04-amd64", Description: "Ubuntu 22.04 LTS cloud image"},
	{ID: "emi-9c4b2d10", Name: "alpine-3.20-amd64", Description: "Alpine Linux 3.20 cloud image"},
}

// DefaultInstanceTypes are the types served when [Config].InstanceTypes is empty. The names
// are those of a Eucalyptus cloud.
//
// NOTE: the sizes are typical of a Eucalyptus 4 installation; every cloud's administrator
// sets their own.
var DefaultInstanceTypes = []InstanceType{
	{Name: "t1.micro", VCPUs: 1, MemoryMiB: 256, DiskGiB: 5},
	{Name: "m1.small", VCPUs: 1, MemoryMiB: 512, DiskGiB: 10},
	{Name: "m1.medium", VCPUs: 1, MemoryMiB: 1024, DiskGiB: 10},
	{Name: "c1.medium", VCPUs: 2, MemoryMiB: 512, DiskGiB: 10},
	{Name: "m1.large", VCPUs: 2, MemoryMiB: 1024, DiskGiB: 15},
	{Name: "m1.xlarge", VCPUs: 2, MemoryMiB: 2048, DiskGiB: 20},
	{Name: "c1.xlarge", VCPUs: 4, MemoryMiB: 2048, DiskGiB: 20},
	{Name: "m3.xlarge", VCPUs: 4, MemoryMiB: 4096, DiskGiB: 30},
}

var imageIDPattern = regexp.MustCompile(`^[ae]mi-[0-9a-f]{8}([0-9a-f]{9})?$`)

// withDefaults returns a copy of c with every unset field at its default, or an error naming
// the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if len(c.Credentials) == 0 {
		return c, errors.New("ec2emu: Config.Credentials is empty; set at least one access key")
	}
	for id, secret := range c.Credentials {
		if id == "" || secret == "" {
			return c, fmt.Errorf("ec2emu: Config.Credentials has an empty access key id or "+
				"secret (id %q)", id)
		}
	}

	if c.Region == "" {
		c.Region = "eucalyptus"
	}
	for _, region := range c.regions() {
		if !regionPattern.MatchString(region) {
			return c, fmt.Errorf("ec2emu: region name %q in Config.Region or "+
				"Config.ExtraRegions is invalid; expected letters, digits, \".\", \"_\" and \"-\" "+
				"such as eu-west-1", region)
		}
	}
	if len(c.Zones) == 0 {
		c.Zones = []string{c.Region + "a"}
	}

	if len(c.Images) == 0 {
		c.Images = DefaultImages
	}
	c.Images = append([]Image(nil), c.Images...)
	for i, img := range c.Images {
		if !imageIDPattern.MatchString(img.ID) {
			return c, fmt.Errorf("ec2emu: Config.Images[%d].ID %q is invalid; expected emi- or "+
				"ami- and 8 or 17 lowercase hex digits", i, img.ID)
		}
		if img.Architecture == "" {
			c.Images[i].Architecture = "x86_64"
		}
	}

	if len(c.InstanceTypes) == 0 {
		c.InstanceTypes = DefaultInstanceTypes
	}
	for i, it := range c.InstanceTypes {
		if it.Name == "" {
			return c, fmt.Errorf("ec2emu: Config.InstanceTypes[%d].Name is empty", i)
		}
	}

	if c.Timings == nil {
		t := DefaultTimings
		c.Timings = &t
	}
	if c.Timings.Pending < 0 || c.Timings.ShuttingDown < 0 || c.Timings.TerminatedVisible < 0 {
		return c, fmt.Errorf("ec2emu: Config.Timings has a negative duration: %+v", *c.Timings)
	}

	if c.PropagationDelay < 0 {
		return c, fmt.Errorf("ec2emu: Config.PropagationDelay %v is negative",
			c.PropagationDelay)
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.OwnerID == "" {
		c.OwnerID = "000000000000"
	}
	if c.MaxInstances == 0 {
		c.MaxInstances = 20
	}
	if c.MaxInstances < 0 {
		return c, fmt.Errorf("ec2emu: Config.MaxInstances %d is negative", c.MaxInstances)
	}
	if len(c.PublicIPs) == 0 {
		c.PublicIPs = documentationAddresses()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// documentationAddresses lists the addresses of the three IPv4 ranges reserved for
// documentation (RFC 5737), which route nowhere.
func documentationAddresses() []string {
	var addrs []string
	for _, prefix := range []string{"203.0.113.", "198.51.100.", "192.0.2."} {
		for host := 1; host <= 254; host++ {
			addrs = append(addrs, fmt.Sprintf("%s%d", prefix, host))
		}
	}
	return addrs
}

// maxRangeAddresses bounds the addresses AddressRange expands, so a typo such as /8 cannot
// allocate millions of strings.
const maxRangeAddresses = 1 << 16

// AddressRange returns the host addresses of an IPv4 prefix such as "127.0.1.0/24", without
// the network and broadcast addresses of prefixes shorter than /31, for [Config].PublicIPs.
func AddressRange(cidr string) ([]string, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil || !prefix.Addr().Is4() {
		return nil, fmt.Errorf("ec2emu: address range %q is invalid; expected an IPv4 prefix "+
			"such as 127.0.1.0/24", cidr)
	}
	prefix = prefix.Masked()
	size := 1 << (32 - prefix.Bits())
	if size > maxRangeAddresses {
		return nil, fmt.Errorf("ec2emu: address range %s holds %d addresses; the limit is %d",
			cidr, size, maxRangeAddresses)
	}
	var out []string
	addr := prefix.Addr()
	for i := range size {
		edge := i == 0 || i == size-1
		if !edge || size <= 2 {
			out = append(out, addr.String())
		}
		addr = addr.Next()
	}
	return out, nil
}

// regionPattern matches a region name, which request signatures carry in their credential
// scope: a stray space or "/" would make a region no client can sign for.
var regionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// regions returns Region followed by ExtraRegions.
func (c Config) regions() []string {
	return append([]string{c.Region}, c.ExtraRegions...)
}
