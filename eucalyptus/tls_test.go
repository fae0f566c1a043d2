package eucalyptus

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instars/instars/internal/ec2emu"
)

// newTLSEmulator serves an emulator over HTTPS with a certificate of its own authority, and
// returns the server and the path of a PEM file with that authority.
func newTLSEmulator(t *testing.T) (*ec2emu.Server, *httptest.Server, string) {
	t.Helper()
	isolateAWSSettings(t)
	emu, _ := newEmulator(t, ec2emu.Config{})
	server := httptest.NewUnstartedServer(emu)
	// The handshakes a test fails on purpose would otherwise be logged to stderr.
	server.Config.ErrorLog = log.New(io.Discard, "", 0)
	server.StartTLS()
	t.Cleanup(server.Close)
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	block := &pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw}
	if err := os.WriteFile(caPath, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return emu, server, caPath
}

func TestCheckOverHTTPSWithCABundle(t *testing.T) {
	emu, server, caPath := newTLSEmulator(t)
	cfg := testConfig(emu, server.URL+"/services/compute", &syncBuffer{})
	cfg.CABundlePath = caPath
	d, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := d.Check(context.Background()); err != nil {
		t.Fatalf("Check over HTTPS with the CA bundle: %v", err)
	}
}

func TestCheckUntrustedCertificate(t *testing.T) {
	emu, server, _ := newTLSEmulator(t)
	logs := &syncBuffer{}
	d, err := New(context.Background(), testConfig(emu, server.URL, logs))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = d.Check(context.Background())
	if !errors.Is(err, ErrUntrustedCertificate) {
		t.Fatalf("Check error = %v, want ErrUntrustedCertificate", err)
	}
	if errors.Is(err, ErrUnreachable) {
		t.Errorf("Check error = %v also wraps ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), "CABundlePath") {
		t.Errorf("Check error = %q, want it to name Config.CABundlePath", err)
	}
	if strings.Contains(logs.String(), "retrying EC2 call") {
		t.Errorf("a certificate failure was retried; logs:\n%s", logs)
	}
}

func TestNewRejectsCABundleWithoutCertificates(t *testing.T) {
	isolateAWSSettings(t)
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty.pem":   "",
		"text.pem":    "not a certificate\n",
		"garbage.pem": "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := New(context.Background(), Config{
				Endpoint: "https://127.0.0.1:1", AccessKeyID: testAccessKey,
				SecretAccessKey: testSecretKey, CABundlePath: path,
			})
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("New error = %v, want ErrInvalidRequest", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("New error = %q, want it to name %s", err, path)
			}
		})
	}
}
