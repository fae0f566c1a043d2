package eucalyptus

import (
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// newAuthorizedKey returns a fresh ed25519 public key as an authorized_keys line with a
// comment, and the parsed key.
func newAuthorizedKey(t testing.TB) (string, ssh.PublicKey) {
	t.Helper()
	public, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(public)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) + " customer@laptop"
	return line, key
}

func TestParseSSHPublicKeyAccepts(t *testing.T) {
	line, key := newAuthorizedKey(t)
	bare := strings.Fields(line)[0] + " " + strings.Fields(line)[1]
	for _, input := range []string{line, "  " + line + "\n", bare,
		bare + " work laptop (ssh-ed25519, 2024)"} {
		got, err := ParseSSHPublicKey(input)
		if err != nil {
			t.Fatalf("ParseSSHPublicKey(%q): %v", input, err)
		}
		if string(got.Marshal()) != string(key.Marshal()) {
			t.Errorf("ParseSSHPublicKey(%q) returned another key", input)
		}
	}
}

func TestParseSSHPublicKeyRejects(t *testing.T) {
	line, _ := newAuthorizedKey(t)
	otherLine, _ := newAuthorizedKey(t)
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(private, "")
	if err != nil {
		t.Fatal(err)
	}
	privatePEM := string(pem.EncodeToMemory(block))
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakKey, err := ssh.NewPublicKey(&weakRSA.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"empty", "  ", "empty"},
		{"private key", privatePEM, "private key"},
		{"garbage", "hello world", "not in authorized_keys format"},
		{"bad base64", "ssh-ed25519 !!!notbase64", "not in authorized_keys format"},
		{"two keys", line + "\n" + line, "several lines"},
		{"two keys on one line", line + " " + otherLine, "second key"},
		{"two keys joined by a tab", line + "\t" + otherLine, "second key"},
		{"options", `command="/bin/sh" ` + line, "options"},
		{"weak RSA", string(ssh.MarshalAuthorizedKey(weakKey)), "1024 bits"},
		{"too long", "ssh-ed25519 " + strings.Repeat("A", maxSSHKeyLength), "bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSSHPublicKey(tt.input)
			if !errors.Is(err, ErrInvalidSSHKey) {
				t.Fatalf("error = %v, want ErrInvalidSSHKey", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY-----\n") {
				t.Errorf("error repeats the private key: %q", err)
			}
		})
	}
}

func TestFingerprintMatches(t *testing.T) {
	_, key := newAuthorizedKey(t)
	_, other := newAuthorizedKey(t)
	sha := ssh.FingerprintSHA256(key)
	for _, fingerprint := range []string{
		sha, strings.TrimPrefix(sha, "SHA256:"), strings.TrimPrefix(sha, "SHA256:") + "=",
		ssh.FingerprintLegacyMD5(key), strings.ToUpper(ssh.FingerprintLegacyMD5(key)),
	} {
		if !fingerprintMatches(fingerprint, key) {
			t.Errorf("fingerprintMatches(%q) = false, want true", fingerprint)
		}
	}
	for _, fingerprint := range []string{"", ssh.FingerprintSHA256(other),
		ssh.FingerprintLegacyMD5(other)} {
		if fingerprintMatches(fingerprint, key) {
			t.Errorf("fingerprintMatches(%q) = true for another key", fingerprint)
		}
	}
}

func TestClientToken(t *testing.T) {
	token := ClientToken("lease-1", 0)
	if len(token) > 64 {
		t.Errorf("token %q is %d characters; EC2 allows 64", token, len(token))
	}
	for _, r := range token {
		if r > 126 || r < 33 {
			t.Errorf("token %q has a character outside printable ASCII", token)
		}
	}
	if ClientToken("lease-1", 0) != token {
		t.Error("ClientToken is not deterministic")
	}
	distinct := map[string]bool{token: true}
	for _, other := range []string{ClientToken("lease-1", 1), ClientToken("lease-2", 0),
		ClientToken("lease-10", 0)} {
		if distinct[other] {
			t.Errorf("token %q repeats for a different lease or attempt", other)
		}
		distinct[other] = true
	}
}

func TestFingerprintMatchesRSA(t *testing.T) {
	private, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(&private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	// EC2's fingerprint of an imported RSA key is the MD5 of the DER public key.
	der, err := x509.MarshalPKIXPublicKey(&private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(der)
	var parts []string
	for _, b := range sum {
		parts = append(parts, hex.EncodeToString([]byte{b}))
	}
	for _, fingerprint := range []string{strings.Join(parts, ":"),
		ssh.FingerprintLegacyMD5(key)} {
		if !fingerprintMatches(fingerprint, key) {
			t.Errorf("fingerprintMatches(%q) = false, want true", fingerprint)
		}
	}
	if fingerprintMatches(strings.Repeat("00:", 15)+"00", key) {
		t.Error("fingerprintMatches accepted a zero fingerprint")
	}
}
