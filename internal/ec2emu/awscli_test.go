package ec2emu_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/instars/instars/internal/testenv"
)

// awsCLI runs the AWS command line against the emulator with a clean home, so no user
// configuration or metadata lookup takes part.
type awsCLI struct {
	path, url, home string
	secret          string
}

func (c awsCLI) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	args = append(args, "--endpoint-url", c.url, "--output", "json")
	cmd := exec.CommandContext(t.Context(), c.path, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"HOME="+c.home,
		"AWS_CONFIG_FILE="+filepath.Join(c.home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(c.home, "credentials"),
		"AWS_ACCESS_KEY_ID="+testAccessKey,
		"AWS_SECRET_ACCESS_KEY="+c.secret,
		"AWS_DEFAULT_REGION="+testRegion,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func (c awsCLI) mustRun(t *testing.T, v any, args ...string) {
	t.Helper()
	stdout, stderr, err := c.run(t, args...)
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	if v == nil {
		return
	}
	if err := json.Unmarshal([]byte(stdout), v); err != nil {
		t.Fatalf("aws %s printed invalid JSON: %v\n%s", strings.Join(args, " "), err, stdout)
	}
}

type cliInstance struct {
	InstanceID string `json:"InstanceId"`
	State      struct {
		Name string `json:"Name"`
	} `json:"State"`
	Tags []struct {
		Key, Value string
	} `json:"Tags"`
}

type cliReservations struct {
	Reservations []struct {
		Instances []cliInstance `json:"Instances"`
	} `json:"Reservations"`
}

func TestAWSCommandLine(t *testing.T) {
	path := testenv.RequireCommand(t, "aws", "install awscli (apt-get install awscli)")
	b := setup(t)
	cli := awsCLI{path: path, url: b.url, home: t.TempDir(), secret: testSecretKey}
	keyFile := filepath.Join(cli.home, "id.pub")
	if err := os.WriteFile(keyFile, []byte(newSSHKey(t)+" user@host\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var imported struct{ KeyFingerprint, KeyName string }
	cli.mustRun(t, &imported, "ec2", "import-key-pair", "--key-name", "cli-key",
		"--public-key-material", "fileb://"+keyFile)
	if imported.KeyName != "cli-key" || imported.KeyFingerprint == "" {
		t.Errorf("import-key-pair printed %+v", imported)
	}
	var keys struct {
		KeyPairs []struct{ KeyName, KeyFingerprint string }
	}
	cli.mustRun(t, &keys, "ec2", "describe-key-pairs")
	if len(keys.KeyPairs) != 1 || keys.KeyPairs[0].KeyFingerprint != imported.KeyFingerprint {
		t.Errorf("describe-key-pairs printed %+v, want the imported key", keys.KeyPairs)
	}

	var run struct {
		ReservationID string        `json:"ReservationId"`
		Instances     []cliInstance `json:"Instances"`
	}
	cli.mustRun(t, &run, "ec2", "run-instances", "--image-id", testImage,
		"--instance-type", "m1.small", "--count", "1", "--key-name", "cli-key",
		"--client-token", "cli-token")
	if len(run.Instances) != 1 || run.Instances[0].State.Name != "pending" {
		t.Fatalf("run-instances printed %+v, want one pending instance", run)
	}
	id := run.Instances[0].InstanceID
	cli.mustRun(t, nil, "ec2", "create-tags", "--resources", id,
		"--tags", "Key=order,Value=cli-1")
	b.emu.Advance(time.Minute)

	var described cliReservations
	cli.mustRun(t, &described, "ec2", "describe-instances",
		"--filters", "Name=tag:order,Values=cli-1")
	if len(described.Reservations) != 1 || len(described.Reservations[0].Instances) != 1 {
		t.Fatalf("describe-instances by tag printed %+v, want one instance", described)
	}
	inst := described.Reservations[0].Instances[0]
	if inst.InstanceID != id || inst.State.Name != "running" {
		t.Errorf("describe-instances printed %s %s, want %s running", inst.InstanceID,
			inst.State.Name, id)
	}
	if len(inst.Tags) != 1 || inst.Tags[0].Value != "cli-1" {
		t.Errorf("describe-instances tags = %+v, want order=cli-1", inst.Tags)
	}

	var terminated struct {
		TerminatingInstances []struct {
			InstanceID   string `json:"InstanceId"`
			CurrentState struct{ Name string }
		}
	}
	cli.mustRun(t, &terminated, "ec2", "terminate-instances", "--instance-ids", id)
	if len(terminated.TerminatingInstances) != 1 ||
		terminated.TerminatingInstances[0].CurrentState.Name != "shutting-down" {
		t.Errorf("terminate-instances printed %+v", terminated)
	}

	_, stderr, err := cli.run(t, "ec2", "describe-instances", "--instance-ids", "i-0000dead")
	if err == nil || !strings.Contains(stderr, "InvalidInstanceID.NotFound") {
		t.Errorf("describe-instances of a missing id: err %v, stderr %q", err, stderr)
	}
	wrong := cli
	wrong.secret = "not-the-secret"
	_, stderr, err = wrong.run(t, "ec2", "describe-instances")
	if err == nil || !strings.Contains(stderr, "AuthFailure") {
		t.Errorf("describe-instances with a wrong secret: err %v, stderr %q", err, stderr)
	}
}
