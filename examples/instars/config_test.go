package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instars/instars/billing"
)

// exampleWithFiles returns the example configuration with every file it names replaced by
// a file in a temporary folder, so that the check can read them.
func exampleWithFiles(t *testing.T) (*fileConfig, string) {
	t.Helper()
	data, err := os.ReadFile("instars.example.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, problems := decodeFileConfig(data)
	if len(problems) > 0 {
		t.Fatalf("decoding the example: %v", problems)
	}
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cfg.Node.PasswordFile = file("rpc-password", "secret\n")
	cfg.ServerKey.PassphraseFile = file("passphrase", "passphrase\n")
	cfg.Cloud.Eucarc = file("eucarc", "export EC2_URL=http://127.0.0.1:8773/services/compute\n")
	cfg.Webhooks[0].SecretFile = file("webhook-secret", strings.Repeat("s", 40)+"\n")
	return cfg, dir
}

func TestExampleConfigIsValid(t *testing.T) {
	cfg, _ := exampleWithFiles(t)
	if problems := cfg.validate(); len(problems) > 0 {
		t.Errorf("the example configuration has problems: %v", problems)
	}
}

func TestConfigCheckNamesEveryProblem(t *testing.T) {
	cfg, dir := exampleWithFiles(t)
	var generic map[string]any
	raw, _ := json.Marshal(cfg)
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	generic["network"] = "testnet4"
	generic["listne"] = "127.0.0.1:1"
	generic["node"].(map[string]any)["kind"] = "electrum"
	generic["node"].(map[string]any)["passwrd_file"] = "x"
	plans := generic["plans"].([]any)
	plans[1].(map[string]any)["min_units"] = 0
	plans[1].(map[string]any)["colour"] = "blue"
	generic["admin"].(map[string]any)["password_hash"] = "plain-text"
	generic["invoices"].(map[string]any)["expiry"] = "soon"
	data, _ := json.MarshalIndent(generic, "", "  ")
	path := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"config", "check", path}, &stdout, &stderr)
	if code == 0 {
		t.Fatalf("config check passed a bad file:\n%s", stdout.String())
	}
	for _, want := range []string{
		"listne: unknown field",
		"node.passwrd_file: unknown field",
		"plans[1].colour: unknown field",
		"invoices.expiry: ",
		"node.kind: unknown node \"electrum\"",
		"admin.password_hash: not a bcrypt hash",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "plain-text") {
		t.Errorf("output repeats the password field's value:\n%s", stdout.String())
	}
}

func TestConfigCheckReportsSemanticProblems(t *testing.T) {
	cfg, _ := exampleWithFiles(t)
	cfg.Network = "testnet4"
	cfg.Plans[1].MinUnits = 0
	cfg.Plans = append(cfg.Plans, cfg.Plans[0])
	cfg.Database.Postgres = "postgres://127.0.0.1/test"
	cfg.Rates.Sources = []string{"kraken", "mtgox"}
	cfg.Node.Host = "localhost"
	cfg.Invoices.ToleranceBasisPoints = 1500
	cfg.Listen = "0.0.0.0:99999"
	problems := cfg.validate()
	text := ""
	for _, p := range problems {
		text += p.String() + "\n"
	}
	for _, want := range []string{"network:", "plans[1]", "plans[2].id:", "database:",
		"rates.sources[1]:", "node.host:",
		"invoices.tolerance_basis_points: must be at most 1000 (10 %)",
		`listen: invalid address "0.0.0.0:99999": expected host:port with a port up to`} {
		if !strings.Contains(text, want) {
			t.Errorf("problems lack %q:\n%s", want, text)
		}
	}
}

func TestConfigRejectsBrokenJSON(t *testing.T) {
	_, problems := decodeFileConfig([]byte("{\n  \"network\": \"regtest\",\n}"))
	if len(problems) != 1 || !strings.Contains(problems[0].message, "line 3") {
		t.Errorf("problems = %v, want one naming line 3", problems)
	}
}

func TestConfigCheckAcceptsValidFile(t *testing.T) {
	cfg, dir := exampleWithFiles(t)
	data, _ := json.Marshal(cfg)
	path := filepath.Join(dir, "good.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"config", "check", path}, &stdout,
		&stderr); code != 0 {
		t.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "valid") {
		t.Errorf("output %q does not say valid", stdout.String())
	}
}

func TestLatePaymentsPolicy(t *testing.T) {
	tests := []struct {
		value   string
		want    billing.LatePaymentPolicy
		wantErr bool
	}{
		{value: "", want: billing.LateAccept},
		{value: "accept", want: billing.LateAccept},
		{value: "decline", want: billing.LateDecline},
		{value: "hold", want: billing.LateHold},
		{value: "refund", wantErr: true},
		{value: "Hold", wantErr: true},
	}
	for _, tt := range tests {
		got, err := invoicesConfig{LatePayments: tt.value}.latePaymentPolicy()
		if (err != nil) != tt.wantErr {
			t.Errorf("late_payments %q: error %v, want error %v", tt.value, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("late_payments %q: policy %d, want %d", tt.value, got, tt.want)
		}
	}
	cfg, _ := exampleWithFiles(t)
	cfg.Invoices.LatePayments = "later"
	problems := cfg.validate()
	if len(problems) != 1 || problems[0].path != "invoices.late_payments" {
		t.Errorf("problems = %v, want one at invoices.late_payments", problems)
	}
}

func TestConfigNodeEsplora(t *testing.T) {
	cfg, _ := exampleWithFiles(t)
	cfg.Node = nodeConfig{EsploraURL: "https://esplora.example/api", Depth: 6}
	if problems := cfg.validate(); len(problems) > 0 {
		t.Errorf("a node read through Esplora has problems: %v", problems)
	}

	cfg.Node = nodeConfig{EsploraURL: "esplora.example/api", Kind: "btcd", Host: "127.0.0.1:1",
		TLS: true}
	text := ""
	for _, p := range cfg.validate() {
		text += p.String() + "\n"
	}
	for _, want := range []string{"node.esplora_url: invalid URL", "node.kind: set together",
		"node.host: set together", "node.tls: set together"} {
		if !strings.Contains(text, want) {
			t.Errorf("problems lack %q:\n%s", want, text)
		}
	}

	cfg.Node = nodeConfig{}
	text = ""
	for _, p := range cfg.validate() {
		text += p.String() + "\n"
	}
	if !strings.Contains(text, "node.kind: missing") ||
		!strings.Contains(text, "node.esplora_url") {
		t.Errorf("a node with neither RPC nor Esplora is not reported as missing:\n%s", text)
	}
}

func TestOpenNodeEsploraReadsTip(t *testing.T) {
	const hash = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/blocks/tip/height", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "7")
	})
	mux.HandleFunc("GET /api/block-height/7", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, hash)
	})
	server := httptest.NewServer(mux)
	defer server.Close()

	open := func(url string) (*stack, error) {
		s := &stack{cfg: &fileConfig{Node: nodeConfig{EsploraURL: url}},
			logger: slog.New(slog.DiscardHandler)}
		return s, s.openNode(context.Background(), stackOptions{})
	}
	s, err := open(server.URL + "/api")
	if err != nil {
		t.Fatalf("opening Esplora: %v", err)
	}
	tip, err := s.source.Tip(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tip.Height != 7 || tip.Hash.String() != hash {
		t.Errorf("tip = %d %s, want 7 %s", tip.Height, tip.Hash, hash)
	}
	if _, err := open(server.URL + "/wrong"); err == nil ||
		!strings.Contains(err.Error(), "Esplora at "+server.URL+"/wrong") {
		t.Errorf("a wrong Esplora path gives %v, want an error naming the URL", err)
	}
}

func TestProblemCountSingular(t *testing.T) {
	for n, want := range map[int]string{1: "1 problem", 2: "2 problems", 10: "10 problems"} {
		if got := problemCount(n); got != want {
			t.Errorf("problemCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestConfigCheckDepthBeyondTracker(t *testing.T) {
	cfg, _ := exampleWithFiles(t)
	cfg.Node.Depth = 0
	cfg.Confirmations.HighValueDepth = 7
	text := ""
	for _, p := range cfg.validate() {
		text += p.String() + "\n"
	}
	if !strings.Contains(text, "confirmations.high_value_depth: 7 is deeper than node.depth 6") {
		t.Errorf("problems lack the high-value depth beyond the tracker's default:\n%s", text)
	}
}

func TestConfigCheckDefaultHighValueDepthBeyondTracker(t *testing.T) {
	cfg, _ := exampleWithFiles(t)
	cfg.Node.Depth = 3
	cfg.Confirmations.Depth = 1
	cfg.Confirmations.HighValueThreshold = 5_000_000
	cfg.Confirmations.HighValueDepth = 0
	text := ""
	for _, p := range cfg.validate() {
		text += p.String() + "\n"
	}
	want := "confirmations.high_value_depth: unset, so 6 (the default), is deeper than " +
		"node.depth 3"
	if !strings.Contains(text, want) {
		t.Errorf("problems lack %q:\n%s", want, text)
	}
}
