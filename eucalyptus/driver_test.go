package eucalyptus

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/instars/instars/internal/ec2emu"
	"golang.org/x/crypto/ssh"
)

const (
	testAccessKey = "AKIDINSTARSTEST"
	testSecretKey = "instars-test-secret"
	testImage     = "emi-0d1e2b3c"
	testType      = "m1.small"
)

// testStart is the emulator's and the driver's clock at the start of every test.
var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testBundle is an emulator and a driver that talks to it over HTTP with the real SDK client.
// The driver's clock is the emulator's, and its waits move the emulator's time instead of
// sleeping, so instances start as soon as the driver waits for them.
type testBundle struct {
	emu    *ec2emu.Server
	url    string
	driver *Driver
	logs   *syncBuffer
}

// syncBuffer is a bytes.Buffer that slog handlers on several goroutines may write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// isolateAWSSettings points every standard AWS setting at nothing, so only what a test
// configures is used, and disables the metadata service as the tests must.
func isolateAWSSettings(t *testing.T) {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_EC2", "AWS_CA_BUNDLE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_ROLE_ARN"} {
		t.Setenv(name, "")
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
}

// newEmulator starts an emulator on 127.0.0.1 with a manual clock at testStart.
func newEmulator(t testing.TB, cfg ec2emu.Config) (*ec2emu.Server, string) {
	t.Helper()
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]string{testAccessKey: testSecretKey}
	}
	if cfg.Clock == nil {
		cfg.Clock = ec2emu.NewManualClock(testStart)
	}
	emu, err := ec2emu.New(cfg)
	if err != nil {
		t.Fatalf("ec2emu.New: %v", err)
	}
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("emulator Start: %v", err)
	}
	t.Cleanup(emu.Close)
	return emu, url
}

// testConfig returns a driver configuration for the emulator at url with fast retries.
func testConfig(emu *ec2emu.Server, url string, logs *syncBuffer) Config {
	return Config{
		Endpoint:        url,
		AccessKeyID:     testAccessKey,
		SecretAccessKey: testSecretKey,
		Retry: RetryPolicy{
			MaxAttempts:       6,
			BaseDelay:         time.Millisecond,
			ThrottleBaseDelay: 2 * time.Millisecond,
			MaxBackoff:        10 * time.Millisecond,
		},
		RequestTimeout: 5 * time.Second,
		Now:            emu.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			emu.Advance(d)
			return ctx.Err()
		},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func setup(t *testing.T, emuCfg ec2emu.Config, adjust ...func(*Config)) *testBundle {
	t.Helper()
	isolateAWSSettings(t)
	emu, url := newEmulator(t, emuCfg)
	logs := &syncBuffer{}
	cfg := testConfig(emu, url, logs)
	for _, f := range adjust {
		f(&cfg)
	}
	driver, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testBundle{emu: emu, url: url, driver: driver, logs: logs}
}

func (b *testBundle) request(t *testing.T, leaseID string) LaunchRequest {
	t.Helper()
	key, _ := newAuthorizedKey(t)
	return LaunchRequest{
		LeaseID:      leaseID,
		OrderID:      "order-" + leaseID,
		ImageID:      testImage,
		InstanceType: testType,
		SSHPublicKey: key,
		PaidUntil:    testStart.Add(24 * time.Hour),
		Tags:         map[string]string{"customer": "c-1"},
	}
}

// instancesOf returns the emulator's instances tagged with leaseID, in any state.
func (b *testBundle) instancesOf(leaseID string) []ec2emu.Instance {
	var out []ec2emu.Instance
	for _, instance := range b.emu.Instances() {
		if instance.Tags[TagLease] == leaseID {
			out = append(out, instance)
		}
	}
	return out
}

// requireOneInstance fails the test unless the emulator has exactly one instance for the
// lease and it is the one Launch returned.
func (b *testBundle) requireOneInstance(t *testing.T, leaseID string, got Instance) {
	t.Helper()
	instances := b.instancesOf(leaseID)
	if len(instances) != 1 {
		t.Fatalf("emulator has %d instances for lease %s, want exactly 1", len(instances),
			leaseID)
	}
	if instances[0].ID != got.ID {
		t.Fatalf("Launch returned %s, emulator has %s", got.ID, instances[0].ID)
	}
}

func TestLaunchRunsTaggedInstance(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	req := b.request(t, "lease-1")
	got, err := b.driver.Launch(context.Background(), req)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	b.requireOneInstance(t, "lease-1", got)
	if got.State != StateRunning {
		t.Errorf("State = %q, want running", got.State)
	}
	if got.PrivateIP == "" || got.PublicIP == "" {
		t.Errorf("addresses = %q / %q, want both set", got.PrivateIP, got.PublicIP)
	}
	if got.ImageID != testImage || got.InstanceType != testType {
		t.Errorf("image, type = %s, %s, want %s, %s", got.ImageID, got.InstanceType, testImage,
			testType)
	}
	if got.KeyName != KeyPairName("lease-1") {
		t.Errorf("KeyName = %q, want %q", got.KeyName, KeyPairName("lease-1"))
	}
	if got.LeaseID != "lease-1" || got.OrderID != "order-lease-1" {
		t.Errorf("lease, order = %q, %q from tags", got.LeaseID, got.OrderID)
	}
	if !got.PaidUntil.Equal(req.PaidUntil) {
		t.Errorf("PaidUntil = %v, want %v", got.PaidUntil, req.PaidUntil)
	}
	if got.Tags["customer"] != "c-1" || got.Tags[TagName] != "instars-lease-1" {
		t.Errorf("Tags = %v, want the extra tag and the default name", got.Tags)
	}

	emuInstance := b.instancesOf("lease-1")[0]
	if emuInstance.ClientToken != ClientToken("lease-1", 0) {
		t.Errorf("client token = %q, want %q", emuInstance.ClientToken, ClientToken("lease-1", 0))
	}
	if len(got.HostKeys) != len(emuInstance.HostKeys) || len(got.HostKeys) == 0 {
		t.Fatalf("HostKeys = %+v, want the %d keys the instance printed", got.HostKeys,
			len(emuInstance.HostKeys))
	}
	for i, key := range got.HostKeys {
		if key.PublicKey != emuInstance.HostKeys[i] {
			t.Errorf("host key %d = %q, want %q", i, key.PublicKey, emuInstance.HostKeys[i])
		}
		if !strings.HasPrefix(key.Fingerprint, "SHA256:") || key.Bits == 0 {
			t.Errorf("host key %d = %+v, want a SHA256 fingerprint and a size", i, key)
		}
	}

	described, err := b.driver.Describe(context.Background(), got.ID)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if described.ID != got.ID || described.State != StateRunning ||
		described.PublicIP != got.PublicIP {
		t.Errorf("Describe = %+v, want the running instance %s", described, got.ID)
	}
}

func TestLaunchRepeatedReturnsSameInstance(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	req := b.request(t, "lease-again")
	first, err := b.driver.Launch(context.Background(), req)
	if err != nil {
		t.Fatalf("first Launch: %v", err)
	}
	// A server restarted mid-launch builds a new driver and launches the lease again.
	second, err := New(context.Background(), b.driver.cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := second.Launch(context.Background(), req)
	if err != nil {
		t.Fatalf("second Launch: %v", err)
	}
	if again.ID != first.ID {
		t.Errorf("second Launch returned %s, want %s", again.ID, first.ID)
	}
	b.requireOneInstance(t, "lease-again", again)
	if n := len(b.emu.KeyPairs()); n != 1 {
		t.Errorf("emulator has %d key pairs, want 1", n)
	}
}

func TestLaunchConcurrentSameLease(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	req := b.request(t, "lease-race")
	const launches = 4
	ids := make([]string, launches)
	errs := make([]error, launches)
	var wg sync.WaitGroup
	for i := range launches {
		wg.Go(func() {
			instance, err := b.driver.Launch(context.Background(), req)
			ids[i], errs[i] = instance.ID, err
		})
	}
	wg.Wait()
	for i := range launches {
		if errs[i] != nil {
			t.Fatalf("Launch %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("Launch %d returned %s, Launch 0 returned %s", i, ids[i], ids[0])
		}
	}
	if n := len(b.instancesOf("lease-race")); n != 1 {
		t.Errorf("emulator has %d instances for the lease, want 1", n)
	}
}

func TestLaunchUnderFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults []ec2emu.Fault
		// minRunCalls is the least number of RunInstances requests the faults force.
		minRunCalls int
	}{
		{"throttled", []ec2emu.Fault{
			{Action: "RunInstances", Kind: ec2emu.FaultThrottle, Count: 3},
			{Action: "ImportKeyPair", Kind: ec2emu.FaultThrottle, Count: 2},
		}, 4},
		{"internal errors", []ec2emu.Fault{
			{Action: "RunInstances", Kind: ec2emu.FaultInternalError, Count: 2},
			{Action: "DescribeInstances", Kind: ec2emu.FaultInternalError, Count: 3},
		}, 3},
		{"unavailable", []ec2emu.Fault{
			{Kind: ec2emu.FaultUnavailable, Count: 4},
		}, 1},
		{"response lost after launch", []ec2emu.Fault{
			{Action: "RunInstances", Kind: ec2emu.FaultLostResponse, Count: 3},
		}, 4},
		{"connection dropped after launch", []ec2emu.Fault{
			{Action: "RunInstances", Kind: ec2emu.FaultDropConnection, Count: 2},
		}, 3},
		{"key pair response lost", []ec2emu.Fault{
			{Action: "ImportKeyPair", Kind: ec2emu.FaultLostResponse, Count: 1},
			{Action: "ImportKeyPair", Kind: ec2emu.FaultDropConnection, Count: 1},
		}, 1},
		{"slow responses", []ec2emu.Fault{
			{Action: "RunInstances", Kind: ec2emu.FaultNone, Latency: 50 * time.Millisecond,
				Count: 2},
		}, 1},
		{"random mix", []ec2emu.Fault{
			{Kind: ec2emu.FaultLostResponse, Probability: 0.2, Seed: 7},
			{Kind: ec2emu.FaultThrottle, Probability: 0.2, Seed: 8},
			{Kind: ec2emu.FaultDropConnection, Probability: 0.1, Seed: 9},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t, ec2emu.Config{}, func(c *Config) { c.Retry.MaxAttempts = 10 })
			for _, f := range tt.faults {
				if err := b.emu.InjectFault(f); err != nil {
					t.Fatal(err)
				}
			}
			got, err := b.driver.Launch(context.Background(), b.request(t, "lease-f"))
			if err != nil {
				t.Fatalf("Launch: %v", err)
			}
			b.requireOneInstance(t, "lease-f", got)
			if got.State != StateRunning {
				t.Errorf("State = %q, want running", got.State)
			}
			if calls := b.emu.Calls("RunInstances"); calls < tt.minRunCalls {
				t.Errorf("RunInstances called %d times, want at least %d", calls,
					tt.minRunCalls)
			}
		})
	}
}

func TestLaunchRequestTimeoutRetries(t *testing.T) {
	b := setup(t, ec2emu.Config{}, func(c *Config) { c.RequestTimeout = 200 * time.Millisecond })
	err := b.emu.InjectFault(ec2emu.Fault{
		Action: "RunInstances", Kind: ec2emu.FaultNone, Latency: time.Second, Count: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.driver.Launch(context.Background(), b.request(t, "lease-slow"))
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	b.requireOneInstance(t, "lease-slow", got)
	if calls := b.emu.Calls("RunInstances"); calls != 2 {
		t.Errorf("RunInstances called %d times, want 2 (one timed out)", calls)
	}
}

func TestRetriesAreLogged(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	err := b.emu.InjectFault(ec2emu.Fault{
		Action: "RunInstances", Kind: ec2emu.FaultThrottle, Count: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.driver.Launch(context.Background(), b.request(t, "lease-log")); err != nil {
		t.Fatalf("Launch: %v", err)
	}
	logs := b.logs.String()
	want := "retrying EC2 call"
	if !strings.Contains(logs, want) || !strings.Contains(logs, "operation=RunInstances") ||
		!strings.Contains(logs, "error_code=RequestLimitExceeded") {
		t.Errorf("logs lack a %q line for RunInstances RequestLimitExceeded:\n%s", want, logs)
	}
	if strings.Contains(logs, testSecretKey) {
		t.Error("logs contain the secret access key")
	}
}

func TestLaunchGivesUpAfterMaxAttempts(t *testing.T) {
	b := setup(t, ec2emu.Config{}, func(c *Config) { c.Retry.MaxAttempts = 3 })
	err := b.emu.InjectFault(ec2emu.Fault{
		Action: "RunInstances", Kind: ec2emu.FaultThrottle, Count: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.driver.Launch(context.Background(), b.request(t, "lease-throttled"))
	if err == nil || !strings.Contains(err.Error(), "RequestLimitExceeded") {
		t.Fatalf("Launch error = %v, want RequestLimitExceeded after retries", err)
	}
	if calls := b.emu.Calls("RunInstances"); calls != 3 {
		t.Errorf("RunInstances called %d times, want 3", calls)
	}
	if n := len(b.instancesOf("lease-throttled")); n != 0 {
		t.Errorf("emulator has %d instances, want 0", n)
	}
}

func TestRunInstancesWithoutTokenIsNotSent(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	_, err := b.driver.client.RunInstances(context.Background(), nil)
	if !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("RunInstances without a client token error = %v, want ErrInvalidRequest", err)
	}
	if calls := b.emu.Calls("RunInstances"); calls != 0 {
		t.Errorf("RunInstances reached the cloud %d times, want 0", calls)
	}
}

func TestLaunchRejectsBadRequests(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	valid := b.request(t, "lease-bad")
	tests := []struct {
		name   string
		change func(*LaunchRequest)
		want   error
	}{
		{"private key", func(r *LaunchRequest) {
			r.SSHPublicKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n" +
				"-----END OPENSSH PRIVATE KEY-----"
		}, ErrInvalidSSHKey},
		{"garbage key", func(r *LaunchRequest) { r.SSHPublicKey = "not a key" }, ErrInvalidSSHKey},
		{"empty lease", func(r *LaunchRequest) { r.LeaseID = "" }, ErrInvalidRequest},
		{"lease with space", func(r *LaunchRequest) { r.LeaseID = "a b" }, ErrInvalidRequest},
		{"no image", func(r *LaunchRequest) { r.ImageID = "" }, ErrInvalidRequest},
		{"no type", func(r *LaunchRequest) { r.InstanceType = "" }, ErrInvalidRequest},
		{"no paid-until", func(r *LaunchRequest) { r.PaidUntil = time.Time{} }, ErrInvalidRequest},
		{"reserved tag", func(r *LaunchRequest) {
			r.Tags = map[string]string{"instars:lease": "other"}
		}, ErrInvalidRequest},
		{"aws tag", func(r *LaunchRequest) { r.Tags = map[string]string{"aws:x": "y"} },
			ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := valid
			tt.change(&req)
			_, err := b.driver.Launch(context.Background(), req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Launch error = %v, want %v", err, tt.want)
			}
		})
	}
	if counts := b.emu.CallCounts(); len(counts) != 0 {
		t.Errorf("invalid requests reached the cloud: %v", counts)
	}
}

func TestLaunchKeyConflict(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	first := b.request(t, "lease-key")
	if _, err := b.driver.Launch(context.Background(), first); err != nil {
		t.Fatalf("Launch: %v", err)
	}
	second := b.request(t, "lease-key")
	second.Attempt = 1
	_, err := b.driver.Launch(context.Background(), second)
	if !errors.Is(err, ErrKeyPairConflict) {
		t.Fatalf("Launch with another key error = %v, want ErrKeyPairConflict", err)
	}
	if n := len(b.instancesOf("lease-key")); n != 1 {
		t.Errorf("emulator has %d instances for the lease, want 1", n)
	}
}

func TestLaunchKeyTypeCloudRejects(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	private, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(&private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	req := b.request(t, "lease-ecdsa")
	req.SSHPublicKey = string(ssh.MarshalAuthorizedKey(key))

	// The key is well formed, but the emulator, like AWS, imports only RSA and ed25519 keys.
	_, err = b.driver.Launch(context.Background(), req)
	if !errors.Is(err, ErrInvalidSSHKey) {
		t.Fatalf("Launch error = %v, want ErrInvalidSSHKey", err)
	}
	if !strings.Contains(err.Error(), "ecdsa-sha2-nistp256") {
		t.Errorf("error = %q, want the cloud's reason naming the key type", err)
	}
	if n := b.emu.Calls("RunInstances"); n != 0 {
		t.Errorf("RunInstances called %d times after the key was rejected, want 0", n)
	}
}

func TestLaunchTimeout(t *testing.T) {
	b := setup(t, ec2emu.Config{Timings: &ec2emu.Timings{
		Pending: time.Hour, ShuttingDown: time.Second, TerminatedVisible: time.Hour,
	}}, func(c *Config) { c.LaunchTimeout = 5 * time.Minute })
	got, err := b.driver.Launch(context.Background(), b.request(t, "lease-stuck"))
	if !errors.Is(err, ErrLaunchTimeout) {
		t.Fatalf("Launch error = %v, want ErrLaunchTimeout", err)
	}
	if got.ID == "" || got.State != StatePending {
		t.Errorf("Launch returned %+v, want the pending instance", got)
	}
	if elapsed := b.emu.Now().Sub(testStart); elapsed < 5*time.Minute ||
		elapsed > 6*time.Minute {
		t.Errorf("Launch waited %v of emulator time, want about the 5m timeout", elapsed)
	}
}

func TestLaunchTerminatedAttemptFails(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	req := b.request(t, "lease-dead")
	first, err := b.driver.Launch(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.driver.Terminate(context.Background(), first.ID); err != nil {
		t.Fatal(err)
	}
	_, err = b.driver.Launch(context.Background(), req)
	if !errors.Is(err, ErrInstanceFailed) {
		t.Fatalf("Launch of a terminated attempt error = %v, want ErrInstanceFailed", err)
	}
	req.Attempt = 1
	replacement, err := b.driver.Launch(context.Background(), req)
	if err != nil {
		t.Fatalf("Launch of attempt 1: %v", err)
	}
	if replacement.ID == first.ID {
		t.Error("attempt 1 returned the terminated instance")
	}
}

func TestTerminateIsIdempotent(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	got, err := b.driver.Launch(context.Background(), b.request(t, "lease-end"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := b.driver.Terminate(context.Background(), got.ID); err != nil {
			t.Fatalf("Terminate %d: %v", i, err)
		}
	}
	b.emu.Advance(time.Minute)
	described, err := b.driver.Describe(context.Background(), got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if described.State != StateTerminated {
		t.Errorf("State after Terminate = %q, want terminated", described.State)
	}
	b.emu.Advance(2 * time.Hour)
	if err := b.driver.Terminate(context.Background(), got.ID); err != nil {
		t.Errorf("Terminate of a vanished instance: %v", err)
	}
	if err := b.driver.Terminate(context.Background(), "i-00000000"); err != nil {
		t.Errorf("Terminate of an unknown instance: %v", err)
	}
	if _, err := b.driver.Describe(context.Background(), "i-00000000"); !errors.Is(err,
		ErrInstanceNotFound) {
		t.Errorf("Describe of an unknown instance error = %v, want ErrInstanceNotFound", err)
	}
	for i := range 2 {
		if err := b.driver.DeleteKeyPair(context.Background(), "lease-end"); err != nil {
			t.Fatalf("DeleteKeyPair %d: %v", i, err)
		}
	}
	if n := len(b.emu.KeyPairs()); n != 0 {
		t.Errorf("emulator has %d key pairs after DeleteKeyPair, want 0", n)
	}
}

func TestTerminateBeforeInstanceIsVisible(t *testing.T) {
	b := setup(t, ec2emu.Config{PropagationDelay: 20 * time.Second})
	launchCtx, cancel := context.WithCancel(context.Background())
	b.driver.cfg.Sleep = func(context.Context, time.Duration) error {
		cancel()
		return launchCtx.Err()
	}
	launched, err := b.driver.Launch(launchCtx, b.request(t, "lease-fresh"))
	if !errors.Is(err, context.Canceled) || launched.ID == "" {
		t.Fatalf("Launch cancelled at its first wait = %+v, %v; want the instance and "+
			"context.Canceled", launched, err)
	}

	// EC2 does not list the instance yet, so a NotFound now must not count as terminated.
	b.driver.cfg.Sleep = testConfig(b.emu, b.url, b.logs).Sleep
	if err := b.driver.Terminate(context.Background(), launched.ID); err != nil {
		t.Fatalf("Terminate right after the launch: %v", err)
	}
	b.emu.Advance(time.Minute)
	described, err := b.driver.Describe(context.Background(), launched.ID)
	if err != nil {
		t.Fatal(err)
	}
	if described.State != StateTerminated {
		t.Errorf("State after Terminate = %q, want terminated", described.State)
	}

	// An id the cloud never lists is counted as terminated once NotFoundWait has passed.
	before := b.emu.Now()
	if err := b.driver.Terminate(context.Background(), "i-00000000"); err != nil {
		t.Fatalf("Terminate of an unknown instance: %v", err)
	}
	if waited := b.emu.Now().Sub(before); waited != time.Minute {
		t.Errorf("Terminate of an unknown instance waited %v, want the 1m NotFoundWait", waited)
	}
}

func TestUpdatePaidUntil(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	got, err := b.driver.Launch(context.Background(), b.request(t, "lease-extend"))
	if err != nil {
		t.Fatal(err)
	}
	extended := got.PaidUntil.Add(30 * 24 * time.Hour)
	if err := b.driver.UpdatePaidUntil(context.Background(), got.ID, extended); err != nil {
		t.Fatalf("UpdatePaidUntil: %v", err)
	}
	described, err := b.driver.Describe(context.Background(), got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !described.PaidUntil.Equal(extended) {
		t.Errorf("PaidUntil = %v, want %v", described.PaidUntil, extended)
	}
	if described.LeaseID != "lease-extend" {
		t.Errorf("lease tag = %q after the update, want it kept", described.LeaseID)
	}
	err = b.driver.UpdatePaidUntil(context.Background(), "i-00000000", extended)
	if !errors.Is(err, ErrInstanceNotFound) {
		t.Errorf("UpdatePaidUntil of an unknown instance error = %v, want ErrInstanceNotFound",
			err)
	}
}

func TestCheck(t *testing.T) {
	b := setup(t, ec2emu.Config{ExtraRegions: []string{"cloud-2"}})
	if err := b.driver.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if b.driver.Region() != DefaultRegion {
		t.Errorf("Region() = %q, want %q", b.driver.Region(), DefaultRegion)
	}
	other, err := New(context.Background(), withChange(b.driver.cfg, func(c *Config) {
		c.Region = "cloud-2"
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Check(context.Background()); err != nil {
		t.Errorf("Check in the second region: %v", err)
	}
	zone, err := New(context.Background(), withChange(b.driver.cfg, func(c *Config) {
		c.AvailabilityZone = "nowhere-zone"
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := zone.Check(context.Background()); !errors.Is(err, ErrInvalidRequest) ||
		!strings.Contains(err.Error(), "nowhere-zone") {
		t.Errorf("Check with an unknown zone error = %v, want one naming it", err)
	}
}

func withChange(cfg Config, change func(*Config)) Config {
	change(&cfg)
	return cfg
}

func TestCheckBadCredentials(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	for name, change := range map[string]func(*Config){
		"unknown access key": func(c *Config) { c.AccessKeyID = "AKIDUNKNOWN" },
		"wrong secret":       func(c *Config) { c.SecretAccessKey = "wrong" },
	} {
		t.Run(name, func(t *testing.T) {
			d, err := New(context.Background(), withChange(b.driver.cfg, change))
			if err != nil {
				t.Fatal(err)
			}
			err = d.Check(context.Background())
			if !errors.Is(err, ErrAuthFailure) {
				t.Fatalf("Check error = %v, want ErrAuthFailure", err)
			}
			if strings.Contains(err.Error(), testSecretKey) {
				t.Error("error contains the secret key")
			}
			_, err = d.Launch(context.Background(), b.request(t, "lease-auth"))
			if !errors.Is(err, ErrAuthFailure) {
				t.Errorf("Launch error = %v, want ErrAuthFailure", err)
			}
		})
	}
}

func TestCheckUnknownRegion(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	d, err := New(context.Background(), withChange(b.driver.cfg, func(c *Config) {
		c.Region = "nowhere-1"
	}))
	if err != nil {
		t.Fatal(err)
	}
	err = d.Check(context.Background())
	if !errors.Is(err, ErrUnknownRegion) || !strings.Contains(err.Error(), "nowhere-1") {
		t.Fatalf("Check error = %v, want ErrUnknownRegion naming nowhere-1", err)
	}
}

func TestCheckUnreachableEndpoint(t *testing.T) {
	isolateAWSSettings(t)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + listener.Addr().String()
	listener.Close()
	d, err := New(context.Background(), Config{
		Endpoint: url, AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey,
		Retry:  RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Check(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Check error = %v, want ErrUnreachable", err)
	}
	want := "cannot reach EC2 endpoint " + url
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Check error = %q, want it to contain %q and the refusal", err, want)
	}
}

func TestNewMissingEndpointAndRegion(t *testing.T) {
	isolateAWSSettings(t)
	_, err := New(context.Background(), Config{
		AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey,
	})
	if !errors.Is(err, ErrMissingEndpoint) {
		t.Fatalf("New error = %v, want ErrMissingEndpoint", err)
	}
	_, err = New(context.Background(), Config{
		Region: "eucalyptus", AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey,
	})
	if !errors.Is(err, ErrUnknownRegion) {
		t.Errorf("New with a non-AWS region and no endpoint error = %v, want ErrUnknownRegion",
			err)
	}
	_, err = New(context.Background(), Config{Endpoint: "ftp://cloud/"})
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("New with an ftp endpoint error = %v, want ErrInvalidRequest", err)
	}
	_, err = New(context.Background(), Config{Endpoint: "http://cloud/", AccessKeyID: "x"})
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("New with half the credentials error = %v, want ErrInvalidRequest", err)
	}
}

func TestLaunchWithoutConsoleOutput(t *testing.T) {
	b := setup(t, ec2emu.Config{}, func(c *Config) {
		c.HostKeyTimeout = time.Minute
		c.Retry.MaxAttempts = 2
	})
	err := b.emu.InjectFault(ec2emu.Fault{
		Action: "GetConsoleOutput", Kind: ec2emu.FaultInternalError, Count: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.driver.Launch(context.Background(), b.request(t, "lease-quiet"))
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	if got.State != StateRunning || len(got.HostKeys) != 0 {
		t.Errorf("Launch = state %q with %d host keys, want running with none", got.State,
			len(got.HostKeys))
	}
	calls := b.emu.Calls("GetConsoleOutput")
	if calls < 4 || calls > 40 {
		t.Errorf("GetConsoleOutput called %d times, want a few polls within the minute", calls)
	}
	if !strings.Contains(b.logs.String(), "no SSH host keys on the console") {
		t.Error("logs do not record that the host keys were not found")
	}
}

func TestLaunchSkipsConsoleWhenDisabled(t *testing.T) {
	b := setup(t, ec2emu.Config{}, func(c *Config) { c.HostKeyTimeout = -1 })
	got, err := b.driver.Launch(context.Background(), b.request(t, "lease-nokeys"))
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	if len(got.HostKeys) != 0 || b.emu.Calls("GetConsoleOutput") != 0 {
		t.Errorf("host keys %d, console calls %d, want none", len(got.HostKeys),
			b.emu.Calls("GetConsoleOutput"))
	}
}

func TestLaunchContextDeadline(t *testing.T) {
	b := setup(t, ec2emu.Config{})
	err := b.emu.InjectFault(ec2emu.Fault{
		Action: "ImportKeyPair", Kind: ec2emu.FaultNone, Latency: 2 * time.Second, Count: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = b.driver.Launch(ctx, b.request(t, "lease-deadline"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Launch error = %v, want the context deadline", err)
	}
	if errors.Is(err, ErrUnreachable) {
		t.Errorf("Launch error = %v, want it not blamed on the endpoint", err)
	}
	if n := len(b.instancesOf("lease-deadline")); n != 0 {
		t.Errorf("emulator has %d instances, want 0", n)
	}
}

func TestNewAWSRegionWithoutEndpoint(t *testing.T) {
	isolateAWSSettings(t)
	d, err := New(context.Background(), Config{
		Region: "eu-west-3", AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if want := "https://ec2.eu-west-3.amazonaws.com"; d.Endpoint() != want {
		t.Errorf("Endpoint() = %q, want %q", d.Endpoint(), want)
	}
}
