package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/instars/instars/internal/ec2emu"
	"github.com/instars/instars/metering"
	"github.com/instars/instars/pgp"
)

// The crash test runs the service in a child process (this test binary, re-executed with
// crashChildVariable set) on a SQLite file, with the EC2 emulator, the payment ledger, the
// clock and a webhook receiver in the parent, so that all of them outlive a kill. The child
// is killed with SIGKILL at one crash point, restarted, and the flow is driven to its end.
const crashChildVariable = "INSTARS_CRASH_CHILD_DIR"

// fileClock reads the time from a file the parent writes, so that a fake time survives the
// child's restarts.
type fileClock struct {
	path string
	mu   sync.Mutex
	last time.Time
}

func (c *fileClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, err := os.ReadFile(c.path)
	if err == nil {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(data))); err == nil {
			c.last = t
		}
	}
	return c.last
}

func writeClock(t testing.TB, dir string, now time.Time) {
	t.Helper()
	tmp := filepath.Join(dir, "clock.tmp")
	if err := os.WriteFile(tmp, []byte(now.Format(time.RFC3339Nano)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "clock.txt")); err != nil {
		t.Fatal(err)
	}
}

// crashChildConfig is what the parent passes to the child in dir/config.json.
type crashChildConfig struct {
	ChainURL      string `json:"chain_url"`
	EmulatorURL   string `json:"emulator_url"`
	WebhookURL    string `json:"webhook_url"`
	WebhookSecret string `json:"webhook_secret"`
	CustomerKey   string `json:"customer_key"`
}

// TestCrashChild is the service process of TestServiceSurvivesCrashes; it does nothing when
// run on its own.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildVariable)
	if dir == "" {
		t.Skip("runs only as the child of TestServiceSurvivesCrashes")
	}
	ctx := context.Background()
	var cc crashChildConfig
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cc); err != nil {
		t.Fatal(err)
	}
	customer, err := pgp.ParsePrivateKey([]byte(cc.CustomerKey), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenSQLite(ctx, filepath.Join(dir, "billing.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	server := svcServerKey(t, dir)
	clock := &fileClock{path: filepath.Join(dir, "clock.txt")}
	svc, err := NewService(ctx, Config{
		Store: store,
		Gateway: &svcGateway{url: cc.ChainURL, client: &http.Client{Timeout: 5 * time.Second},
			interval: 20 * time.Millisecond},
		Provisioner: EucalyptusProvisioner{Driver: svcDriver(t, cc.EmulatorURL)},
		ServerKey:   server, Network: &chaincfg.RegressionNetParams,
		Plans: []metering.Plan{svcPlan()}, Clock: clock,
		Webhooks: []WebhookEndpoint{{Name: "receiver", URL: cc.WebhookURL,
			Secret: []byte(cc.WebhookSecret), Timeout: time.Second,
			RetrySchedule: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond,
				200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}}},
		CloudRetryBase: 20 * time.Millisecond, JobPollInterval: 20 * time.Millisecond,
		JobRescueAfter: time.Second, SweepInterval: 200 * time.Millisecond,
		ProvisionTimeout: 5 * time.Second, JobTimeout: 3 * time.Second,
		Logger: svcTestLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /order", func(w http.ResponseWriter, r *http.Request) {
		sealed := svcCustomer{key: customer, sshKey: svcSSHKey(t)}.order(t,
			server.PublicKey(), svcPlan().ID, "", refundAddrA, clock.Now())
		inv, err := svc.SubmitOrder(r.Context(), sealed, customer.PublicKey())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(inv)
	})
	mux.HandleFunc("POST /tick", func(w http.ResponseWriter, r *http.Request) {
		if err := svc.Tick(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		st, err := readCrashState(r.Context(), svc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(st)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "control.tmp")
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "control.addr")); err != nil {
		t.Fatal(err)
	}
	// Serve until the parent kills the process.
	_ = http.Serve(ln, mux)
}

// crashState is the child's state as the parent checks it.
type crashState struct {
	Invoices []*Invoice `json:"invoices"`
	Leases   []*Lease   `json:"leases"`
	Refunds  []Refund   `json:"refunds"`
	Events   []Event    `json:"events"`
}

func readCrashState(ctx context.Context, svc *Service) (crashState, error) {
	var st crashState
	var err error
	if st.Invoices, err = svc.ListInvoices(ctx, ""); err != nil {
		return st, err
	}
	if st.Leases, err = svc.ListLeases(ctx, ""); err != nil {
		return st, err
	}
	if st.Refunds, err = svc.Refunds(ctx, "", ""); err != nil {
		return st, err
	}
	st.Events, err = svc.ListEvents(ctx, "", 0)
	return st, err
}

// crashHarness runs one child at a time and restarts it when it dies.
type crashHarness struct {
	t       *testing.T
	dir     string
	point   string
	cmd     *exec.Cmd
	exited  chan struct{}
	addr    string
	killed  bool // the child died of SIGKILL at the crash point
	restart int
	now     time.Time
}

func (h *crashHarness) start(crashAt string) {
	t := h.t
	_ = os.Remove(filepath.Join(h.dir, "control.addr"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), crashChildVariable+"="+h.dir, CrashEnvVariable+"="+crashAt)
	logFile, err := os.OpenFile(filepath.Join(h.dir, "child.log"),
		os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(exited)
	}()
	h.cmd, h.exited = cmd, exited
	svcWaitFor(t, 60*time.Second, "the child to listen", func() bool {
		data, err := os.ReadFile(filepath.Join(h.dir, "control.addr"))
		if err == nil {
			h.addr = string(data)
			return true
		}
		select {
		case <-exited:
			t.Fatalf("child exited while starting; see %s", filepath.Join(h.dir, "child.log"))
		default:
		}
		return false
	})
}

// alive restarts the child without a crash point if it died, and reports whether it had.
func (h *crashHarness) alive() bool {
	select {
	case <-h.exited:
	default:
		return false
	}
	status, _ := h.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !status.Signaled() || status.Signal() != syscall.SIGKILL {
		h.t.Fatalf("child exited with %v, not killed at %s; see %s", h.cmd.ProcessState,
			h.point, filepath.Join(h.dir, "child.log"))
	}
	h.killed = true
	h.restart++
	if h.restart > 3 {
		h.t.Fatalf("child died %d times", h.restart)
	}
	h.start("")
	return true
}

func (h *crashHarness) stop() {
	if h.cmd != nil && h.cmd.Process != nil {
		_ = h.cmd.Process.Kill()
		<-h.exited
	}
}

// call sends a request to the child, restarting it and retrying when it died.
func (h *crashHarness) call(method, path string) ([]byte, error) {
	for {
		req, _ := http.NewRequest(method, "http://"+h.addr+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var body []byte
			body, err = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err == nil {
				if resp.StatusCode != http.StatusOK {
					return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, body)
				}
				return body, nil
			}
			// The child was killed while it sent the reply: restart it as below.
		}
		// Wait for the exit to be reaped, then restart.
		select {
		case <-h.exited:
		case <-time.After(2 * time.Second):
			return nil, err
		}
		h.alive()
		return nil, errChildRestarted
	}
}

var errChildRestarted = errors.New("child was killed and restarted")

func (h *crashHarness) state() crashState {
	for {
		body, err := h.call(http.MethodGet, "/state")
		if errors.Is(err, errChildRestarted) {
			continue
		}
		if err != nil {
			h.t.Fatal(err)
		}
		var st crashState
		if err := json.Unmarshal(body, &st); err != nil {
			h.t.Fatal(err)
		}
		return st
	}
}

// until polls the child's state until cond holds, restarting the child when it dies.
func (h *crashHarness) until(what string, cond func(crashState) bool) crashState {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		h.alive()
		st := h.state()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("crash point %s: timed out waiting for %s; state %s; see %s", h.point,
				what, summarize(st), filepath.Join(h.dir, "child.log"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// order submits an order; after a crash it takes the invoice the restarted child has, if
// the order was committed before the crash.
func (h *crashHarness) order(known int) *Invoice {
	body, err := h.call(http.MethodPost, "/order")
	if err == nil {
		var inv Invoice
		if err := json.Unmarshal(body, &inv); err != nil {
			h.t.Fatal(err)
		}
		return &inv
	}
	if !errors.Is(err, errChildRestarted) {
		h.t.Fatal(err)
	}
	st := h.state()
	if len(st.Invoices) > known {
		return st.Invoices[known]
	}
	return h.order(known)
}

func (h *crashHarness) advance(d time.Duration) {
	h.now = h.now.Add(d)
	writeClock(h.t, h.dir, h.now)
	for {
		if _, err := h.call(http.MethodPost, "/tick"); !errors.Is(err, errChildRestarted) {
			if err != nil {
				h.t.Fatal(err)
			}
			return
		}
	}
}

func summarize(st crashState) string {
	var b strings.Builder
	for _, inv := range st.Invoices {
		fmt.Fprintf(&b, "[invoice %s %s] ", inv.ID, inv.State)
	}
	for _, l := range st.Leases {
		fmt.Fprintf(&b, "[lease %s %s %s terminated=%v] ", l.ID, l.Status, l.State,
			!l.InstanceTerminatedAt.IsZero())
	}
	fmt.Fprintf(&b, "%d events", len(st.Events))
	return b.String()
}

// webhookLog records the event IDs a receiver accepted.
type webhookLog struct {
	mu  sync.Mutex
	ids map[string]int
	bad int
}

func (l *webhookLog) handler(secret []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		defer l.mu.Unlock()
		if VerifyWebhookSignature(secret, body, r.Header.Get(WebhookSignatureHeader)) != nil {
			l.bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		l.ids[r.Header.Get(WebhookEventIDHeader)]++
	})
}

func (l *webhookLog) has(ids []string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if l.ids[id] == 0 {
			return false
		}
	}
	return true
}

func TestServiceSurvivesCrashes(t *testing.T) {
	if os.Getenv(crashChildVariable) != "" {
		t.Skip("running as a child")
	}
	if testing.Short() {
		t.Skip("kills and restarts the service at every crash point; skipped in -short")
	}
	customer := newSvcCustomer(t)
	armored, err := customer.key.Armored(nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	tried := map[string]bool{}
	for _, point := range crashPointsToTry() {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			runCrashScenario(t, point, string(armored))
			mu.Lock()
			tried[point] = true
			mu.Unlock()
		})
	}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("INSTARS_CRASH_POINTS") != "" {
			return
		}
		for _, p := range crashPoints {
			if !tried[p] {
				t.Errorf("crash point %s was not tried", p)
			}
		}
		if len(tried) != len(crashPoints) {
			t.Errorf("tried %d crash points, want %d", len(tried), len(crashPoints))
		}
	})
}

func runCrashScenario(t *testing.T, point, customerKey string) {
	// The folder (with the child's log and database) is kept when the test fails.
	dir, err := os.MkdirTemp("", "instars-crash-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		}
	})
	chain := newSvcChain()
	chainSrv := httptest.NewServer(chain)
	t.Cleanup(chainSrv.Close)
	emu, _ := svcCloud(t, "")
	hooks := &webhookLog{ids: map[string]int{}}
	secret := []byte("crash-test-webhook-secret-0123456789")
	hookSrv := httptest.NewServer(hooks.handler(secret))
	t.Cleanup(hookSrv.Close)
	cfg, _ := json.Marshal(crashChildConfig{ChainURL: chainSrv.URL, EmulatorURL: emu.URL(),
		WebhookURL: hookSrv.URL, WebhookSecret: string(secret), CustomerKey: customerKey})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	h := &crashHarness{t: t, dir: dir, point: point, now: time.Now().UTC().Truncate(time.Second)}
	writeClock(t, dir, h.now)
	h.start(point)
	t.Cleanup(h.stop)

	paid := h.order(0)
	unpaid := h.order(1)
	h.until("the paid invoice to be watched", func(crashState) bool {
		return chain.isWatched(paid.Destination)
	})
	chain.pay(paid.Destination, paid.Amount, 1)
	st := h.until("the lease to run", func(st crashState) bool {
		return len(st.Leases) == 1 && st.Leases[0].Status == LeaseRunning
	})
	lease := st.Leases[0]
	h.advance(31 * time.Minute)
	h.until("the reminder", func(st crashState) bool {
		return slices.ContainsFunc(st.Events, func(ev Event) bool {
			return ev.Kind == EventLeaseReminder
		})
	})
	h.advance(40 * time.Minute)
	st = h.until("the instance to be terminated and the unpaid invoice to expire",
		func(st crashState) bool {
			expired := slices.ContainsFunc(st.Invoices, func(inv *Invoice) bool {
				return inv.ID == unpaid.ID && inv.State == StateExpired
			})
			return expired && len(st.Leases) == 1 &&
				!st.Leases[0].InstanceTerminatedAt.IsZero()
		})
	var eventIDs []string
	for _, ev := range st.Events {
		eventIDs = append(eventIDs, ev.ID)
	}
	h.until("every event to reach the webhook receiver", func(crashState) bool {
		return hooks.has(eventIDs)
	})

	if !h.killed {
		t.Errorf("the child was never killed at %s", point)
	}
	if len(st.Leases) != 1 {
		t.Fatalf("%d leases, want exactly 1 for the one paid invoice", len(st.Leases))
	}
	var launched []ec2emu.Instance
	for _, in := range emu.Instances() {
		if in.KeyName == "instars-"+lease.ID {
			launched = append(launched, in)
		}
		if in.State != ec2emu.StateTerminated && in.State != "shutting-down" {
			t.Errorf("instance %s is still %s after its lease ended", in.ID, in.State)
		}
	}
	if len(launched) != 1 {
		t.Errorf("%d instances launched for lease %s, want exactly 1", len(launched), lease.ID)
	}
	if len(emu.KeyPairs()) != 0 {
		t.Errorf("key pairs left: %v", emu.KeyPairs())
	}
	for _, inv := range st.Invoices {
		switch inv.ID {
		case paid.ID:
			if inv.State != StateSettled || inv.Paid != paid.Amount {
				t.Errorf("paid invoice is %s with %d sat, want Settled with %d", inv.State,
					inv.Paid, paid.Amount)
			}
		case unpaid.ID:
			if inv.State != StateExpired {
				t.Errorf("unpaid invoice is %s, want Expired", inv.State)
			}
		default:
			t.Errorf("unexpected invoice %s: an order was submitted twice", inv.ID)
		}
	}
	if len(st.Invoices) != 2 {
		t.Errorf("%d invoices, want 2", len(st.Invoices))
	}
	if len(st.Refunds) != 0 {
		t.Errorf("refunds %+v, want none", st.Refunds)
	}
	if hooks.bad != 0 {
		t.Errorf("webhook receiver rejected %d signatures", hooks.bad)
	}
	kinds := map[EventKind]int{}
	for _, ev := range st.Events {
		kinds[ev.Kind]++
	}
	for _, k := range []EventKind{EventInvoiceSettled, EventInstanceLaunched, EventLeaseStarted,
		EventLeaseEnded, EventInstanceTerminated} {
		if kinds[k] != 1 {
			t.Errorf("%d %s events, want 1", kinds[k], k)
		}
	}
}

// crashPointsToTry returns the crash points named in INSTARS_CRASH_POINTS (comma-separated),
// to rerun a few while debugging, or all of them.
func crashPointsToTry() []string {
	if only := os.Getenv("INSTARS_CRASH_POINTS"); only != "" {
		return strings.Split(only, ",")
	}
	return crashPoints
}
