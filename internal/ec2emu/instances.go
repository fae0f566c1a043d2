package ec2emu

import (
	"encoding/base64"
	"encoding/binary"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var instanceIDPattern = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// maxClientTokenLength is EC2's limit on the ClientToken of RunInstances.
const maxClientTokenLength = 64

func (s *Server) runInstances(p params, now time.Time) (any, *apiError) {
	token := p.get("ClientToken")
	if len(token) > maxClientTokenLength {
		return nil, invalidParameter("Value (%s) for parameter clientToken is invalid. "+
			"Length exceeds maximum of %d", token, maxClientTokenLength)
	}
	request := p.fingerprint()
	if token != "" {
		if prior, ok := s.st.ClientTokens[token]; ok {
			if prior.Request != request {
				return nil, badRequest("IdempotentParameterMismatch",
					"Arguments on this idempotent request are inconsistent with arguments "+
						"used in previous request(s) with client token %s", token)
			}
			// NOTE: once the reservation's instances are past TerminatedVisible and purged,
			// the repeated call returns the reservation with no instances in it.
			return &runInstancesResponse{reservationXML: s.reservation(prior.ReservationID,
				now)}, nil
		}
	}

	launch, apiErr := s.parseLaunch(p)
	if apiErr != nil {
		return nil, apiErr
	}

	active := 0
	for _, inst := range s.st.Instances {
		if state, _ := inst.stateAt(now, s.cfg.Timings); state != StateTerminated {
			active++
		}
	}
	available := s.cfg.MaxInstances - active
	if launch.minCount > available {
		return nil, badRequest("InstanceLimitExceeded",
			"Your quota allows for %d more running instance(s). You requested at least %d.",
			max(available, 0), launch.minCount)
	}

	count := min(launch.maxCount, available)
	reservationID := "r-" + randomHex(s.idLength())
	for i := range count {
		hostKeys, err := generateHostKeys()
		if err != nil {
			s.cfg.Logger.Error("unable to generate host keys", "error", err)
			return nil, internalError()
		}
		inst := &Instance{
			ID:            s.newInstanceID(),
			ReservationID: reservationID,
			ImageID:       launch.imageID,
			InstanceType:  launch.instanceType,
			KeyName:       launch.keyName,
			ClientToken:   token,
			Zone:          launch.zone,
			LaunchIndex:   i,
			PrivateIP:     s.nextPrivateIP(),
			PublicIP:      s.freePublicIP(now),
			LaunchTime:    now,
			UserData:      launch.userData,
			Tags:          tagMap(launch.tags),
			HostKeys:      hostKeys,
		}
		s.st.Instances = append(s.st.Instances, inst)
	}

	if token != "" {
		s.st.ClientTokens[token] = clientTokenRecord{Request: request,
			ReservationID: reservationID}
	}
	s.purgeExpired(now)
	return &runInstancesResponse{reservationXML: s.reservation(reservationID, now)}, nil
}

// launchRequest is a validated RunInstances request.
type launchRequest struct {
	imageID, instanceType, keyName, zone, userData string
	minCount, maxCount                             int
	tags                                           []tag
}

func (s *Server) parseLaunch(p params) (launchRequest, *apiError) {
	var l launchRequest
	var apiErr *apiError
	if l.minCount, apiErr = positiveInt(p, "MinCount"); apiErr != nil {
		return l, apiErr
	}
	if l.maxCount, apiErr = positiveInt(p, "MaxCount"); apiErr != nil {
		return l, apiErr
	}
	if l.minCount > l.maxCount {
		return l, invalidParameter("MinCount %d is greater than MaxCount %d", l.minCount,
			l.maxCount)
	}

	l.imageID = p.get("ImageId")
	if l.imageID == "" {
		return l, missingParameter("ImageId")
	}
	if !imageIDPattern.MatchString(l.imageID) {
		return l, badRequest("InvalidAMIID.Malformed", "Invalid id: \"%s\"", l.imageID)
	}
	if !slices.ContainsFunc(s.cfg.Images, func(img Image) bool { return img.ID == l.imageID }) {
		return l, badRequest("InvalidAMIID.NotFound", "The image id '[%s]' does not exist",
			l.imageID)
	}

	l.instanceType = p.get("InstanceType")
	if l.instanceType == "" {
		l.instanceType = "m1.small"
	}
	if _, ok := s.instanceType(l.instanceType); !ok {
		return l, invalidParameter("Invalid value '%s' for InstanceType.", l.instanceType)
	}

	l.keyName = p.get("KeyName")
	if l.keyName != "" && s.keyPairByName(l.keyName) == nil {
		return l, badRequest("InvalidKeyPair.NotFound", "The key pair '%s' does not exist",
			l.keyName)
	}

	l.zone = p.get("Placement.AvailabilityZone")
	if l.zone == "" {
		l.zone = s.cfg.Zones[0]
	}
	if !slices.Contains(s.cfg.Zones, l.zone) {
		return l, invalidParameter("Invalid availability zone: [%s]", l.zone)
	}

	l.userData = p.get("UserData")
	if _, err := base64.StdEncoding.DecodeString(l.userData); err != nil {
		return l, invalidParameter("Invalid BASE64 encoding of user data.")
	}

	if l.tags, apiErr = p.tagSpecifications("instance"); apiErr != nil {
		return l, apiErr
	}
	if apiErr = validateTags(l.tags, nil); apiErr != nil {
		return l, apiErr
	}
	return l, nil
}

func positiveInt(p params, name string) (int, *apiError) {
	raw := p.get(name)
	if raw == "" {
		return 0, missingParameter(name)
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, invalidParameter("Value (%s) for parameter %s is invalid. Expected a "+
			"positive integer.", raw, name)
	}
	return n, nil
}

func (s *Server) instanceType(name string) (InstanceType, bool) {
	for _, it := range s.cfg.InstanceTypes {
		if it.Name == name {
			return it, true
		}
	}
	return InstanceType{}, false
}

func (s *Server) idLength() int {
	if s.cfg.LongIDs {
		return 17
	}
	return 8
}

func (s *Server) newInstanceID() string {
	for {
		id := "i-" + randomHex(s.idLength())
		if s.instanceByID(id) == nil {
			return id
		}
	}
}

func (s *Server) instanceByID(id string) *Instance {
	for _, inst := range s.st.Instances {
		if inst.ID == id {
			return inst
		}
	}
	return nil
}

// nextPrivateIP hands out 10.0.0.4, 10.0.0.5 and so on, skipping the first four addresses
// of the network as an AWS subnet reserves them.
func (s *Server) nextPrivateIP() string {
	n := uint32(s.st.NextPrivateHost) % (1<<16 - 8)
	s.st.NextPrivateHost++
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], 10<<24|(n+4))
	return netip.AddrFrom4(b).String()
}

// freePublicIP returns the first configured public address that no instance short of
// terminated holds, or "" when all are taken.
func (s *Server) freePublicIP(now time.Time) string {
	used := map[string]bool{}
	for _, inst := range s.st.Instances {
		if state, _ := inst.stateAt(now, s.cfg.Timings); state != StateTerminated {
			used[inst.PublicIP] = true
		}
	}
	for _, addr := range s.cfg.PublicIPs {
		if !used[addr] {
			return addr
		}
	}
	return ""
}

// purgeExpired deletes the instances that DescribeInstances no longer shows.
func (s *Server) purgeExpired(now time.Time) {
	s.st.Instances = slices.DeleteFunc(s.st.Instances, func(inst *Instance) bool {
		_, visible := inst.stateAt(now, s.cfg.Timings)
		return !visible
	})
}

// reservation returns the reservation with every instance of it that is still visible.
func (s *Server) reservation(id string, now time.Time) reservationXML {
	r := reservationXML{ReservationID: id, OwnerID: s.cfg.OwnerID}
	for _, inst := range s.st.Instances {
		if inst.ReservationID != id {
			continue
		}
		if _, visible := inst.stateAt(now, s.cfg.Timings); visible {
			r.Instances = append(r.Instances, s.instanceXML(inst, now))
		}
	}
	return r
}

func (s *Server) instanceXML(inst *Instance, now time.Time) instanceXML {
	state, _ := inst.stateAt(now, s.cfg.Timings)
	x := instanceXML{
		InstanceID:         inst.ID,
		ImageID:            inst.ImageID,
		InstanceState:      instanceStateXML{Code: instanceStateCodes[state], Name: state},
		KeyName:            inst.KeyName,
		AMILaunchIndex:     inst.LaunchIndex,
		InstanceType:       inst.InstanceType,
		LaunchTime:         xmlTime(inst.LaunchTime),
		Placement:          placementXML{AvailabilityZone: inst.Zone, Tenancy: "default"},
		MonitoringState:    "disabled",
		Architecture:       s.imageArchitecture(inst.ImageID),
		RootDeviceType:     "instance-store",
		RootDeviceName:     "/dev/sda1",
		VirtualizationType: "hvm",
		ClientToken:        inst.ClientToken,
		Hypervisor:         "kvm",
	}
	if state != StateTerminated {
		x.PrivateIPAddress = inst.PrivateIP
		x.PrivateDNSName = privateDNSName(inst.PrivateIP)
		x.IPAddress = inst.PublicIP
		if inst.PublicIP != "" {
			x.DNSName = "euca-" + strings.ReplaceAll(inst.PublicIP, ".", "-") + dnsSuffix
		}
	}
	if !inst.TerminateTime.IsZero() {
		x.Reason = "User initiated (" + inst.TerminateTime.Format("2006-01-02 15:04:05 MST") + ")"
		x.StateReason = &stateReasonXML{
			Code:    "Client.UserInitiatedShutdown",
			Message: "Client.UserInitiatedShutdown: User initiated shutdown",
		}
	}
	for _, key := range sortedKeys(inst.Tags) {
		x.Tags = append(x.Tags, tagItem{Key: key, Value: inst.Tags[key]})
	}
	return x
}

// dnsSuffix ends the made-up host names of instances. The .internal top-level domain is
// reserved for private use, so the names resolve nowhere.
const dnsSuffix = ".eucalyptus.internal"

// propagated reports whether the instance is old enough for actions other than its own
// RunInstances to see it.
func (s *Server) propagated(inst *Instance, now time.Time) bool {
	return !now.Before(inst.LaunchTime.Add(s.cfg.PropagationDelay))
}

func privateDNSName(ip string) string {
	return "ip-" + strings.ReplaceAll(ip, ".", "-") + dnsSuffix
}

func (s *Server) imageArchitecture(id string) string {
	for _, img := range s.cfg.Images {
		if img.ID == id {
			return img.Architecture
		}
	}
	return "x86_64"
}

func (s *Server) terminateInstances(p params, now time.Time) (any, *apiError) {
	ids := p.list("InstanceId")
	if len(ids) == 0 {
		return nil, missingParameter("InstanceId")
	}
	instances, apiErr := s.lookupInstances(ids, now)
	if apiErr != nil {
		return nil, apiErr
	}
	resp := &terminateInstancesResponse{}
	for _, inst := range instances {
		previous, _ := inst.stateAt(now, s.cfg.Timings)
		if inst.TerminateTime.IsZero() {
			inst.TerminateTime = now
		}
		current, _ := inst.stateAt(now, s.cfg.Timings)
		resp.Instances = append(resp.Instances, instanceStateChangeXML{
			InstanceID:    inst.ID,
			CurrentState:  instanceStateXML{Code: instanceStateCodes[current], Name: current},
			PreviousState: instanceStateXML{Code: instanceStateCodes[previous], Name: previous},
		})
	}
	return resp, nil
}

// lookupInstances returns the visible instances with the given ids, or the error EC2 gives
// for the first malformed id or for every id that does not exist.
func (s *Server) lookupInstances(ids []string, now time.Time) ([]*Instance, *apiError) {
	var found []*Instance
	var missing []string
	for _, id := range ids {
		if !instanceIDPattern.MatchString(id) {
			return nil, badRequest("InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
		}
		inst := s.instanceByID(id)
		if inst != nil && s.propagated(inst, now) {
			if _, visible := inst.stateAt(now, s.cfg.Timings); visible {
				found = append(found, inst)
				continue
			}
		}
		missing = append(missing, id)
	}
	switch len(missing) {
	case 0:
		return found, nil
	case 1:
		return nil, instanceNotFound(missing[0])
	default:
		return nil, badRequest("InvalidInstanceID.NotFound",
			"The instance IDs '%s' do not exist", strings.Join(missing, ", "))
	}
}
