package eucalyptus

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Tag keys the driver puts on every instance it launches. Reconcile finds the driver's
// instances by TagLease.
const (
	// TagLease is the tag key of the lease id.
	TagLease = "instars:lease"
	// TagOrder is the tag key of the order id.
	TagOrder = "instars:order"
	// TagPaidUntil is the tag key of the end of the paid time, RFC 3339 in UTC.
	TagPaidUntil = "instars:paid-until"
	// TagName is the tag EC2 consoles show as the instance name.
	TagName = "Name"
)

// Instance states as EC2 names them.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
)

// Instance is the driver's view of one EC2 instance: its state, addresses and tags.
type Instance struct {
	ID           string
	State        string
	StateReason  string
	ImageID      string
	InstanceType string
	KeyName      string
	Zone         string
	LaunchTime   time.Time

	PrivateIP  string
	PublicIP   string
	PrivateDNS string
	PublicDNS  string

	// LeaseID, OrderID and PaidUntil are read from the instance's tags; they are empty or zero
	// on an instance the driver did not launch.
	LeaseID   string
	OrderID   string
	PaidUntil time.Time

	// Tags are all the instance's tags.
	Tags map[string]string

	// HostKeys are the SSH host keys the instance printed to its console, when Launch found
	// them. Describe leaves it empty.
	HostKeys []HostKey
}

// Live reports whether the instance exists and may cost money: pending, running, stopping or
// stopped.
func (i Instance) Live() bool {
	return i.State != StateTerminated && i.State != StateShuttingDown && i.State != ""
}

// HostKey is one SSH host key of an instance, as printed to its console by cloud-init.
type HostKey struct {
	// Type is the SSH key algorithm, such as "ssh-ed25519" or "ecdsa-sha2-nistp256".
	Type string
	// Bits is the key size the fingerprint line states; zero when only the key was printed.
	Bits int
	// Fingerprint is the key's fingerprint as ssh-keygen -l prints it, "SHA256:…" (or the
	// colon-separated MD5 form older images print).
	Fingerprint string
	// PublicKey is the key in authorized_keys format, without a comment, when the console
	// printed the key itself and not only its fingerprint.
	PublicKey string
}

// instanceFromEC2 converts the SDK's description of an instance.
func instanceFromEC2(in types.Instance) Instance {
	out := Instance{
		ID:           aws.ToString(in.InstanceId),
		ImageID:      aws.ToString(in.ImageId),
		InstanceType: string(in.InstanceType),
		KeyName:      aws.ToString(in.KeyName),
		LaunchTime:   aws.ToTime(in.LaunchTime),
		PrivateIP:    aws.ToString(in.PrivateIpAddress),
		PublicIP:     aws.ToString(in.PublicIpAddress),
		PrivateDNS:   aws.ToString(in.PrivateDnsName),
		PublicDNS:    aws.ToString(in.PublicDnsName),
		Tags:         map[string]string{},
	}
	if in.State != nil {
		out.State = string(in.State.Name)
	}
	if in.StateReason != nil {
		out.StateReason = aws.ToString(in.StateReason.Message)
	}
	if in.Placement != nil {
		out.Zone = aws.ToString(in.Placement.AvailabilityZone)
	}
	for _, tag := range in.Tags {
		out.Tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	out.LeaseID = out.Tags[TagLease]
	out.OrderID = out.Tags[TagOrder]
	if paid, err := time.Parse(time.RFC3339, out.Tags[TagPaidUntil]); err == nil {
		out.PaidUntil = paid
	}
	return out
}

// formatPaidUntil returns the TagPaidUntil value for t.
func formatPaidUntil(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
