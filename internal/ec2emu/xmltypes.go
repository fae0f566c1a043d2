package ec2emu

import (
	"encoding/xml"
	"time"
)

// xmlTime formats times as EC2 does: UTC with milliseconds.
func xmlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type tagItem struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type instanceStateXML struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type placementXML struct {
	AvailabilityZone string `xml:"availabilityZone"`
	Tenancy          string `xml:"tenancy"`
}

type stateReasonXML struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type instanceXML struct {
	InstanceID         string           `xml:"instanceId"`
	ImageID            string           `xml:"imageId"`
	InstanceState      instanceStateXML `xml:"instanceState"`
	PrivateDNSName     string           `xml:"privateDnsName"`
	DNSName            string           `xml:"dnsName"`
	Reason             string           `xml:"reason"`
	KeyName            string           `xml:"keyName,omitempty"`
	AMILaunchIndex     int              `xml:"amiLaunchIndex"`
	InstanceType       string           `xml:"instanceType"`
	LaunchTime         string           `xml:"launchTime"`
	Placement          placementXML     `xml:"placement"`
	MonitoringState    string           `xml:"monitoring>state"`
	PrivateIPAddress   string           `xml:"privateIpAddress,omitempty"`
	IPAddress          string           `xml:"ipAddress,omitempty"`
	Architecture       string           `xml:"architecture"`
	RootDeviceType     string           `xml:"rootDeviceType"`
	RootDeviceName     string           `xml:"rootDeviceName"`
	VirtualizationType string           `xml:"virtualizationType"`
	ClientToken        string           `xml:"clientToken,omitempty"`
	Tags               []tagItem        `xml:"tagSet>item,omitempty"`
	Hypervisor         string           `xml:"hypervisor"`
	StateReason        *stateReasonXML  `xml:"stateReason,omitempty"`
}

type reservationXML struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Groups        []struct{}    `xml:"groupSet>item"`
	Instances     []instanceXML `xml:"instancesSet>item"`
}

type runInstancesResponse struct {
	XMLName xml.Name `xml:"RunInstancesResponse"`
	responseMeta
	reservationXML
}

type describeInstancesResponse struct {
	XMLName xml.Name `xml:"DescribeInstancesResponse"`
	responseMeta
	Reservations []reservationXML `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

type instanceStateChangeXML struct {
	InstanceID    string           `xml:"instanceId"`
	CurrentState  instanceStateXML `xml:"currentState"`
	PreviousState instanceStateXML `xml:"previousState"`
}

type terminateInstancesResponse struct {
	XMLName xml.Name `xml:"TerminateInstancesResponse"`
	responseMeta
	Instances []instanceStateChangeXML `xml:"instancesSet>item"`
}

type createTagsResponse struct {
	XMLName xml.Name `xml:"CreateTagsResponse"`
	responseMeta
	Return bool `xml:"return"`
}

type getConsoleOutputResponse struct {
	XMLName xml.Name `xml:"GetConsoleOutputResponse"`
	responseMeta
	InstanceID string `xml:"instanceId"`
	Timestamp  string `xml:"timestamp"`
	Output     string `xml:"output,omitempty"`
}

type importKeyPairResponse struct {
	XMLName xml.Name `xml:"ImportKeyPairResponse"`
	responseMeta
	KeyName        string    `xml:"keyName"`
	KeyFingerprint string    `xml:"keyFingerprint"`
	KeyPairID      string    `xml:"keyPairId"`
	Tags           []tagItem `xml:"tagSet>item,omitempty"`
}

type keyPairXML struct {
	KeyPairID      string    `xml:"keyPairId"`
	KeyName        string    `xml:"keyName"`
	KeyFingerprint string    `xml:"keyFingerprint"`
	KeyType        string    `xml:"keyType"`
	PublicKey      string    `xml:"publicKey,omitempty"`
	Tags           []tagItem `xml:"tagSet>item,omitempty"`
	CreateTime     string    `xml:"createTime"`
}

type describeKeyPairsResponse struct {
	XMLName xml.Name `xml:"DescribeKeyPairsResponse"`
	responseMeta
	KeyPairs []keyPairXML `xml:"keySet>item"`
}

type deleteKeyPairResponse struct {
	XMLName xml.Name `xml:"DeleteKeyPairResponse"`
	responseMeta
	Return    bool   `xml:"return"`
	KeyPairID string `xml:"keyPairId,omitempty"`
}

type imageXML struct {
	ImageID            string `xml:"imageId"`
	ImageLocation      string `xml:"imageLocation"`
	ImageState         string `xml:"imageState"`
	ImageOwnerID       string `xml:"imageOwnerId"`
	IsPublic           bool   `xml:"isPublic"`
	Architecture       string `xml:"architecture"`
	ImageType          string `xml:"imageType"`
	Name               string `xml:"name"`
	Description        string `xml:"description,omitempty"`
	RootDeviceType     string `xml:"rootDeviceType"`
	RootDeviceName     string `xml:"rootDeviceName"`
	VirtualizationType string `xml:"virtualizationType"`
	Hypervisor         string `xml:"hypervisor"`
}

type describeImagesResponse struct {
	XMLName xml.Name `xml:"DescribeImagesResponse"`
	responseMeta
	Images []imageXML `xml:"imagesSet>item"`
}

type instanceTypeXML struct {
	InstanceType      string   `xml:"instanceType"`
	CurrentGeneration bool     `xml:"currentGeneration"`
	VCPUs             int      `xml:"vCpuInfo>defaultVCpus"`
	MemoryMiB         int      `xml:"memoryInfo>sizeInMiB"`
	InstanceStorage   bool     `xml:"instanceStorageSupported"`
	TotalDiskGiB      int      `xml:"instanceStorageInfo>totalSizeInGB"`
	Architectures     []string `xml:"processorInfo>supportedArchitectures>item"`
	Hypervisor        string   `xml:"hypervisor"`
}

type describeInstanceTypesResponse struct {
	XMLName xml.Name `xml:"DescribeInstanceTypesResponse"`
	responseMeta
	InstanceTypes []instanceTypeXML `xml:"instanceTypeSet>item"`
}

type regionXML struct {
	RegionName     string `xml:"regionName"`
	RegionEndpoint string `xml:"regionEndpoint"`
	OptInStatus    string `xml:"optInStatus"`
}

type describeRegionsResponse struct {
	XMLName xml.Name `xml:"DescribeRegionsResponse"`
	responseMeta
	Regions []regionXML `xml:"regionInfo>item"`
}

type zoneXML struct {
	ZoneName    string `xml:"zoneName"`
	ZoneState   string `xml:"zoneState"`
	RegionName  string `xml:"regionName"`
	ZoneID      string `xml:"zoneId"`
	ZoneType    string `xml:"zoneType"`
	OptInStatus string `xml:"optInStatus"`
	GroupName   string `xml:"groupName"`
}

type describeAvailabilityZonesResponse struct {
	XMLName xml.Name `xml:"DescribeAvailabilityZonesResponse"`
	responseMeta
	Zones []zoneXML `xml:"availabilityZoneInfo>item"`
}
