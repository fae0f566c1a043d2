package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// devProcess is `instars dev` running as a separate process, as a developer starts it.
type devProcess struct {
	url     string
	dir     string
	client  string
	env     []string
	welcome string
	// stop interrupts the process and checks that it exits; cleanup calls it too.
	stop func()
}

// builtBinaries holds the server and client built once for all tests of the package.
var builtBinaries struct {
	once           sync.Once
	dir            string
	server, client string
	err            error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinaries.dir != "" {
		os.RemoveAll(builtBinaries.dir)
	}
	os.Exit(code)
}

// buildBinaries builds the server and the client the first time a test calls it.
func buildBinaries(t *testing.T) (server, client string) {
	t.Helper()
	b := &builtBinaries
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "instars-bin-"); b.err != nil {
			return
		}
		b.server, b.client = filepath.Join(b.dir, "instars"), filepath.Join(b.dir, "instars-client")
		for _, target := range [][2]string{{b.server, "."}, {b.client, "../instars-client"}} {
			out, err := exec.Command("go", "build", "-o", target[0], target[1]).CombinedOutput()
			if err != nil {
				b.err = fmt.Errorf("go build %s: %v\n%s", target[1], err, out)
				return
			}
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.server, b.client
}

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startDev starts `instars dev` with a new data folder.
func startDev(t *testing.T, server, client string) *devProcess {
	t.Helper()
	return startDevIn(t, server, client, t.TempDir())
}

// startDevIn starts `instars dev` with its data folder in dir and the extra flags, and waits
// for its welcome text.
func startDevIn(t *testing.T, server, client, dir string, flags ...string) *devProcess {
	t.Helper()
	address := freeAddress(t)
	args := append([]string{"dev", "--data", filepath.Join(dir, "data"), "--listen", address},
		flags...)
	cmd := exec.Command(server, args...)
	cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	ready := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		var text strings.Builder
		for scanner.Scan() {
			text.WriteString(scanner.Text() + "\n")
			if strings.Contains(scanner.Text(), "Press Ctrl-C") {
				ready <- text.String()
			}
		}
		close(ready)
	}()
	stop := sync.OnceFunc(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("instars dev exited with %v after Ctrl-C\n%s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("instars dev did not stop within 30 s of Ctrl-C")
		}
	})
	t.Cleanup(stop)
	var welcome string
	select {
	case text, ok := <-ready:
		welcome = text
		if !ok {
			t.Fatalf("instars dev ended before it was ready:\n%s", stderr.String())
		}
		if !strings.Contains(text, "http://"+address+"/dev") {
			t.Fatalf("welcome text does not name the dev tools URL:\n%s", text)
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("instars dev not ready after 5 minutes:\n%s", stderr.String())
	}
	return &devProcess{url: "http://" + address, dir: dir, client: client, welcome: welcome,
		stop: stop, env: append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
			"INSTARS_SERVER=http://"+address)}
}

// runClient runs instars-client and returns its output. With wantOK the command must
// succeed, otherwise it must fail.
func (d *devProcess) runClient(t *testing.T, wantOK bool, args ...string) string {
	t.Helper()
	cmd := exec.Command(d.client, args...)
	cmd.Env = d.env
	cmd.Dir = d.dir
	out, err := cmd.CombinedOutput()
	if wantOK && err != nil {
		t.Fatalf("instars-client %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if !wantOK && err == nil {
		t.Fatalf("instars-client %s succeeded, want a failure\n%s", strings.Join(args, " "),
			out)
	}
	return string(out)
}

func (d *devProcess) post(t *testing.T, path string) {
	t.Helper()
	resp, err := http.Post(d.url+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		t.Fatalf("POST %s: %s %s", path, resp.Status, body.String())
	}
}

func (d *devProcess) getJSON(t *testing.T, path string, out any) {
	t.Helper()
	resp, err := http.Get(d.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// emulatorInstances returns the instances the emulator holds for a lease.
func (d *devProcess) emulatorInstances(t *testing.T, leaseID string) []devInstance {
	t.Helper()
	var info devInfo
	d.getJSON(t, "/api/v1/dev/status", &info)
	var out []devInstance
	for _, i := range info.Instances {
		if i.Lease == leaseID {
			out = append(out, i)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	invoicePattern = regexp.MustCompile(`(?m)^Invoice\s+(inv_\w+)`)
	leasePattern   = regexp.MustCompile(`credentials (lease-\w+)`)
)

func TestDevModeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a regtest node, the emulator and the server")
	}
	server, client := buildBinaries(t)
	dev := startDev(t, server, client)

	out := dev.runClient(t, true, "plans")
	if !strings.Contains(out, "small-hour") {
		t.Fatalf("plans does not list small-hour:\n%s", out)
	}
	dev.runClient(t, true, "keygen", "--out", "customer.asc")
	sshKey := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e"
	if err := os.WriteFile(filepath.Join(dev.dir, "id.pub"), []byte(sshKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dev.runClient(t, false, "order", "--plan", "small-hour", "--ssh-key", "id.pub")

	out = dev.runClient(t, false, "--key", "customer.asc", "order", "--plan", "small-hour",
		"--units", "721", "--ssh-key", "id.pub")
	if !strings.Contains(out, "units") || !strings.Contains(out, "720") {
		t.Errorf("ordering too many units does not name the allowed range:\n%s", out)
	}

	// Two hours of small-hour at 25 000 sat an hour.
	out = dev.runClient(t, true, "--key", "customer.asc", "order", "--plan", "small-hour",
		"--units", "2", "--ssh-key", "id.pub")
	match := invoicePattern.FindStringSubmatch(out)
	if match == nil {
		t.Fatalf("order printed no invoice ID:\n%s", out)
	}
	invoiceID := match[1]
	if !strings.Contains(out, "bitcoin:bcrt1") {
		t.Errorf("order printed no BIP21 URI:\n%s", out)
	}
	var ordered invoiceJSON
	dev.getJSON(t, "/api/v1/invoices/"+invoiceID, &ordered)
	if ordered.AmountSat != 50_000 {
		t.Errorf("two units cost %d sat, want 50000", ordered.AmountSat)
	}

	// Pay, then confirm: the dev policy requires two confirmations.
	dev.post(t, "/api/v1/dev/invoices/"+invoiceID+"/pay")
	waitFor(t, "the payment in the mempool", 30*time.Second, func() bool {
		var inv invoiceJSON
		dev.getJSON(t, "/api/v1/invoices/"+invoiceID, &inv)
		return inv.State == "Processing"
	})
	if n := len(dev.emulatorInstances(t, "")); n != 0 {
		t.Errorf("emulator has %d unleased instances", n)
	}
	dev.post(t, "/api/v1/dev/mine?blocks=2")
	out = dev.runClient(t, true, "--key", "customer.asc", "follow", "--timeout", "2m", invoiceID)
	match = leasePattern.FindStringSubmatch(out)
	if match == nil {
		t.Fatalf("follow did not end with a running instance:\n%s", out)
	}
	leaseID := match[1]
	instances := dev.emulatorInstances(t, leaseID)
	if len(instances) != 1 || instances[0].State != "running" {
		t.Fatalf("emulator instances of %s = %+v, want one running", leaseID, instances)
	}

	out = dev.runClient(t, true, "--key", "customer.asc", "credentials", leaseID)
	if !strings.Contains(out, instances[0].ID) || !strings.Contains(out, instances[0].PublicIP) {
		t.Errorf("credentials do not name instance %s at %s:\n%s", instances[0].ID,
			instances[0].PublicIP, out)
	}
	if !strings.Contains(out, "SHA256:") {
		t.Errorf("credentials carry no host key fingerprint:\n%s", out)
	}
	// Another customer's key cannot open them.
	dev.runClient(t, true, "keygen", "--out", "other.asc")
	out = dev.runClient(t, false, "--key", "other.asc", "credentials", leaseID)
	if !strings.Contains(out, "use the key that made the order") {
		t.Errorf("wrong key error does not say which key to use:\n%s", out)
	}

	checkWebhooks(t, dev)
	var lease leaseJSON
	dev.getJSON(t, "/api/v1/leases/"+leaseID, &lease)
	if lease.StartedAt == nil || lease.EndsAt == nil ||
		lease.EndsAt.Sub(*lease.StartedAt) != 2*time.Hour {
		t.Fatalf("lease of two units runs from %v to %v, want two hours", lease.StartedAt,
			lease.EndsAt)
	}
	ends := *lease.EndsAt
	extendLease(t, dev, leaseID, 3, 75_000)
	dev.getJSON(t, "/api/v1/leases/"+leaseID, &lease)
	if lease.EndsAt == nil || lease.EndsAt.Sub(ends) != 3*time.Hour {
		t.Errorf("extending by three units moved the end from %v to %v, want three hours",
			ends, lease.EndsAt)
	}

	// Past the five paid hours and the ten-minute grace, the instance must be terminated.
	dev.post(t, "/api/v1/dev/advance?by=315m")
	waitFor(t, "the instance's termination", time.Minute, func() bool {
		instances := dev.emulatorInstances(t, leaseID)
		return len(instances) == 1 && (instances[0].State == "terminated" ||
			instances[0].State == "shutting-down")
	})
	waitFor(t, "the lease's end", time.Minute, func() bool {
		dev.getJSON(t, "/api/v1/leases/"+leaseID, &lease)
		return lease.Status == "ended"
	})
	if lease.State != "terminated" {
		t.Errorf("lease metering state = %q, want terminated", lease.State)
	}
	// An ended lease cannot be extended.
	out = dev.runClient(t, false, "--key", "customer.asc", "extend", leaseID)
	if !strings.Contains(out, "cannot be extended") {
		t.Errorf("extending an ended lease: %s", out)
	}
	fmt.Fprintln(os.Stderr, "end-to-end flow passed for", invoiceID, leaseID)
}

// extendLease extends a running lease by units with the client, which sends no SSH key, and
// pays and confirms the invoice, which must cost amountSat. The settlement applies the
// extension in the same transaction.
func extendLease(t *testing.T, dev *devProcess, leaseID string, units, amountSat int64) {
	t.Helper()
	out := dev.runClient(t, true, "--key", "customer.asc", "extend", leaseID, "--units",
		fmt.Sprint(units))
	match := invoicePattern.FindStringSubmatch(out)
	if match == nil {
		t.Fatalf("extend printed no invoice ID:\n%s", out)
	}
	var inv invoiceJSON
	dev.getJSON(t, "/api/v1/invoices/"+match[1], &inv)
	if inv.AmountSat != amountSat {
		t.Errorf("extending by %d units costs %d sat, want %d", units, inv.AmountSat,
			amountSat)
	}
	dev.post(t, "/api/v1/dev/invoices/"+inv.ID+"/pay")
	waitFor(t, "the extension payment in the mempool", 30*time.Second, func() bool {
		dev.getJSON(t, "/api/v1/invoices/"+inv.ID, &inv)
		return inv.State == "Processing"
	})
	dev.post(t, "/api/v1/dev/mine?blocks=2")
	waitFor(t, "the extension's settlement", time.Minute, func() bool {
		dev.getJSON(t, "/api/v1/invoices/"+inv.ID, &inv)
		return inv.State == "Settled"
	})
}

func TestClientReportsUnreachableServer(t *testing.T) {
	_, client := buildBinaries(t)
	cmd := exec.Command(client, "--server", "http://"+freeAddress(t), "plans")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("plans against a closed port succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "cannot reach the server") {
		t.Errorf("error does not say the server is unreachable:\n%s", out)
	}
}

// orderAndRun orders the small-hour plan with the client, pays and confirms it from the dev
// endpoints and returns the invoice and the lease once the instance runs.
func orderAndRun(t *testing.T, dev *devProcess) (invoiceID, leaseID string) {
	t.Helper()
	out := dev.runClient(t, true, "--key", "customer.asc", "order", "--plan", "small-hour",
		"--ssh-key", "id.pub")
	match := invoicePattern.FindStringSubmatch(out)
	if match == nil {
		t.Fatalf("order printed no invoice ID:\n%s", out)
	}
	invoiceID = match[1]
	dev.post(t, "/api/v1/dev/invoices/"+invoiceID+"/pay")
	waitFor(t, "the payment in the mempool", 30*time.Second, func() bool {
		var inv invoiceJSON
		dev.getJSON(t, "/api/v1/invoices/"+invoiceID, &inv)
		return inv.State == "Processing"
	})
	dev.post(t, "/api/v1/dev/mine?blocks=2")
	out = dev.runClient(t, true, "--key", "customer.asc", "follow", "--timeout", "2m", invoiceID)
	match = leasePattern.FindStringSubmatch(out)
	if match == nil {
		t.Fatalf("follow did not end with a running instance:\n%s", out)
	}
	return invoiceID, match[1]
}

func TestDevModeRestartKeepsData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a regtest node, the emulator and the server twice")
	}
	server, client := buildBinaries(t)
	dir := t.TempDir()
	first := startDevIn(t, server, client, dir)
	if strings.Contains(first.welcome, "reused") {
		t.Errorf("a new data folder is called reused:\n%s", first.welcome)
	}
	first.runClient(t, true, "keygen", "--out", "customer.asc")
	sshKey := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e"
	if err := os.WriteFile(filepath.Join(dir, "id.pub"), []byte(sshKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	invoiceID, leaseID := orderAndRun(t, first)
	first.post(t, "/api/v1/dev/advance?by=10m")
	first.stop()

	second := startDevIn(t, server, client, dir)
	if !strings.Contains(second.welcome, "data folder was reused") {
		t.Errorf("the second start does not say it reused the data folder:\n%s", second.welcome)
	}
	var inv invoiceJSON
	second.getJSON(t, "/api/v1/invoices/"+invoiceID, &inv)
	if inv.State != "Settled" || inv.Lease == nil || inv.Lease.ID != leaseID {
		t.Fatalf("after the restart the invoice is %s with lease %+v", inv.State, inv.Lease)
	}
	var info devInfo
	second.getJSON(t, "/api/v1/dev/status", &info)
	if info.Offset != "10m0s" {
		t.Errorf("clock offset after the restart = %q, want 10m0s", info.Offset)
	}
	instances := second.emulatorInstances(t, leaseID)
	if len(instances) != 1 || instances[0].State != "running" {
		t.Fatalf("after the restart the emulator has %+v for %s, want one running",
			instances, leaseID)
	}
	// The server key is kept in the data folder, so the credentials still open.
	out := second.runClient(t, true, "--key", "customer.asc", "credentials", leaseID)
	if !strings.Contains(out, instances[0].ID) {
		t.Errorf("credentials after the restart do not name %s:\n%s", instances[0].ID, out)
	}
	// The new chain pays a new order, and the old lease still ends on time.
	_, newLease := orderAndRun(t, second)
	if newLease == leaseID {
		t.Fatal("the second order reused the first lease")
	}
	second.post(t, "/api/v1/dev/advance?by=65m")
	waitFor(t, "the first instance's termination", time.Minute, func() bool {
		instances := second.emulatorInstances(t, leaseID)
		return len(instances) == 1 && instances[0].State != "running"
	})
}

// checkWebhooks checks that the dev receiver got the signed events of the flow, and that an
// operator's redelivery sends one again under the same event ID.
func checkWebhooks(t *testing.T, dev *devProcess) {
	t.Helper()
	received := func() []receivedWebhook {
		var info devInfo
		dev.getJSON(t, "/api/v1/dev/status", &info)
		return info.Webhooks
	}
	var settled string
	waitFor(t, "the invoice.settled and lease.started webhooks", 30*time.Second, func() bool {
		kinds := map[string]bool{}
		for _, ev := range received() {
			kinds[ev.Type] = true
			if ev.Type == "invoice.settled" {
				settled = ev.ID
			}
		}
		return kinds["invoice.settled"] && kinds["lease.started"] && kinds["invoice.created"]
	})
	password, err := readSecretFile(filepath.Join(dev.dir, "data", devAdminFile))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, dev.url+"/api/v1/admin/webhooks/"+settled+
		"/redeliver?endpoint=dev-receiver", nil)
	req.SetBasicAuth("admin", password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("redeliver: %s", resp.Status)
	}
	waitFor(t, "the redelivered event", 30*time.Second, func() bool {
		count := 0
		for _, ev := range received() {
			if ev.ID == settled {
				count++
			}
		}
		return count == 2
	})
}
