package eucalyptus

import (
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Markers cloud-init prints around the SSH host keys on the console. Each may be preceded on
// its line by a prefix such as "ec2: ", which then precedes every line of the block too.
const (
	beginFingerprints = "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
	endFingerprints   = "-----END SSH HOST KEY FINGERPRINTS-----"
	beginKeys         = "-----BEGIN SSH HOST KEY KEYS-----"
	endKeys           = "-----END SSH HOST KEY KEYS-----"
)

// ParseHostKeys returns the SSH host keys in an instance's console output: the keys of the
// KEYS block, with fingerprints computed from them, then any fingerprint of the FINGERPRINTS
// block that matches none of those keys. Only complete blocks count; it returns nil when the
// console has neither yet. Lines it cannot read are skipped.
func ParseHostKeys(console string) []HostKey {
	var keys []HostKey
	seen := map[string]bool{}
	for _, line := range consoleBlock(console, beginKeys, endKeys) {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			continue
		}
		fingerprint := ssh.FingerprintSHA256(key)
		if seen[fingerprint] {
			continue
		}
		seen[fingerprint] = true
		keys = append(keys, HostKey{
			Type:        key.Type(),
			Fingerprint: fingerprint,
			PublicKey:   string(authorizedKeyLine(key)),
		})
	}
	for _, line := range consoleBlock(console, beginFingerprints, endFingerprints) {
		hostKey, ok := parseFingerprintLine(line)
		if !ok {
			continue
		}
		if seen[hostKey.Fingerprint] {
			// Keep the stated size on the entry made from the key itself.
			for i := range keys {
				if keys[i].Fingerprint == hostKey.Fingerprint {
					keys[i].Bits = hostKey.Bits
				}
			}
			continue
		}
		seen[hostKey.Fingerprint] = true
		keys = append(keys, hostKey)
	}
	return keys
}

// consoleBlock returns the lines between the first complete pair of begin and end markers,
// with the prefix that preceded the begin marker removed from each, or nil when there is no
// complete block.
func consoleBlock(console, begin, end string) []string {
	lines := strings.Split(strings.ReplaceAll(console, "\r", ""), "\n")
	for i, line := range lines {
		at := strings.Index(line, begin)
		if at < 0 {
			continue
		}
		prefix := line[:at]
		var block []string
		for _, inner := range lines[i+1:] {
			if strings.Contains(inner, end) {
				return block
			}
			block = append(block, strings.TrimSpace(strings.TrimPrefix(inner, prefix)))
		}
		return nil
	}
	return nil
}

// parseFingerprintLine reads one line as ssh-keygen -l prints it:
// "256 SHA256:AbC… root@host (ED25519)".
func parseFingerprintLine(line string) (HostKey, bool) {
	fields := strings.Fields(line)
	if len(fields) < 3 {
		return HostKey{}, false
	}
	bits, err := strconv.Atoi(fields[0])
	if err != nil || bits <= 0 {
		return HostKey{}, false
	}
	fingerprint := fields[1]
	if !strings.HasPrefix(fingerprint, "SHA256:") && !strings.HasPrefix(fingerprint, "MD5:") &&
		strings.Count(fingerprint, ":") != 15 {
		return HostKey{}, false
	}
	label := strings.Trim(fields[len(fields)-1], "()")
	return HostKey{Type: keyTypeFromLabel(label, bits), Bits: bits, Fingerprint: fingerprint},
		true
}

// keyTypeFromLabel maps the key type label ssh-keygen prints in brackets to the SSH algorithm
// name, keeping labels it does not know as they are.
func keyTypeFromLabel(label string, bits int) string {
	switch strings.ToUpper(label) {
	case "ED25519":
		return ssh.KeyAlgoED25519
	case "RSA":
		return ssh.KeyAlgoRSA
	case "DSA":
		return ssh.KeyAlgoDSA
	case "ECDSA":
		switch bits {
		case 384:
			return ssh.KeyAlgoECDSA384
		case 521:
			return ssh.KeyAlgoECDSA521
		default:
			return ssh.KeyAlgoECDSA256
		}
	}
	return label
}
