package eucalyptus

import (
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestParseHostKeys(t *testing.T) {
	line, key := newAuthorizedKey(t)
	keyOnly := strings.Join(strings.Fields(line)[:2], " ")
	fingerprint := ssh.FingerprintSHA256(key)
	const rsaFingerprint = "SHA256:Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"
	console := strings.Join([]string{
		"[    1.234] cloud-init[512]: Generating public/private rsa key pair.",
		"ec2: ",
		"ec2: #############################################################",
		"ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----",
		"ec2: 256 " + fingerprint + " root@ip-10-0-0-5 (ED25519)",
		"ec2: 3072 " + rsaFingerprint + " root@ip-10-0-0-5 (RSA)",
		"ec2: not a fingerprint line",
		"ec2: -----END SSH HOST KEY FINGERPRINTS-----",
		"ec2: #############################################################",
		"-----BEGIN SSH HOST KEY KEYS-----\r",
		line + "\r",
		"ssh-rsa AAAA-broken root@ip-10-0-0-5",
		"-----END SSH HOST KEY KEYS-----",
		"Cloud-init v. 23.1 finished",
	}, "\n")

	got := ParseHostKeys(console)
	if len(got) != 2 {
		t.Fatalf("ParseHostKeys returned %d keys, want 2: %+v", len(got), got)
	}
	want := []HostKey{
		{Type: ssh.KeyAlgoED25519, Bits: 256, Fingerprint: fingerprint, PublicKey: keyOnly},
		{Type: ssh.KeyAlgoRSA, Bits: 3072, Fingerprint: rsaFingerprint},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("key %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseHostKeysIncompleteBlock(t *testing.T) {
	line, _ := newAuthorizedKey(t)
	for _, console := range []string{
		"",
		"booting...\n",
		"-----BEGIN SSH HOST KEY KEYS-----\n" + line + "\n",
		"ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\nec2: 256 SHA256:abc x (ED25519)\n",
	} {
		if got := ParseHostKeys(console); got != nil {
			t.Errorf("ParseHostKeys(%q) = %+v, want nil", console, got)
		}
	}
}

func TestParseHostKeysLegacyMD5(t *testing.T) {
	const md5 = "3f:9a:b2:41:0c:7d:e5:88:19:a0:6b:c2:d4:11:7e:90"
	console := "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n" +
		"2048 " + md5 + " /etc/ssh/ssh_host_rsa_key.pub (RSA)\n" +
		"256 " + md5[:20] + " short (ECDSA)\n" +
		"-----END SSH HOST KEY FINGERPRINTS-----\n"
	got := ParseHostKeys(console)
	if len(got) != 1 || got[0].Fingerprint != md5 || got[0].Type != ssh.KeyAlgoRSA ||
		got[0].Bits != 2048 {
		t.Errorf("ParseHostKeys = %+v, want one RSA key with the MD5 fingerprint", got)
	}
}
