package ec2emu

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultKind is the effect an injected fault has on a call.
type FaultKind string

// The fault kinds. The error kinds fail the call before the action takes effect. The lost kinds
// perform the action and then lose the response, as a timeout or a crash between the cloud's
// commit and its reply does.
const (
	// FaultNone only adds the fault's Latency.
	FaultNone FaultKind = "latency"
	// FaultInternalError returns HTTP 500 InternalError.
	FaultInternalError FaultKind = "internal-error"
	// FaultUnavailable returns HTTP 503 Unavailable.
	FaultUnavailable FaultKind = "unavailable"
	// FaultThrottle returns HTTP 503 RequestLimitExceeded.
	FaultThrottle FaultKind = "throttle"
	// FaultLostResponse performs the action and returns HTTP 500 InternalError.
	FaultLostResponse FaultKind = "lost-response"
	// FaultDropConnection performs the action and closes the connection without answering.
	FaultDropConnection FaultKind = "drop-connection"
)

var faultKinds = []FaultKind{
	FaultNone, FaultInternalError, FaultUnavailable, FaultThrottle, FaultLostResponse,
	FaultDropConnection,
}

func (k FaultKind) failsBefore() bool {
	return k == FaultInternalError || k == FaultUnavailable || k == FaultThrottle
}

func (k FaultKind) apiError() *apiError {
	switch k {
	case FaultUnavailable:
		return newAPIError(http.StatusServiceUnavailable, "Unavailable",
			"The service is unavailable. Please try again shortly.")
	case FaultThrottle:
		return newAPIError(http.StatusServiceUnavailable, "RequestLimitExceeded",
			"Request limit exceeded.")
	default:
		return internalError()
	}
}

// Fault describes calls to fail or slow down.
type Fault struct {
	// Action is the EC2 action the fault applies to, such as "RunInstances"; empty means
	// every action.
	Action string `json:"action,omitempty"`
	// Kind is the effect on a matching call.
	Kind FaultKind `json:"kind"`
	// Latency is added before a matching call is answered, whatever its Kind.
	Latency time.Duration `json:"latency,omitempty"`
	// Count is how many matching calls the fault hits before it is spent. Zero means no limit,
	// which needs Probability to be set.
	Count int `json:"count,omitempty"`
	// Probability, when above zero, is the chance that a matching call is hit; calls it
	// spares do not use up Count. Zero means every matching call.
	Probability float64 `json:"probability,omitempty"`
	// Seed seeds the random choices made for Probability, so a run can be repeated.
	Seed uint64 `json:"seed,omitempty"`
}

type activeFault struct {
	Fault
	remaining int
	random    *rand.Rand
}

// validate returns an error naming the first invalid field.
func (f Fault) validate() error {
	known := false
	for _, k := range faultKinds {
		known = known || f.Kind == k
	}
	if !known {
		return fmt.Errorf("ec2emu: fault kind %q is unknown; expected one of %v", f.Kind,
			faultKinds)
	}
	if f.Action != "" {
		if _, ok := actions[f.Action]; !ok {
			return fmt.Errorf("ec2emu: fault action %q is not served; expected one of %v",
				f.Action, Actions())
		}
	}
	if f.Count < 0 {
		return fmt.Errorf("ec2emu: fault count %d is negative", f.Count)
	}
	if f.Probability < 0 || f.Probability > 1 {
		return fmt.Errorf("ec2emu: fault probability %v is outside [0, 1]", f.Probability)
	}
	if f.Count == 0 && f.Probability == 0 {
		return fmt.Errorf("ec2emu: fault needs a count, a probability or both")
	}
	if f.Latency < 0 {
		return fmt.Errorf("ec2emu: fault latency %v is negative", f.Latency)
	}
	return nil
}

// InjectFault adds a fault. Faults are checked in the order they were added, and the first one
// that hits a call applies to it.
func (s *Server) InjectFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &activeFault{
		Fault:     f,
		remaining: f.Count,
		random:    rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15)),
	})
	return nil
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// PendingFaults returns the faults not yet spent, with Count set to the calls each still hits.
func (s *Server) PendingFaults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		c := f.Fault
		c.Count = f.remaining
		out = append(out, c)
	}
	return out
}

// countAndPickFault counts a call to action and returns the fault that hits it, if any, with
// Kind empty when none does.
func (s *Server) countAndPickFault(action string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[action]++
	for i, f := range s.faults {
		if f.Action != "" && f.Action != action {
			continue
		}
		if f.Probability > 0 && f.random.Float64() >= f.Probability {
			continue
		}
		if f.Count > 0 {
			f.remaining--
			if f.remaining == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f.Fault
	}
	return Fault{}
}

// ParseFault parses the command line form of a fault:
// KIND[,action=ACTION][,count=N][,p=PROBABILITY][,seed=N][,latency=DURATION], for example
// "throttle,action=RunInstances,count=2" or "latency,latency=500ms,p=0.5,seed=7".
func ParseFault(spec string) (Fault, error) {
	parts := strings.Split(spec, ",")
	f := Fault{Kind: FaultKind(parts[0])}
	for _, part := range parts[1:] {
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return f, fmt.Errorf("ec2emu: fault option %q is not NAME=VALUE", part)
		}
		var err error
		switch name {
		case "action":
			f.Action = value
		case "count":
			f.Count, err = strconv.Atoi(value)
		case "p":
			f.Probability, err = strconv.ParseFloat(value, 64)
		case "seed":
			f.Seed, err = strconv.ParseUint(value, 10, 64)
		case "latency":
			f.Latency, err = time.ParseDuration(value)
		default:
			return f, fmt.Errorf("ec2emu: fault option %q is unknown; expected action, count, "+
				"p, seed or latency", name)
		}
		if err != nil {
			return f, fmt.Errorf("ec2emu: fault option %s=%q is invalid: %w", name, value, err)
		}
	}
	return f, f.validate()
}
