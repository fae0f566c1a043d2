package ec2emu_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	"golang.org/x/crypto/ssh"

	"github.com/instars/instars/internal/ec2emu"
)

const (
	testAccessKey = "AKIDEXAMPLE"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion    = "eucalyptus"
	testImage     = "emi-0d1e2b3c"
)

// testBundle is an emulator on a manual clock with an SDK client pointed at it.
type testBundle struct {
	emu    *ec2emu.Server
	clock  *ec2emu.ManualClock
	url    string
	client *ec2.Client
}

func setup(t testing.TB, mutate ...func(*ec2emu.Config)) *testBundle {
	t.Helper()
	clock := ec2emu.NewManualClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	cfg := ec2emu.Config{
		Credentials: map[string]string{testAccessKey: testSecretKey},
		Region:      testRegion,
		Clock:       clock,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	emu, err := ec2emu.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(emu.Close)
	return &testBundle{
		emu:    emu,
		clock:  clock,
		url:    url,
		client: newClient(t, url, testAccessKey, testSecretKey, testRegion),
	}
}

// newClient returns an SDK client for url that does not retry, so each call is one request.
func newClient(t testing.TB, url, accessKey, secretKey, region string) *ec2.Client {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg := aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		RetryMaxAttempts: 1,
	}
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(url) })
}

// requireAPIError fails the test unless err is an EC2 error with the given code.
func requireAPIError(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected error %s, got success", code)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("expected API error %s, got %T: %v", code, err, err)
	}
	if apiErr.ErrorCode() != code {
		t.Fatalf("error code = %s (%s), want %s", apiErr.ErrorCode(), apiErr.ErrorMessage(),
			code)
	}
}

// newSSHKey returns a fresh Ed25519 public key as an authorized_keys line.
func newSSHKey(t testing.TB) string {
	t.Helper()
	public, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(public)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	return t.Context()
}

func newClientCredentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, "")
}
