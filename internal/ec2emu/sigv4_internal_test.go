package ec2emu

import (
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSignatureKnownAnswer checks the canonical request and signature against the worked
// example in the AWS Signature Version 4 documentation (IAM ListUsers, 2015-08-30).
func TestSignatureKnownAnswer(t *testing.T) {
	header := http.Header{}
	header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	header.Set("X-Amz-Date", "20150830T123600Z")
	req := signedRequest{
		method: http.MethodGet,
		path:   "/",
		query:  url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}},
		header: header,
		host:   "iam.amazonaws.com",
	}
	signed := []string{"content-type", "host", "x-amz-date"}
	canonical := canonicalRequest(req, signed, sha256Hex(nil))
	const wantCanonicalHash = "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
	if got := sha256Hex([]byte(canonical)); got != wantCanonicalHash {
		t.Errorf("canonical request hash = %s, want %s\n%s", got, wantCanonicalHash, canonical)
	}
	stringToSign := strings.Join([]string{
		sigV4Algorithm, "20150830T123600Z", "20150830/us-east-1/iam/aws4_request",
		wantCanonicalHash,
	}, "\n")
	key := signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")
	const want = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
	if got := hex.EncodeToString(hmacSHA256(key, []byte(stringToSign))); got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
}

func TestMatchGlob(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"a*", "abc", true},
		{"*c", "abc", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*b*", "abc", true},
		{"*x*", "abc", false},
		{"a*b*c", "aXbYbc", true},
		{"*", "", true},
		{"*", "*0", true},
		{"a*", "a*b", true},
	}
	for _, tc := range cases {
		if got := matchGlob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	cases := []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8773}, true},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8773}, true},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8773}, false},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8773}, false},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 8773}, false},
		{&net.UnixAddr{Name: "/tmp/ec2emu.sock", Net: "unix"}, false},
	}
	for _, tc := range cases {
		if got := isLoopback(tc.addr); got != tc.want {
			t.Errorf("isLoopback(%v) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}
