package eucalyptus

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/instars/instars/internal/ec2emu"
)

// benchBundle starts an emulator whose instances run at once and can launch b.N of them.
func benchBundle(b *testing.B) *testBundle {
	b.Helper()
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	emu, url := newEmulator(b, ec2emu.Config{
		MaxInstances: 1 << 20,
		Timings:      &ec2emu.Timings{TerminatedVisible: time.Hour},
	})
	logs := &syncBuffer{}
	driver, err := New(context.Background(), testConfig(emu, url, logs))
	if err != nil {
		b.Fatal(err)
	}
	return &testBundle{emu: emu, url: url, driver: driver, logs: logs}
}

// BenchmarkLaunch measures a whole Launch (key import, RunInstances, one DescribeInstances and
// one GetConsoleOutput) against the local emulator.
func BenchmarkLaunch(b *testing.B) {
	bundle := benchBundle(b)
	key, _ := newAuthorizedKey(b)
	b.ResetTimer()
	for i := range b.N {
		_, err := bundle.driver.Launch(context.Background(), LaunchRequest{
			LeaseID: fmt.Sprintf("bench-%d", i), ImageID: testImage, InstanceType: testType,
			SSHPublicKey: key, PaidUntil: testStart.Add(time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunInstancesBaseline measures the bare SDK calls a launch cannot avoid
// (ImportKeyPair and RunInstances) on the same emulator, as the baseline for BenchmarkLaunch.
func BenchmarkRunInstancesBaseline(b *testing.B) {
	bundle := benchBundle(b)
	key, _ := newAuthorizedKey(b)
	client := bundle.driver.client
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("bench-%d", i)
		_, err := client.ImportKeyPair(context.Background(), &ec2.ImportKeyPairInput{
			KeyName: aws.String(name), PublicKeyMaterial: []byte(key),
		})
		if err != nil {
			b.Fatal(err)
		}
		_, err = client.RunInstances(context.Background(), &ec2.RunInstancesInput{
			ImageId: aws.String(testImage), InstanceType: testType, MinCount: aws.Int32(1),
			MaxCount: aws.Int32(1), KeyName: aws.String(name), ClientToken: aws.String(name),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseHostKeys measures reading host keys from a typical console output.
func BenchmarkParseHostKeys(b *testing.B) {
	line, _ := newAuthorizedKey(b)
	console := strings.Repeat("[    1.000] kernel: boot message\n", 400) +
		"-----BEGIN SSH HOST KEY KEYS-----\n" + line + "\n-----END SSH HOST KEY KEYS-----\n"
	b.ResetTimer()
	for range b.N {
		if len(ParseHostKeys(console)) != 1 {
			b.Fatal("no host key parsed")
		}
	}
}
