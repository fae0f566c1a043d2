package pgp

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/instars/instars/internal/testenv"
)

// gnupg runs the gpg command line against a temporary home directory.
type gnupg struct {
	t    *testing.T
	path string
	home string
}

// newGnuPG returns a gpg with an empty home, whose agent is stopped when the test ends.
func newGnuPG(t *testing.T) *gnupg {
	t.Helper()
	path := testenv.RequireCommand(t, "gpg", "install gnupg (apt-get install gnupg)")
	// gpg-agent's socket lives in the home directory when /run/user is absent, and a Unix socket
	// path must fit in 108 bytes on Linux, so the home is a short path rather than t.TempDir().
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	g := &gnupg{t: t, path: path, home: home}
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = append(os.Environ(), "GNUPGHOME="+home)
		if out, err := kill.CombinedOutput(); err != nil {
			t.Logf("stopping gpg-agent: %v: %s", err, out)
		}
		os.RemoveAll(home)
	})
	return g
}

// run runs gpg with stdin and returns its standard output and the status-fd lines.
func (g *gnupg) run(stdin []byte, args ...string) (stdout []byte, status string, err error) {
	g.t.Helper()
	var statusBuffer bytes.Buffer
	full := append([]string{"--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--no-tty", "--trust-model", "always", "--status-fd", "3"}, args...)
	command := exec.Command(g.path, full...)
	command.Env = append(os.Environ(), "GNUPGHOME="+g.home)
	command.Stdin = bytes.NewReader(stdin)
	var out, stderr bytes.Buffer
	command.Stdout = &out
	command.Stderr = &stderr
	reader, writer, pipeErr := os.Pipe()
	if pipeErr != nil {
		g.t.Fatal(pipeErr)
	}
	command.ExtraFiles = []*os.File{writer}
	done := make(chan struct{})
	go func() {
		statusBuffer.ReadFrom(reader)
		close(done)
	}()
	err = command.Run()
	writer.Close()
	<-done
	reader.Close()
	if err != nil {
		g.t.Logf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.Bytes(), statusBuffer.String(), err
}

// mustRun runs gpg and fails the test when it fails.
func (g *gnupg) mustRun(stdin []byte, args ...string) []byte {
	g.t.Helper()
	out, _, err := g.run(stdin, args...)
	if err != nil {
		g.t.Fatalf("gpg %s failed", strings.Join(args, " "))
	}
	return out
}

// generate makes a key with a primary key of primaryAlgo for signing and a subkey of
// subkeyAlgo for encryption, and returns its fingerprint as gpg prints it.
func (g *gnupg) generate(name, primaryAlgo, subkeyAlgo string) string {
	g.t.Helper()
	g.mustRun(nil, "--quick-gen-key", name, primaryAlgo, "sign", "never")
	fingerprint := g.fingerprint(name)
	g.mustRun(nil, "--quick-add-key", fingerprint, subkeyAlgo, "encr", "never")
	return fingerprint
}

// fingerprint returns the primary key fingerprint of the key with the user ID.
func (g *gnupg) fingerprint(name string) string {
	g.t.Helper()
	out := g.mustRun(nil, "--with-colons", "--list-keys", name)
	for _, line := range strings.Split(string(out), "\n") {
		if fields := strings.Split(line, ":"); fields[0] == "fpr" && len(fields) > 9 {
			return fields[9]
		}
	}
	g.t.Fatalf("no fingerprint for %q in %s", name, out)
	return ""
}

func (g *gnupg) exportPublic(fingerprint string) []byte {
	g.t.Helper()
	return g.mustRun(nil, "--armor", "--export", fingerprint)
}

func (g *gnupg) importKey(armored []byte) {
	g.t.Helper()
	g.mustRun(armored, "--import")
}

func TestGnuPGOrderOpens(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	gpg := newGnuPG(t)
	gpg.importKey(server.PublicKey().Armored())

	for _, tc := range []struct{ primary, subkey string }{
		{"ed25519", "cv25519"},
		{"rsa3072", "rsa3072"},
	} {
		name := "instars customer " + tc.primary
		fingerprint := gpg.generate(name, tc.primary, tc.subkey)
		customer, err := ParsePublicKey(gpg.exportPublic(fingerprint), time.Now())
		if err != nil {
			t.Fatalf("%s: parsing gpg's public key: %v", tc.primary, err)
		}
		if customer.Fingerprint() != fingerprint {
			t.Errorf("%s: fingerprint = %s, gpg says %s",
				tc.primary, customer.Fingerprint(), fingerprint)
		}

		envelope := gpg.mustRun([]byte(testOrder), "--armor", "--sign", "--encrypt",
			"--local-user", fingerprint, "--recipient", server.Fingerprint())
		message, err := server.Open(bytes.NewReader(envelope), customer)
		if err != nil {
			t.Fatalf("%s: Open: %v", tc.primary, err)
		}
		if string(message.Payload) != testOrder {
			t.Errorf("%s: payload = %q, want %q", tc.primary, message.Payload, testOrder)
		}
		if message.SignerFingerprint != fingerprint {
			t.Errorf("%s: signer = %s, want gpg's %s",
				tc.primary, message.SignerFingerprint, fingerprint)
		}

		credentials := []byte("ssh root@192.0.2.7, host key SHA256:test")
		sealed, err := server.SealCredentials(credentials, customer)
		if err != nil {
			t.Fatalf("%s: SealCredentials: %v", tc.primary, err)
		}
		plaintext, status, err := gpg.run(sealed, "--decrypt")
		if err != nil {
			t.Fatalf("%s: gpg --decrypt failed", tc.primary)
		}
		if !bytes.Equal(plaintext, credentials) {
			t.Errorf("%s: gpg decrypted %q, want %q", tc.primary, plaintext, credentials)
		}
		requireGoodSignature(t, status, server.Fingerprint())
	}
}

// requireGoodSignature checks gpg's status lines for a good, valid signature whose primary key
// fingerprint is want.
func requireGoodSignature(t *testing.T, status, want string) {
	t.Helper()
	var good, valid bool
	for _, line := range strings.Split(status, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "[GNUPG:]" {
			continue
		}
		switch fields[1] {
		case "GOODSIG":
			// GOODSIG carries the long key ID, the last 16 digits of a v4 fingerprint.
			good = strings.HasSuffix(want, fields[2])
		case "VALIDSIG":
			// The last field of VALIDSIG is the primary key's fingerprint.
			valid = fields[len(fields)-1] == want
		case "BADSIG", "ERRSIG":
			t.Errorf("gpg reports %s", line)
		}
	}
	if !good {
		t.Errorf("no GOODSIG for %s in gpg status:\n%s", want, status)
	}
	if !valid {
		t.Errorf("no VALIDSIG for %s in gpg status:\n%s", want, status)
	}
}

func TestGnuPGRejections(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	gpg := newGnuPG(t)
	gpg.importKey(server.PublicKey().Armored())
	fingerprint := gpg.generate("instars customer", "ed25519", "cv25519")
	customer, err := ParsePublicKey(gpg.exportPublic(fingerprint), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherFingerprint := gpg.generate("another server", "ed25519", "cv25519")

	unsigned := gpg.mustRun([]byte(testOrder), "--armor", "--encrypt",
		"--recipient", server.Fingerprint())
	_, err = server.Open(bytes.NewReader(unsigned), customer)
	requireErrorIs(t, err, ErrNotSigned)

	elsewhere := gpg.mustRun([]byte(testOrder), "--armor", "--sign", "--encrypt",
		"--local-user", fingerprint, "--recipient", otherFingerprint)
	_, err = server.Open(bytes.NewReader(elsewhere), customer)
	requireErrorIs(t, err, ErrWrongRecipient)

	signedOnly := gpg.mustRun([]byte(testOrder), "--armor", "--sign", "--local-user", fingerprint)
	_, err = server.Open(bytes.NewReader(signedOnly), customer)
	requireErrorIs(t, err, ErrNotEncrypted)

	clearsigned := gpg.mustRun([]byte(testOrder), "--clearsign", "--local-user", fingerprint)
	_, err = server.Open(bytes.NewReader(clearsigned), customer)
	requireErrorIs(t, err, ErrNotEncrypted)
	if !strings.Contains(err.Error(), server.Fingerprint()) {
		t.Errorf("clearsigned: error %q does not name the key to encrypt to", err)
	}

	binary := gpg.mustRun([]byte(testOrder), "--sign", "--encrypt",
		"--local-user", fingerprint, "--recipient", server.Fingerprint())
	_, err = server.Open(bytes.NewReader(binary), customer)
	requireErrorIs(t, err, ErrMalformed)
	if !strings.Contains(err.Error(), "--armor") {
		t.Errorf("binary envelope: error %q does not ask for armor", err)
	}
	_, err = ParsePublicKey(gpg.mustRun(nil, "--export", fingerprint), time.Now())
	requireErrorIs(t, err, ErrMalformed)
	if !strings.Contains(err.Error(), "--armor") {
		t.Errorf("binary key: error %q does not ask for armor", err)
	}

	hidden := gpg.mustRun([]byte(testOrder), "--armor", "--sign", "--encrypt", "--throw-keyids",
		"--local-user", fingerprint, "--recipient", server.Fingerprint())
	message, err := server.Open(bytes.NewReader(hidden), customer)
	if err != nil {
		t.Fatalf("envelope with a hidden recipient key ID: %v", err)
	}
	if message.SignerFingerprint != fingerprint {
		t.Errorf("hidden recipient: signer = %s, want %s", message.SignerFingerprint, fingerprint)
	}

	byOther := gpg.mustRun([]byte(testOrder), "--armor", "--sign", "--encrypt",
		"--local-user", otherFingerprint, "--recipient", server.Fingerprint())
	_, err = server.Open(bytes.NewReader(byOther), customer)
	requireErrorIs(t, err, ErrWrongSigner)
}

func TestGnuPGRejectedKeys(t *testing.T) {
	t.Parallel()
	gpg := newGnuPG(t)
	cases := []struct {
		name, primary, subkey string
		want                  error
		mention               string
	}{
		{"dsa", "dsa2048", "elg2048", ErrWeakKey, "DSA"},
		{"rsa 1024", "rsa1024", "rsa1024", ErrWeakKey, "1024 bits"},
		{"elgamal subkey", "ed25519", "elg2048", ErrWeakKey, "ElGamal"},
		{"sign only", "ed25519", "", ErrUnusableKey, "no valid key for encryption"},
	}
	for _, tc := range cases {
		var fingerprint string
		if tc.subkey == "" {
			gpg.mustRun(nil, "--quick-gen-key", tc.name, tc.primary, "sign", "never")
			fingerprint = gpg.fingerprint(tc.name)
		} else {
			fingerprint = gpg.generate(tc.name, tc.primary, tc.subkey)
		}
		_, err := ParsePublicKey(gpg.exportPublic(fingerprint), time.Now())
		requireErrorIs(t, err, tc.want)
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.mention)
		}
	}
}

func TestGnuPGServerKeyLoads(t *testing.T) {
	t.Parallel()
	// An operator may make the server key with gpg and protect it with a passphrase.
	gpg := newGnuPG(t)
	const passphrase = "operator secret"
	gpg.mustRun(nil, "--passphrase", passphrase, "--quick-gen-key", "gpg server", "ed25519",
		"sign", "never")
	fingerprint := gpg.fingerprint("gpg server")
	gpg.mustRun(nil, "--passphrase", passphrase, "--quick-add-key", fingerprint, "cv25519",
		"encr", "never")
	armored := gpg.mustRun(nil, "--passphrase", passphrase, "--armor",
		"--export-secret-keys", fingerprint)

	key, err := ParsePrivateKey(armored, []byte(passphrase), time.Now())
	if err != nil {
		t.Fatalf("ParsePrivateKey: %v", err)
	}
	if key.Fingerprint() != fingerprint {
		t.Errorf("fingerprint = %s, gpg says %s", key.Fingerprint(), fingerprint)
	}
	_, err = ParsePrivateKey(armored, []byte("wrong"), time.Now())
	requireErrorIs(t, err, ErrPassphrase)
}

func TestGnuPGExpiredAndRevokedKeys(t *testing.T) {
	t.Parallel()
	gpg := newGnuPG(t)
	// Keys made two days ago whose parts expired after one day.
	past := "--faked-system-time=" + time.Now().Add(-48*time.Hour).UTC().Format("20060102T150405") + "!"
	makeKey := func(name, primaryUsage, primaryExpiry string, subkeys ...[3]string) string {
		gpg.mustRun(nil, past, "--quick-gen-key", name, "ed25519", primaryUsage, primaryExpiry)
		fingerprint := gpg.fingerprint(name)
		for _, subkey := range subkeys {
			gpg.mustRun(nil, past, "--quick-add-key", fingerprint, subkey[0], subkey[1], subkey[2])
		}
		return fingerprint
	}
	revoked := makeKey("revoked", "sign", "never", [3]string{"cv25519", "encr", "never"})
	revocation, err := os.ReadFile(gpg.home + "/openpgp-revocs.d/" + revoked + ".rev")
	if err != nil {
		t.Fatal(err)
	}
	// gpg stores the certificate with a colon before the armor line so that it is not
	// imported by accident.
	gpg.importKey(bytes.ReplaceAll(revocation, []byte("\n:-----BEGIN"), []byte("\n-----BEGIN")))

	cases := []struct {
		name, fingerprint string
		want              error
	}{
		{"expired primary", makeKey("expired primary", "sign", "1d",
			[3]string{"cv25519", "encr", "never"}), ErrKeyExpired},
		{"expired encryption subkey", makeKey("expired encryption", "sign", "never",
			[3]string{"cv25519", "encr", "1d"}), ErrKeyExpired},
		{"expired signing subkey", makeKey("expired signing", "cert", "never",
			[3]string{"ed25519", "sign", "1d"}, [3]string{"cv25519", "encr", "never"}),
			ErrKeyExpired},
		{"revoked", revoked, ErrKeyRevoked},
	}
	for _, tc := range cases {
		_, err := ParsePublicKey(gpg.exportPublic(tc.fingerprint), time.Now())
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error = %v, want errors.Is(%v)", tc.name, err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.fingerprint) {
			t.Errorf("%s: error %q does not name key %s", tc.name, err, tc.fingerprint)
		}
	}
}

func TestGnuPGKeyUpdatedAhead(t *testing.T) {
	t.Parallel()
	// The customer extends their key's expiry on a computer whose clock runs 30 seconds fast,
	// and gpg exports only the new self-signatures, dated in the server's future.
	gpg := newGnuPG(t)
	fingerprint := gpg.generate("updated ahead", "ed25519", "cv25519")
	ahead := "--faked-system-time=" + time.Now().Add(30*time.Second).UTC().Format("20060102T150405") + "!"
	gpg.mustRun(nil, ahead, "--quick-set-expire", fingerprint, "1y")
	gpg.mustRun(nil, ahead, "--quick-set-expire", fingerprint, "1y", "*")
	if _, err := ParsePublicKey(gpg.exportPublic(fingerprint), time.Now()); err != nil {
		t.Fatalf("key updated 30 seconds ahead: %v", err)
	}
}

func TestGnuPGEnvelopeOptions(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	gpg := newGnuPG(t)
	gpg.importKey(server.PublicKey().Armored())
	fingerprint := gpg.generate("instars customer", "rsa2048", "rsa2048")
	other := gpg.generate("another customer", "ed25519", "cv25519")
	// gpg signs with the newest signing subkey, so the orders below are signed by a subkey.
	gpg.mustRun(nil, "--quick-add-key", fingerprint, "ed25519", "sign", "never")
	customer, err := ParsePublicKey(gpg.exportPublic(fingerprint), time.Now())
	if err != nil {
		t.Fatal(err)
	}

	base := []string{"--armor", "--sign", "--encrypt", "--local-user", fingerprint,
		"--recipient", server.Fingerprint()}
	cases := []struct {
		name  string
		extra []string
	}{
		{"no compression", []string{"--compress-algo", "none"}},
		{"zip", []string{"--compress-algo", "zip"}},
		{"zlib", []string{"--compress-algo", "zlib"}},
		{"bzip2", []string{"--compress-algo", "bzip2"}},
		{"hidden recipient", []string{"--throw-keyids"}},
		{"several recipients", []string{"--recipient", other, "--encrypt-to", fingerprint}},
		{"second signer", []string{"--local-user", other}},
		{"text mode", []string{"--textmode"}},
		{"file name", []string{"--set-filename", "order.json"}},
		{"AES-128", []string{"--cipher-algo", "AES128"}},
		{"SHA-512", []string{"--digest-algo", "SHA512"}},
	}
	for _, tc := range cases {
		envelope := gpg.mustRun([]byte(testOrder), append(tc.extra, base...)...)
		message, err := server.Open(bytes.NewReader(envelope), customer)
		if err != nil {
			t.Errorf("%s: Open: %v", tc.name, err)
			continue
		}
		if string(message.Payload) != testOrder {
			t.Errorf("%s: payload = %q, want %q", tc.name, message.Payload, testOrder)
		}
		if message.SignerFingerprint != fingerprint {
			t.Errorf("%s: signer = %s, want %s", tc.name, message.SignerFingerprint, fingerprint)
		}
	}

	sha1 := gpg.mustRun([]byte(testOrder), append([]string{"--digest-algo", "SHA1"}, base...)...)
	_, err = server.Open(bytes.NewReader(sha1), customer)
	requireErrorIs(t, err, ErrBadSignature)
	if !strings.Contains(err.Error(), "SHA-1") {
		t.Errorf("SHA-1 signature: error %q does not name the hash", err)
	}
}

func TestGnuPGPayloadLimit(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	gpg := newGnuPG(t)
	gpg.importKey(server.PublicKey().Armored())
	fingerprint := gpg.generate("instars customer", "ed25519", "cv25519")
	customer, err := ParsePublicKey(gpg.exportPublic(fingerprint), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, compression := range []string{"none", "zlib"} {
		seal := func(size int) []byte {
			return gpg.mustRun(bytes.Repeat([]byte("a"), size), "--armor", "--compress-algo",
				compression, "--sign", "--encrypt", "--local-user", fingerprint,
				"--recipient", server.Fingerprint())
		}
		message, err := server.Open(bytes.NewReader(seal(DefaultMaxPayloadBytes)), customer)
		if err != nil {
			t.Fatalf("%s: payload at the limit: %v", compression, err)
		}
		if len(message.Payload) != DefaultMaxPayloadBytes {
			t.Errorf("%s: payload of %d bytes, want %d",
				compression, len(message.Payload), DefaultMaxPayloadBytes)
		}
		_, err = server.Open(bytes.NewReader(seal(DefaultMaxPayloadBytes+1)), customer)
		requireErrorIs(t, err, ErrTooLarge)
	}
}
