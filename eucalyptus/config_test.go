package eucalyptus

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"github.com/instars/instars/internal/ec2emu"
)

func TestNewFromEucarc(t *testing.T) {
	isolateAWSSettings(t)
	emu, url := newEmulator(t, ec2emu.Config{})
	dir := t.TempDir()
	path := filepath.Join(dir, "eucarc")
	text := "EUCA_KEY_DIR=$(cd $(dirname ${BASH_SOURCE:-$0}); pwd -P)\n" +
		"export EC2_URL=" + url + "/services/compute\n" +
		"export EC2_ACCESS_KEY='" + testAccessKey + "'\n" +
		"export EC2_SECRET_KEY='" + testSecretKey + "'\n" +
		"export EUCALYPTUS_CERT=${EUCA_KEY_DIR}/cloud-cert.pem\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := LoadEucarc(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := rc.Config()
	if err != nil {
		t.Fatal(err)
	}
	base := testConfig(emu, url, &syncBuffer{})
	cfg.Now, cfg.Sleep, cfg.Logger = base.Now, base.Sleep, base.Logger
	d, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if d.Endpoint() != url+"/services/compute" || d.Region() != DefaultRegion {
		t.Errorf("endpoint, region = %s, %s", d.Endpoint(), d.Region())
	}
	if err := d.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	b := &testBundle{emu: emu, url: url, driver: d}
	got, err := d.Launch(context.Background(), b.request(t, "lease-eucarc"))
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	b.requireOneInstance(t, "lease-eucarc", got)
}

func TestNewFromAWSEnvironment(t *testing.T) {
	isolateAWSSettings(t)
	_, url := newEmulator(t, ec2emu.Config{})
	t.Setenv("AWS_ACCESS_KEY_ID", testAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecretKey)
	t.Setenv("AWS_REGION", "eucalyptus")
	t.Setenv("AWS_ENDPOINT_URL_EC2", url)
	d, err := New(context.Background(), Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if d.Endpoint() != url {
		t.Errorf("Endpoint() = %q, want AWS_ENDPOINT_URL_EC2 %q", d.Endpoint(), url)
	}
	if err := d.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestNewFromSharedProfile(t *testing.T) {
	isolateAWSSettings(t)
	_, url := newEmulator(t, ec2emu.Config{ExtraRegions: []string{"cloud-2"}})
	dir := t.TempDir()
	configFile := filepath.Join(dir, "config")
	credentialsFile := filepath.Join(dir, "credentials")
	writeFile(t, configFile, "[profile other]\nregion = cloud-2\n")
	writeFile(t, credentialsFile, "[other]\naws_access_key_id = "+testAccessKey+
		"\naws_secret_access_key = "+testSecretKey+"\n")
	t.Setenv("AWS_CONFIG_FILE", configFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credentialsFile)

	d, err := New(context.Background(), Config{
		Endpoint: url, Profile: "other", Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if d.Region() != "cloud-2" {
		t.Errorf("Region() = %q, want the profile's cloud-2", d.Region())
	}
	if err := d.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	_, err = New(context.Background(), Config{Endpoint: url, Profile: "absent"})
	if err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("New with an unknown profile error = %v, want one naming it", err)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestNewNeverAsksMetadataService points the metadata service at a local recorder, leaves it
// enabled in the environment and gives no credentials: the SDK's credential chain would end
// at the metadata service, but the driver must not let it.
func TestNewNeverAsksMetadataService(t *testing.T) {
	isolateAWSSettings(t)
	var hits atomic.Int32
	recorder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "no", http.StatusNotFound)
	}))
	t.Cleanup(recorder.Close)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", recorder.URL)

	// The recorder does see the SDK's own default chain, so it would notice the driver's.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	plain, err := config.LoadDefaultConfig(ctx, config.WithRegion("eucalyptus"),
		config.WithLogger(logging.Nop{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Credentials.Retrieve(ctx); err == nil {
		t.Fatal("the SDK found credentials in an isolated environment")
	}
	if hits.Load() == 0 {
		t.Fatal("the recorder saw no metadata request from the SDK's default chain")
	}
	hits.Store(0)

	_, err = New(ctx, Config{Endpoint: "http://127.0.0.1:1/", Logger: slog.New(
		slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "no usable credentials") {
		t.Errorf("New without credentials error = %v, want no usable credentials", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the driver sent %d requests to the metadata service, want 0", n)
	}
}
