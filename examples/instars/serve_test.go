package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/jackc/pgx/v5"

	"github.com/instars/instars/internal/ec2emu"
	"github.com/instars/instars/internal/regtest"
	"github.com/instars/instars/internal/testenv"
)

// freshPostgresDatabase creates an empty database on the test server and drops it at the end,
// so that the service's and River's tables start empty.
func freshPostgresDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testenv.PostgresDSN())
	if err != nil {
		testenv.Missing(t, "PostgreSQL at "+testenv.PostgresDSN()+" is not reachable ("+
			err.Error()+"): start it as .ci/run does or set INSTARS_TEST_POSTGRES")
		return ""
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "instars_serve_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
		if err != nil {
			t.Logf("dropping database %s: %v", name, err)
		}
		_ = admin.Close(ctx)
	})
	u, err := url.Parse(testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// serveProcess is `instars serve` running as its own process.
type serveProcess struct {
	url string
}

func startServe(t *testing.T, binary, config string) *serveProcess {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--config", config)
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
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("instars serve exited with %v after Ctrl-C\n%s", err, stderr.String())
		}
	})

	ready := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if _, after, ok := strings.Cut(scanner.Text(), " on "); ok {
				ready <- strings.Fields(after)[0]
			}
		}
		close(ready)
	}()
	select {
	case address, ok := <-ready:
		if !ok {
			t.Fatalf("instars serve ended before it was ready:\n%s", stderr.String())
		}
		return &serveProcess{url: address}
	case <-time.After(2 * time.Minute):
		t.Fatalf("instars serve not ready after 2 minutes:\n%s", stderr.String())
	}
	return nil
}

func getStatus(t *testing.T, url string, user, password string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestServeSharesPostgres runs two `instars serve` processes from one configuration file on
// one PostgreSQL database, against a real regtest node and the EC2 emulator: an order placed
// on one is paid and provisioned once, and the other serves it.
func TestServeSharesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a regtest node, the emulator and two servers")
	}
	dsn := freshPostgresDatabase(t)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	node := regtest.Start(t, regtest.Options{})
	emulator, err := ec2emu.New(ec2emu.Config{
		Credentials: map[string]string{"AKIDSERVE": "serve-secret"}, Region: devRegion,
		Timings: &ec2emu.Timings{Pending: time.Second, ShuttingDown: time.Second,
			TerminatedVisible: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emulator.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emulator.Close)

	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	account, err := loadOrCreateDevAccount(filepath.Join(dir, "account.tpub"))
	if err != nil {
		t.Fatal(err)
	}
	rpc := node.RPCConfig()
	cfg := fileConfig{
		Listen: "127.0.0.1:0", Network: "regtest", AccountKey: account, ScriptType: "p2wpkh",
		Node: nodeConfig{Kind: "btcd", Host: rpc.Host, User: rpc.User, TLS: true,
			PasswordFile:    write("rpc-password", rpc.Pass),
			CertificateFile: write("rpc.cert", string(rpc.Certificates)), Depth: 6},
		Database:  databaseConfig{PostgresFile: write("dsn", dsn)},
		ServerKey: serverKeyConfig{File: filepath.Join(dir, "server-key.asc")},
		Cloud: cloudConfig{Endpoint: emulator.URL(), Region: devRegion,
			AccessKeyID: "AKIDSERVE", SecretAccessKeyFile: write("ec2-secret", "serve-secret")},
		Plans:         devPlans(),
		Confirmations: confirmationsConfig{Depth: 2},
		Rates:         ratesConfig{Fixed: map[string]int64{"USD": 10_000_000}},
		Admin:         adminConfig{User: "operator", PasswordFile: write("admin", "let-me-in-1")},
	}
	data, _ := json.MarshalIndent(cfg, "", "  ")
	configPath := write("instars.json", string(data))

	server, client := buildBinaries(t)
	out, err := exec.Command(server, "config", "check", configPath).CombinedOutput()
	if err != nil {
		t.Fatalf("config check: %v\n%s", err, out)
	}
	first := startServe(t, server, configPath)
	second := startServe(t, server, configPath)

	code, body := getStatus(t, first.url+"/healthz", "", "")
	var health struct {
		Checks map[string]healthCheck `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &health); err != nil || code != http.StatusOK ||
		!health.Checks["payments"].OK {
		t.Errorf("/healthz = %d: %s (%v); want 200 with payments followed", code, body, err)
	}
	if code, _ := getStatus(t, second.url+"/admin", "", ""); code != http.StatusUnauthorized {
		t.Errorf("/admin without credentials = %d, want 401", code)
	}
	if code, _ := getStatus(t, second.url+"/admin", "operator", "let-me-in-1"); code != http.StatusOK {
		t.Errorf("/admin with credentials = %d, want 200", code)
	}

	customer := &devProcess{dir: dir, client: client, env: append(os.Environ(),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "INSTARS_SERVER="+first.url)}
	customer.runClient(t, true, "keygen", "--out", "customer.asc")
	write("id.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl serve\n")
	out2 := customer.runClient(t, true, "--key", "customer.asc", "order", "--plan",
		"medium-day", "--ssh-key", "id.pub")
	match := invoicePattern.FindStringSubmatch(out2)
	if match == nil {
		t.Fatalf("order printed no invoice:\n%s", out2)
	}
	invoiceID := match[1]

	// The second server reads the invoice the first one made.
	var inv invoiceJSON
	(&devProcess{url: second.url}).getJSON(t, "/api/v1/invoices/"+invoiceID, &inv)
	// 5.00 USD at 100 000 USD per bitcoin.
	if inv.AmountSat != 5000 {
		t.Errorf("amount = %d sat, want 5000", inv.AmountSat)
	}
	address, err := btcutil.DecodeAddress(inv.Address, &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.PayAddress(address, btcutil.Amount(inv.AmountSat), false); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Mine(2); err != nil {
		t.Fatal(err)
	}
	customer.env = append(customer.env, "INSTARS_SERVER="+second.url)
	out2 = customer.runClient(t, true, "--key", "customer.asc", "follow", "--timeout", "2m",
		invoiceID)
	match = leasePattern.FindStringSubmatch(out2)
	if match == nil {
		t.Fatalf("follow on the second server did not see the instance run:\n%s", out2)
	}
	leaseID := match[1]
	var launched []ec2emu.Instance
	for _, i := range emulator.Instances() {
		if i.Tags["instars:lease"] == leaseID {
			launched = append(launched, i)
		}
	}
	if len(launched) != 1 {
		t.Errorf("%d instances launched for lease %s, want exactly 1", len(launched), leaseID)
	}
	_, metrics := getStatus(t, first.url+"/metrics", "", "")
	for _, want := range []string{`instars_invoices{state="Settled"} 1`,
		"instars_instances_running 1", "# TYPE instars_http_requests_total counter"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
}
