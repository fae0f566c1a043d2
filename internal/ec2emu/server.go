package ec2emu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// xmlns is the XML namespace of EC2 API version 2016-11-15, the one current clients use.
	xmlns = "http://ec2.amazonaws.com/doc/2016-11-15/"
	// maxBodyBytes bounds a request body. EC2 requests are small, and user data is at most
	// 16 KiB before base64.
	maxBodyBytes = 1 << 20
	// adminPrefix is the path under which the emulator's own control endpoints live.
	adminPrefix = "/_emu/"
)

// Server is an EC2 emulator and an [http.Handler]. [Server.Start] serves it on a listener of its
// own. All methods are safe for concurrent use.
type Server struct {
	cfg Config

	mu     sync.Mutex
	st     *state
	clock  Clock
	offset time.Duration // added to clock by Advance
	calls  map[string]int
	faults []*activeFault

	httpServer *http.Server
	listener   net.Listener
	url        string
}

type actionHandler func(s *Server, p params, now time.Time) (any, *apiError)

var actions = map[string]actionHandler{
	"RunInstances":              (*Server).runInstances,
	"DescribeInstances":         (*Server).describeInstances,
	"TerminateInstances":        (*Server).terminateInstances,
	"CreateTags":                (*Server).createTags,
	"GetConsoleOutput":          (*Server).getConsoleOutput,
	"ImportKeyPair":             (*Server).importKeyPair,
	"DescribeKeyPairs":          (*Server).describeKeyPairs,
	"DeleteKeyPair":             (*Server).deleteKeyPair,
	"DescribeImages":            (*Server).describeImages,
	"DescribeInstanceTypes":     (*Server).describeInstanceTypes,
	"DescribeRegions":           (*Server).describeRegions,
	"DescribeAvailabilityZones": (*Server).describeAvailabilityZones,
}

// Actions returns the names of the EC2 actions the emulator serves, sorted.
func Actions() []string {
	names := make([]string, 0, len(actions))
	for name := range actions {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// New returns a server for cfg, with the state loaded from cfg.StateFile when it is set.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	st, err := loadState(cfg.StateFile)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, st: st, clock: cfg.Clock, calls: map[string]int{}}, nil
}

// Start serves the emulator on addr (such as "127.0.0.1:0" for any free port) in the
// background and returns its base URL, such as "http://127.0.0.1:41234".
func (s *Server) Start(addr string) (string, error) {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("ec2emu: unable to listen on %s: %w", addr, err)
	}
	s.mu.Lock()
	s.listener = listener
	s.url = "http://" + listener.Addr().String()
	s.httpServer = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	httpServer := s.httpServer
	s.mu.Unlock()
	go func() {
		err := httpServer.Serve(listener)
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("ec2 emulator stopped serving", "error", err)
		}
	}()
	s.cfg.Logger.Info("ec2 emulator listening", "url", s.url)
	if !isLoopback(listener.Addr()) {
		s.cfg.Logger.Warn("ec2 emulator reachable beyond this host; its /_emu/ control "+
			"endpoints take no signature, so serve it on 127.0.0.1 unless the network is "+
			"trusted", "url", s.url)
	}
	return s.url, nil
}

// isLoopback reports whether addr is a TCP address on the loopback interface only.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// URL returns the base URL Start serves on, or "" before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Close stops serving. Connections in flight are closed.
func (s *Server) Close() {
	s.mu.Lock()
	httpServer := s.httpServer
	s.mu.Unlock()
	if httpServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := httpServer.Shutdown(ctx); err != nil {
			_ = httpServer.Close()
		}
	}
}

// Now returns the emulator's current time: its clock plus whatever Advance added.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time {
	return s.clock.Now().Add(s.offset).UTC()
}

// Advance moves the emulator's time forward by d, on top of its clock, so pending instances
// start and terminated ones finish without waiting.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// SetClock replaces the emulator's clock. Time already added by Advance stays added.
func (s *Server) SetClock(c Clock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = c
}

// Instances returns a snapshot of every instance still visible, with State set for the
// current time, in launch order.
func (s *Server) Instances() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	var out []Instance
	for _, inst := range s.st.Instances {
		state, visible := inst.stateAt(now, s.cfg.Timings)
		if !visible {
			continue
		}
		c := inst.clone()
		c.State = state
		out = append(out, *c)
	}
	return out
}

// Instance returns a snapshot of the instance with the given id, with State set for the current
// time, and whether it is still visible.
func (s *Server) Instance(id string) (Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.instanceByID(id)
	if inst == nil {
		return Instance{}, false
	}
	state, visible := inst.stateAt(s.nowLocked(), s.cfg.Timings)
	if !visible {
		return Instance{}, false
	}
	c := inst.clone()
	c.State = state
	return *c, true
}

// KeyPairs returns a snapshot of the imported key pairs.
func (s *Server) KeyPairs() []KeyPair {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]KeyPair, 0, len(s.st.KeyPairs))
	for _, k := range s.st.KeyPairs {
		out = append(out, *k.clone())
	}
	return out
}

// Calls returns how many authenticated requests named action, including those a fault
// failed.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// CallCounts returns the number of authenticated requests per action.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls sets every call counter back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

// ServeHTTP serves EC2 Query requests at any path, except the control endpoints under /_emu/
// that the package documentation lists.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	requestID := newRequestID()
	p, apiErr := s.authenticate(w, r)
	if apiErr != nil {
		s.cfg.Logger.Info("ec2 request rejected", "request_id", requestID,
			"code", apiErr.Code, "message", apiErr.Message)
		writeError(w, requestID, apiErr)
		return
	}
	s.serveAction(w, r, requestID, p)
}

// authenticate reads the request's parameters and checks its signature.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (params, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, badRequest("InvalidRequest",
			"The request body could not be read or is larger than %d bytes", maxBodyBytes)
	}
	p, apiErr := requestParams(r, body)
	if apiErr != nil {
		return nil, apiErr
	}
	signed := signedRequest{
		method: r.Method, path: r.URL.EscapedPath(), query: r.URL.Query(),
		header: r.Header, host: r.Host, body: body,
	}
	if _, apiErr := s.verifySignature(signed, time.Now()); apiErr != nil {
		return nil, apiErr
	}
	return p, nil
}

// serveAction performs an authenticated request's action, with any fault that hits it.
func (s *Server) serveAction(w http.ResponseWriter, r *http.Request, requestID string,
	p params) {
	action := p.get("Action")
	s.cfg.Logger.Debug("ec2 request", "action", action, "request_id", requestID)
	if action == "" {
		writeError(w, requestID, missingParameter("Action"))
		return
	}
	if p.get("Version") == "" {
		writeError(w, requestID, missingParameter("Version"))
		return
	}
	handler, ok := actions[action]
	if !ok {
		writeError(w, requestID, badRequest("InvalidAction",
			"The action %s is not valid for this web service.", action))
		return
	}

	fault := s.countAndPickFault(action)
	if fault.Latency > 0 {
		select {
		case <-time.After(fault.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if p.get("DryRun") == "true" {
		writeError(w, requestID, newAPIError(http.StatusPreconditionFailed, "DryRunOperation",
			"Request would have succeeded, but DryRun flag is set."))
		return
	}
	if fault.Kind.failsBefore() {
		s.cfg.Logger.Info("ec2 fault injected", "action", action, "fault", fault.Kind)
		writeError(w, requestID, fault.Kind.apiError())
		return
	}

	result, apiErr := s.perform(handler, p)
	if apiErr != nil {
		s.cfg.Logger.Debug("ec2 request failed", "action", action, "request_id", requestID,
			"code", apiErr.Code, "message", apiErr.Message)
		writeError(w, requestID, apiErr)
		return
	}
	switch fault.Kind {
	case FaultLostResponse:
		s.cfg.Logger.Info("ec2 fault injected", "action", action, "fault", fault.Kind)
		writeError(w, requestID, internalError())
		return
	case FaultDropConnection:
		s.cfg.Logger.Info("ec2 fault injected", "action", action, "fault", fault.Kind)
		dropConnection(w)
		return
	}

	out, err := marshalResponse(result, requestID)
	if err != nil {
		s.cfg.Logger.Error("unable to encode ec2 response", "action", action, "error", err)
		writeError(w, requestID, internalError())
		return
	}
	writeResponse(w, requestID, out)
}

// perform runs one action under the lock and saves the state if the action succeeded. When the
// save fails the client gets InternalError although the change stays in memory, the way a
// cloud may apply a call whose response is lost.
func (s *Server) perform(handler actionHandler, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	result, apiErr := handler(s, p, s.nowLocked())
	if apiErr != nil {
		return nil, apiErr
	}
	if s.cfg.StateFile != "" {
		if err := saveState(s.cfg.StateFile, s.st); err != nil {
			s.cfg.Logger.Error("unable to save ec2 emulator state", "error", err)
			return nil, internalError()
		}
	}
	return result, nil
}

// requestParams merges the URL query with a form-encoded body.
func requestParams(r *http.Request, body []byte) (params, *apiError) {
	values := r.URL.Query()
	if len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, badRequest("InvalidRequest",
				"The request body is not application/x-www-form-urlencoded: %v", err)
		}
		for name, v := range form {
			values[name] = append(values[name], v...)
		}
	}
	return params(values), nil
}

// dropConnection closes the client's connection without a response.
func dropConnection(w http.ResponseWriter) {
	hijacker, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hijacker.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func marshalResponse(result any, requestID string) ([]byte, error) {
	if r, ok := result.(interface{ setRequestID(string) }); ok {
		r.setRequestID(requestID)
	}
	return xml.Marshal(result)
}

// responseMeta is embedded in every response body.
type responseMeta struct {
	Namespace string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
}

func (m *responseMeta) setRequestID(id string) {
	m.Namespace = xmlns
	m.RequestID = id
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// randomHex returns n random lowercase hex digits.
func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
