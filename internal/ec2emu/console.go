package ec2emu

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// generateHostKeys makes an instance's SSH host keys, ECDSA P-256 and Ed25519, and returns
// their public halves in authorized_keys format. The private halves are dropped because no SSH
// server runs behind an emulated instance.
func generateHostKeys() ([]string, error) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("unable to generate ecdsa host key: %w", err)
	}
	edPublic, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("unable to generate ed25519 host key: %w", err)
	}
	var out []string
	for _, public := range []any{&ecKey.PublicKey, edPublic} {
		key, err := ssh.NewPublicKey(public)
		if err != nil {
			return nil, fmt.Errorf("unable to encode host key: %w", err)
		}
		out = append(out, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))))
	}
	return out, nil
}

func (s *Server) getConsoleOutput(p params, now time.Time) (any, *apiError) {
	id := p.get("InstanceId")
	if id == "" {
		return nil, missingParameter("InstanceId")
	}
	instances, apiErr := s.lookupInstances([]string{id}, now)
	if apiErr != nil {
		return nil, apiErr
	}
	inst := instances[0]
	resp := &getConsoleOutputResponse{InstanceID: inst.ID, Timestamp: xmlTime(now)}
	if state, _ := inst.stateAt(now, s.cfg.Timings); state == StatePending {
		return resp, nil
	}
	bootedAt := inst.LaunchTime.Add(s.cfg.Timings.Pending)
	text, err := consoleText(inst, bootedAt)
	if err != nil {
		s.cfg.Logger.Error("unable to build console output", "instance_id", inst.ID,
			"error", err)
		return nil, internalError()
	}
	resp.Timestamp = xmlTime(bootedAt)
	resp.Output = base64.StdEncoding.EncodeToString([]byte(text))
	return resp, nil
}

// consoleText is the tail of a boot log as cloud-init leaves it on the serial console: the
// host key fingerprints, prefixed with "ec2: ", then the host public keys.
func consoleText(inst *Instance, bootedAt time.Time) (string, error) {
	host := "root@" + strings.TrimSuffix(privateDNSName(inst.PrivateIP), dnsSuffix)
	stamp := bootedAt.UTC().Format(time.RFC1123Z)
	var b strings.Builder
	fmt.Fprintf(&b, "[    0.000000] Linux version 6.1.0-emulated (instance %s)\r\n", inst.ID)
	fmt.Fprintf(&b, "Cloud-init v. 22.4.2 running 'init' at %s. Up 3.02 seconds.\r\n", stamp)
	fmt.Fprintf(&b, "ci-info: eth0: %s\r\n", inst.PrivateIP)
	fmt.Fprintf(&b, "Generating public/private ecdsa key pair.\r\n")
	fmt.Fprintf(&b, "Generating public/private ed25519 key pair.\r\n")
	banner := strings.Repeat("#", 61)
	fmt.Fprintf(&b, "ec2: \r\nec2: %s\r\n", banner)
	fmt.Fprintf(&b, "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\r\n")
	for _, line := range inst.HostKeys {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return "", fmt.Errorf("stored host key of %s is invalid: %w", inst.ID, err)
		}
		fmt.Fprintf(&b, "ec2: %d %s %s (%s)\r\n", hostKeyBits(key), ssh.FingerprintSHA256(key),
			host, hostKeyLabel(key.Type()))
	}
	fmt.Fprintf(&b, "ec2: -----END SSH HOST KEY FINGERPRINTS-----\r\n")
	fmt.Fprintf(&b, "ec2: %s\r\n", banner)
	fmt.Fprintf(&b, "-----BEGIN SSH HOST KEY KEYS-----\r\n")
	for _, line := range inst.HostKeys {
		fmt.Fprintf(&b, "%s %s\r\n", line, host)
	}
	fmt.Fprintf(&b, "-----END SSH HOST KEY KEYS-----\r\n")
	fmt.Fprintf(&b, "Cloud-init v. 22.4.2 finished at %s. Up 9.47 seconds\r\n", stamp)
	return b.String(), nil
}

func hostKeyBits(key ssh.PublicKey) int {
	switch key.Type() {
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoED25519:
		return 256
	case ssh.KeyAlgoECDSA384:
		return 384
	case ssh.KeyAlgoECDSA521:
		return 521
	}
	if crypto, ok := key.(ssh.CryptoPublicKey); ok {
		if rsaKey, ok := crypto.CryptoPublicKey().(interface{ Size() int }); ok {
			return rsaKey.Size() * 8
		}
	}
	return 0
}

// hostKeyLabel is the key type as ssh-keygen -l names it.
func hostKeyLabel(algorithm string) string {
	switch algorithm {
	case ssh.KeyAlgoED25519:
		return "ED25519"
	case ssh.KeyAlgoRSA:
		return "RSA"
	default:
		return "ECDSA"
	}
}
