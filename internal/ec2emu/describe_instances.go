package ec2emu

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DescribeInstances page sizes EC2 accepts.
const (
	minPageSize = 5
	maxPageSize = 1000
)

func (s *Server) describeInstances(p params, now time.Time) (any, *apiError) {
	ids := p.list("InstanceId")
	filters := p.filters()
	for _, f := range filters {
		if apiErr := validateInstanceFilter(f); apiErr != nil {
			return nil, apiErr
		}
	}

	var candidates []*Instance
	if len(ids) > 0 {
		found, apiErr := s.lookupInstances(ids, now)
		if apiErr != nil {
			return nil, apiErr
		}
		candidates = found
	} else {
		for _, inst := range s.st.Instances {
			if _, visible := inst.stateAt(now, s.cfg.Timings); visible && s.propagated(inst, now) {
				candidates = append(candidates, inst)
			}
		}
	}

	var matched []*Instance
	for _, inst := range candidates {
		if s.matchInstance(inst, filters, now) {
			matched = append(matched, inst)
		}
	}

	page, next, apiErr := paginate(p, matched, len(ids) > 0)
	if apiErr != nil {
		return nil, apiErr
	}
	resp := &describeInstancesResponse{NextToken: next}
	// Instances are grouped into their reservations, in launch order.
	index := map[string]int{}
	for _, inst := range page {
		i, ok := index[inst.ReservationID]
		if !ok {
			i = len(resp.Reservations)
			index[inst.ReservationID] = i
			resp.Reservations = append(resp.Reservations, reservationXML{
				ReservationID: inst.ReservationID, OwnerID: s.cfg.OwnerID,
			})
		}
		r := &resp.Reservations[i]
		r.Instances = append(r.Instances, s.instanceXML(inst, now))
	}
	return resp, nil
}

// paginate applies MaxResults and NextToken. The token is the base64 of the offset into the
// matched instances.
func paginate(p params, all []*Instance, byID bool) ([]*Instance, string, *apiError) {
	raw := p.get("MaxResults")
	token := p.get("NextToken")
	if raw == "" && token == "" {
		return all, "", nil
	}
	if byID {
		return nil, "", badRequest("InvalidParameterCombination",
			"The parameter instancesSet cannot be used with the parameter maxResults")
	}

	size := maxPageSize
	if raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < minPageSize || n > maxPageSize {
			return nil, "", invalidParameter("Value ( %s ) for parameter maxResults is "+
				"invalid. Expecting a value between %d and %d.", raw, minPageSize, maxPageSize)
		}
		size = n
	}

	offset := 0
	if token != "" {
		decoded, err := base64.RawURLEncoding.DecodeString(token)
		n, convErr := strconv.Atoi(strings.TrimPrefix(string(decoded), "offset:"))
		if err != nil || convErr != nil || n < 0 {
			return nil, "", invalidParameter("The nextToken '%s' is invalid", token)
		}
		offset = min(n, len(all))
	}

	end := min(offset+size, len(all))
	next := ""
	if end < len(all) {
		next = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return all[offset:end], next, nil
}

var instanceFilterNames = []string{
	"availability-zone", "client-token", "image-id", "instance-id", "instance-state-code",
	"instance-state-name", "instance-type", "ip-address", "key-name", "launch-index",
	"private-ip-address", "reservation-id", "tag-key", "tag-value",
}

func validateInstanceFilter(f filter) *apiError {
	if !strings.HasPrefix(f.Name, "tag:") && !slices.Contains(instanceFilterNames, f.Name) {
		return invalidParameter("The filter '%s' is invalid", f.Name)
	}
	if len(f.Values) == 0 {
		return invalidParameter("The filter '%s' has no values", f.Name)
	}
	return nil
}

// matchInstance reports whether inst passes every filter: filters are ANDed, and the values of
// one filter ORed.
func (s *Server) matchInstance(inst *Instance, filters []filter, now time.Time) bool {
	state, _ := inst.stateAt(now, s.cfg.Timings)
	for _, f := range filters {
		if matched, ok := matchTagFilter(f, inst.Tags); ok {
			if !matched {
				return false
			}
			continue
		}
		var field string
		switch f.Name {
		case "availability-zone":
			field = inst.Zone
		case "client-token":
			field = inst.ClientToken
		case "image-id":
			field = inst.ImageID
		case "instance-id":
			field = inst.ID
		case "instance-state-code":
			field = strconv.Itoa(instanceStateCodes[state])
		case "instance-state-name":
			field = state
		case "instance-type":
			field = inst.InstanceType
		case "ip-address":
			field = inst.PublicIP
		case "key-name":
			field = inst.KeyName
		case "launch-index":
			field = strconv.Itoa(inst.LaunchIndex)
		case "private-ip-address":
			field = inst.PrivateIP
		case "reservation-id":
			field = inst.ReservationID
		}
		if !slices.ContainsFunc(f.Values, func(v string) bool { return matchGlob(v, field) }) {
			return false
		}
	}
	return true
}
