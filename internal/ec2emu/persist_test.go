package ec2emu_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/instars/instars/internal/ec2emu"
)

func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "ec2.json")
	withFile := func(c *ec2emu.Config) { c.StateFile = stateFile }
	first := setup(t, withFile)
	if _, err := first.client.ImportKeyPair(ctx(t), &ec2.ImportKeyPairInput{
		KeyName: aws.String("kept"), PublicKeyMaterial: []byte(newSSHKey(t)),
	}); err != nil {
		t.Fatal(err)
	}
	in := runInput("kept-token", 1)
	in.KeyName = aws.String("kept")
	launched, err := first.client.RunInstances(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	before := first.emu.Instances()
	first.emu.Close()

	second := setup(t, withFile)
	after := second.emu.Instances()
	if len(after) != 1 || after[0].ID != before[0].ID {
		t.Fatalf("instances after restart = %+v, want %s", after, before[0].ID)
	}
	if strings.Join(after[0].HostKeys, "|") != strings.Join(before[0].HostKeys, "|") {
		t.Errorf("host keys changed across the restart")
	}
	if got := len(second.emu.KeyPairs()); got != 1 {
		t.Errorf("key pairs after restart = %d, want 1", got)
	}
	again, err := second.client.RunInstances(ctx(t), in)
	if err != nil {
		t.Fatalf("RunInstances with the same token after restart: %v", err)
	}
	if aws.ToString(again.ReservationId) != aws.ToString(launched.ReservationId) {
		t.Errorf("the client token was forgotten across the restart")
	}
	second.emu.Advance(time.Minute)
	if got := second.emu.Instances()[0].State; got != ec2emu.StateRunning {
		t.Errorf("state after restart and a minute = %s, want running", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("state directory holds %d files, want only the state file", len(entries))
	}
}

func TestCorruptStateFileIsRejected(t *testing.T) {
	cases := map[string]string{
		"not json":              "{not json",
		"null instance":         `{"instances":[null]}`,
		"null key pair":         `{"key_pairs":[null]}`,
		"instance without id":   `{"instances":[{"image_id":"emi-0d1e2b3c"}]}`,
		"key pair without name": `{"key_pairs":[{"id":"key-0a1b2c3d"}]}`,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			stateFile := filepath.Join(t.TempDir(), "ec2.json")
			if err := os.WriteFile(stateFile, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ec2emu.New(ec2emu.Config{
				Credentials: map[string]string{testAccessKey: testSecretKey},
				StateFile:   stateFile,
			})
			if err == nil || !strings.Contains(err.Error(), stateFile) {
				t.Errorf("New with state %s: error %v, want one naming the file", content, err)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	creds := map[string]string{testAccessKey: testSecretKey}
	invalid := map[string]ec2emu.Config{
		"no credentials": {},
		"empty secret":   {Credentials: map[string]string{"AKID": ""}},
		"bad image id": {Credentials: creds,
			Images: []ec2emu.Image{{ID: "ami-XYZ", Name: "x"}}},
		"negative timing": {Credentials: creds,
			Timings: &ec2emu.Timings{Pending: -time.Second}},
		"unnamed type": {Credentials: creds,
			InstanceTypes: []ec2emu.InstanceType{{VCPUs: 1}}},
		"region with a slash":       {Credentials: creds, Region: "eu/west"},
		"extra region with a space": {Credentials: creds, ExtraRegions: []string{" eu-west-1"}},
		"empty extra region":        {Credentials: creds, ExtraRegions: []string{""}},
	}
	for name, cfg := range invalid {
		if _, err := ec2emu.New(cfg); err == nil {
			t.Errorf("New accepted a config with %s", name)
		}
	}
}
