// Package ec2emu is a local emulator of the EC2 Query API, close enough on the wire that the
// real aws-sdk-go-v2 client and the AWS command line talk to it unchanged.
//
// It serves the actions an instance lifecycle needs: RunInstances with ClientToken
// idempotency, DescribeInstances with filters, TerminateInstances, key pairs, tags, console
// output with SSH host keys, images, instance types, regions and zones. Ids are
// Eucalyptus-style, state timings follow an injectable clock, the state can persist to a JSON
// file, and faults can be injected.
//
// Every request must carry a valid AWS Signature Version 4 (service ec2), in its Authorization
// header or as a presigned URL, made with one of the configured access keys and scoped to one
// of the configured regions, as on a real cloud.
//
// # Starting it from a Go test
//
//	emu, err := ec2emu.New(ec2emu.Config{
//		Credentials: map[string]string{"AKIDEXAMPLE": "secret"},
//		Region:      "eucalyptus",
//	})
//	if err != nil {
//		t.Fatal(err)
//	}
//	url, err := emu.Start("127.0.0.1:0")
//	if err != nil {
//		t.Fatal(err)
//	}
//	t.Cleanup(emu.Close)
//
//	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
//	cfg := aws.Config{
//		Region:      "eucalyptus",
//		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
//	}
//	client := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(url) })
//
// Instances start pending and become running after [Timings].Pending. With the default real
// clock that takes wall time; a test moves time forward instead with [Server.Advance], or
// passes a [ManualClock] in [Config].Clock.
//
// # Console output
//
// GetConsoleOutput returns nothing while an instance is pending. Once it runs, the output is
// cloud-init style text with two blocks: the host key fingerprints, each line prefixed with
// "ec2: " as cloud-init writes them, and the host public keys in authorized_keys format:
//
//	ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----
//	ec2: 256 SHA256:... root@ip-10-0-0-5 (ECDSA)
//	ec2: 256 SHA256:... root@ip-10-0-0-5 (ED25519)
//	ec2: -----END SSH HOST KEY FINGERPRINTS-----
//	-----BEGIN SSH HOST KEY KEYS-----
//	ecdsa-sha2-nistp256 AAAA... root@ip-10-0-0-5
//	ssh-ed25519 AAAA... root@ip-10-0-0-5
//	-----END SSH HOST KEY KEYS-----
//
// The same keys are in [Instance].HostKeys, so a test can compare what a client parsed.
//
// # Faults
//
// [Server.InjectFault] makes chosen calls fail with InternalError, Unavailable or
// RequestLimitExceeded, adds latency, or performs the action and then loses the response (a
// 500 or a dropped connection), either for the next N calls or with a seeded probability.
// [Server.Calls] counts the calls per action. The command ec2emu takes faults as flags, and a
// running server has control endpoints for tests in other processes. They take no signature
// or other authentication, so anyone who can connect can read the state and inject faults:
// serve the emulator on 127.0.0.1 (the command's default, -listen 127.0.0.1:8773). It logs a
// warning when it listens on any other address.
//
//	GET    /_emu/instances        the instances, as JSON
//	GET    /_emu/calls            the call counters per action, as JSON
//	DELETE /_emu/calls            reset the call counters
//	GET    /_emu/faults           the faults not yet spent, as JSON
//	POST   /_emu/faults           add a fault: a JSON Fault, latency in nanoseconds
//	DELETE /_emu/faults           remove every fault
//	POST   /_emu/advance?by=90s   move the emulator's time forward
package ec2emu
