package eucalyptus

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// maxSSHKeyLength bounds the authorized_keys line a launch accepts; a 16384-bit RSA key is
// about 2.8 kB in that format.
const maxSSHKeyLength = 16 * 1024

// ParseSSHPublicKey checks that line is exactly one SSH public key in authorized_keys format
// ("ssh-ed25519 AAAA… comment") and returns it. A private key, several keys, options before
// the key type and anything else are rejected with an error wrapping ErrInvalidSSHKey that names
// what was found.
func ParseSSHPublicKey(line string) (ssh.PublicKey, error) {
	text := strings.TrimSpace(line)
	if text == "" {
		return nil, fmt.Errorf("%w: the key is empty; expected one authorized_keys line such "+
			"as \"ssh-ed25519 AAAA... user@host\"", ErrInvalidSSHKey)
	}
	if len(text) > maxSSHKeyLength {
		return nil, fmt.Errorf("%w: the key is %d bytes long; expected at most %d",
			ErrInvalidSSHKey, len(text), maxSSHKeyLength)
	}
	if strings.Contains(text, "PRIVATE KEY") {
		return nil, fmt.Errorf("%w: this is a private key, which must never leave its owner; "+
			"send the public key instead (the .pub file, or ssh-keygen -y -f KEYFILE)",
			ErrInvalidSSHKey)
	}
	if strings.ContainsAny(text, "\r\n") {
		return nil, fmt.Errorf("%w: the key has several lines; expected exactly one "+
			"authorized_keys line", ErrInvalidSSHKey)
	}
	key, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not in authorized_keys format (key type, base64 "+
			"key, optional comment): %w", ErrInvalidSSHKey, abbreviate(text), err)
	}
	if len(options) > 0 {
		return nil, fmt.Errorf("%w: the key has authorized_keys options %q; send the bare key",
			ErrInvalidSSHKey, strings.Join(options, ","))
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: text follows the key; expected exactly one key",
			ErrInvalidSSHKey)
	}
	if containsPublicKey(comment) {
		// The format takes everything after the key as its comment, so a second key pasted
		// on the same line would be dropped without a word.
		return nil, fmt.Errorf("%w: a second key follows the first on the same line; "+
			"expected exactly one key", ErrInvalidSSHKey)
	}
	if _, ok := key.(*ssh.Certificate); ok {
		return nil, fmt.Errorf("%w: %s is an SSH certificate; send the plain public key",
			ErrInvalidSSHKey, key.Type())
	}
	return key, checkKeyStrength(key)
}

// containsPublicKey reports whether any word of an authorized_keys comment is a base64 SSH
// public key.
func containsPublicKey(comment string) bool {
	for _, word := range strings.Fields(comment) {
		blob, err := base64.StdEncoding.DecodeString(word)
		if err != nil {
			continue
		}
		if _, err := ssh.ParsePublicKey(blob); err == nil {
			return true
		}
	}
	return false
}

// authorizedKeyLine returns key in authorized_keys format without a comment, the form sent to
// ImportKeyPair so that no customer text reaches the cloud.
func authorizedKeyLine(key ssh.PublicKey) []byte {
	return bytes.TrimSpace(ssh.MarshalAuthorizedKey(key))
}

// abbreviate shortens text for an error message, so a long paste does not fill the log.
func abbreviate(text string) string {
	const keep = 40
	if len(text) <= keep {
		return text
	}
	return text[:keep] + "..."
}

// minRSABits is the smallest RSA key accepted, the minimum NIST SP 800-131A has allowed for
// signatures since 2013.
const minRSABits = 2048

// checkKeyStrength rejects DSA keys, which OpenSSH no longer accepts by default, and RSA keys
// shorter than minRSABits.
func checkKeyStrength(key ssh.PublicKey) error {
	if key.Type() == ssh.KeyAlgoDSA {
		return fmt.Errorf("%w: DSA (ssh-dss) keys are rejected by current OpenSSH servers; "+
			"send an ed25519, ECDSA or RSA key", ErrInvalidSSHKey)
	}
	if key.Type() != ssh.KeyAlgoRSA {
		return nil
	}
	cryptoKey, ok := key.(ssh.CryptoPublicKey)
	if !ok {
		return nil
	}
	rsaKey, ok := cryptoKey.CryptoPublicKey().(*rsa.PublicKey)
	if ok && rsaKey.N.BitLen() < minRSABits {
		return fmt.Errorf("%w: the RSA key has %d bits; expected at least %d",
			ErrInvalidSSHKey, rsaKey.N.BitLen(), minRSABits)
	}
	return nil
}
