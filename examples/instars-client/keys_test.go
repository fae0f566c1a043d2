package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/instars/instars/internal/testenv"
	"github.com/instars/instars/pgp"
)

// newGnuPGHome makes a GnuPG home with one unprotected customer key and points GNUPGHOME at
// it for the test.
func newGnuPGHome(t *testing.T) string {
	t.Helper()
	testenv.RequireCommand(t, "gpg", "install gnupg (apt-get install gnupg)")
	// A Unix socket path must fit in 108 bytes, so the home is short, not t.TempDir().
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GNUPGHOME", home)
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	cmd := exec.Command("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", "instars tester", "future-default", "default", "never")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gpg --quick-gen-key: %v\n%s", err, out)
	}
	return home
}

func newServer(t *testing.T) *pgp.Server {
	t.Helper()
	key, err := pgp.GenerateKey(pgp.GenerateOptions{Name: "test server"})
	if err != nil {
		t.Fatal(err)
	}
	server, err := pgp.NewServer(key, pgp.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return server
}

// checkIdentity seals an order the server opens, and opens credentials the server sealed.
func checkIdentity(t *testing.T, id identity) {
	t.Helper()
	server := newServer(t)
	customer, err := pgp.ParsePublicKey(id.publicKey(), time.Now())
	if err != nil {
		t.Fatalf("the identity's public key: %v", err)
	}
	if customer.Fingerprint() != id.fingerprint() {
		t.Errorf("public key fingerprint %s, identity %s", customer.Fingerprint(),
			id.fingerprint())
	}
	order := []byte(`{"plan":"small-hour"}`)
	envelope, err := id.sealOrder(order, server.PublicKey())
	if err != nil {
		t.Fatalf("sealOrder: %v", err)
	}
	msg, err := server.Open(bytes.NewReader(envelope), customer)
	if err != nil {
		t.Fatalf("the server cannot open the order: %v", err)
	}
	if !bytes.Equal(msg.Payload, order) || msg.SignerFingerprint != id.fingerprint() {
		t.Errorf("opened %q signed by %s", msg.Payload, msg.SignerFingerprint)
	}

	credentials := []byte(`{"address":"203.0.113.9"}`)
	sealed, err := server.SealCredentials(credentials, customer)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := id.openCredentials(sealed, server.PublicKey())
	if err != nil {
		t.Fatalf("openCredentials: %v", err)
	}
	if !bytes.Equal(opened, credentials) {
		t.Errorf("opened credentials %q, want %q", opened, credentials)
	}
	if _, err := id.openCredentials(sealed, newServer(t).PublicKey()); err == nil {
		t.Error("credentials signed by another server key were accepted")
	}
}

func TestGnuPGIdentity(t *testing.T) {
	newGnuPGHome(t)
	id, err := newGPGIdentity("gpg", "instars tester")
	if err != nil {
		t.Fatal(err)
	}
	checkIdentity(t, id)
	if _, err := newGPGIdentity("gpg", "nobody at all"); err == nil ||
		!strings.Contains(err.Error(), "no secret key") {
		t.Errorf("unknown --local-user: %v", err)
	}
}

func TestKeyFileIdentity(t *testing.T) {
	dir := t.TempDir()
	passphrase := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(passphrase, []byte("open sesame\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "customer.asc")
	var stdout, stderr bytes.Buffer
	c := &client{stdout: &stdout, stderr: &stderr}
	if err := runKeygen(t.Context(), c, []string{"--out", keyFile, "--passphrase-file",
		passphrase}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	if err := runKeygen(t.Context(), c, []string{"--out", keyFile}); err == nil {
		t.Error("keygen overwrote an existing key")
	}
	id, err := loadFileIdentity(keyFile, passphrase)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), id.fingerprint()) {
		t.Errorf("keygen did not print the fingerprint %s: %s", id.fingerprint(), stdout.String())
	}
	checkIdentity(t, id)
	if _, err := loadFileIdentity(keyFile, ""); err == nil {
		t.Error("a protected key loaded without its passphrase")
	}
	if _, err := loadFileIdentity(keyFile+".pub", ""); err == nil ||
		!strings.Contains(err.Error(), "not a usable private key") {
		t.Errorf("a public key file as --key: %v", err)
	}
}

func TestServerKeyPinning(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	var stderr bytes.Buffer
	c := &client{server: "http://127.0.0.1:7080/", stderr: &stderr}
	if err := c.checkPinned("AAAA"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "Pinned") {
		t.Errorf("first contact not reported: %q", stderr.String())
	}
	if err := c.checkPinned("AAAA"); err != nil {
		t.Errorf("the pinned key was refused: %v", err)
	}
	err := c.checkPinned("BBBB")
	if err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("a changed key: %v", err)
	}
	other := &client{server: "http://127.0.0.1:7081", stderr: &stderr}
	if err := other.checkPinned("BBBB"); err != nil {
		t.Errorf("another server shares the pin: %v", err)
	}
}
