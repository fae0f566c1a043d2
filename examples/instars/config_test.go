package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	problems := cfg.validate()
	text := ""
	for _, p := range problems {
		text += p.String() + "\n"
	}
	for _, want := range []string{"network:", "plans[1]", "plans[2].id:", "database:",
		"rates.sources[1]:", "node.host:"} {
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
