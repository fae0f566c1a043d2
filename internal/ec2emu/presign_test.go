package ec2emu_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// presignedGET returns a URL presigned by the SDK's signer for the query, valid for expires.
func presignedGET(t *testing.T, base string, query url.Values, secret string,
	signedAt time.Time, expires time.Duration) string {
	t.Helper()
	query.Set("Version", "2016-11-15")
	query.Set("X-Amz-Expires", strconv.Itoa(int(expires.Seconds())))
	req, err := http.NewRequest(http.MethodGet, base+"/?"+query.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(nil)
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: secret}
	signed, _, err := v4.NewSigner().PresignHTTP(t.Context(), creds, req,
		hex.EncodeToString(sum[:]), "ec2", testRegion, signedAt)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func getStatus(t *testing.T, target string) (int, string) {
	t.Helper()
	resp, err := http.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestPresignedURLs(t *testing.T) {
	b := setup(t)
	run := url.Values{"Action": {"RunInstances"}, "ImageId": {testImage},
		"MinCount": {"1"}, "MaxCount": {"1"}, "ClientToken": {"presigned"}}

	first := presignedGET(t, b.url, run, testSecretKey, time.Now(), time.Minute)
	if status, body := getStatus(t, first); status != http.StatusOK {
		t.Fatalf("presigned RunInstances returned HTTP %d:\n%s", status, body)
	}
	second := presignedGET(t, b.url, run, testSecretKey, time.Now().Add(-time.Second),
		time.Minute)
	if status, body := getStatus(t, second); status != http.StatusOK {
		t.Fatalf("repeated presigned RunInstances returned HTTP %d:\n%s", status, body)
	}
	if got := len(b.emu.Instances()); got != 1 {
		t.Errorf("two presigned launches with one token made %d instances, want 1", got)
	}

	regions := url.Values{"Action": {"DescribeRegions"}}
	cases := []struct {
		name     string
		secret   string
		signedAt time.Time
		status   int
	}{
		{"wrong secret", "wrong", time.Now(), http.StatusUnauthorized},
		{"expired", testSecretKey, time.Now().Add(-2 * time.Minute), http.StatusBadRequest},
	}
	for _, tc := range cases {
		target := presignedGET(t, b.url, regions, tc.secret, tc.signedAt, time.Minute)
		if status, body := getStatus(t, target); status != tc.status {
			t.Errorf("%s: HTTP %d, want %d:\n%s", tc.name, status, tc.status, body)
		}
	}
}
