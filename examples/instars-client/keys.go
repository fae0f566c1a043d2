package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/instars/instars/pgp"
)

// identity is the customer's key: it signs orders and opens credentials.
type identity interface {
	// fingerprint is the key's fingerprint, the customer's identity on the server.
	fingerprint() string
	// publicKey is the armored public key, sent with each order.
	publicKey() []byte
	// sealOrder signs payload and encrypts it to the server.
	sealOrder(payload []byte, server *pgp.PublicKey) ([]byte, error)
	// openCredentials decrypts an envelope and checks that the server signed it.
	openCredentials(envelope []byte, server *pgp.PublicKey) ([]byte, error)
}

// loadIdentity returns the key the flags name.
func (c *client) loadIdentity() (identity, error) {
	switch {
	case c.keyFile != "" && c.localUser != "":
		return nil, errors.New("--key and --local-user exclude each other: give one")
	case c.localUser != "":
		return newGPGIdentity(c.gpgPath, c.localUser)
	case c.keyFile != "":
		return loadFileIdentity(c.keyFile, c.passphraseFile)
	}
	return nil, errors.New("no key: give --key FILE (make one with `instars-client keygen " +
		"--out FILE`) or --local-user KEY-ID for a key in your GnuPG keyring")
}

// fileIdentity is a private key read from an armored file.
type fileIdentity struct {
	key *pgp.PrivateKey
}

func loadFileIdentity(path, passphraseFile string) (*fileIdentity, error) {
	armored, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the key: %w", err)
	}
	var passphrase []byte
	if passphraseFile != "" {
		text, err := os.ReadFile(passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase: %w", err)
		}
		passphrase = bytes.TrimRight(text, "\r\n")
	}
	key, err := pgp.ParsePrivateKey(armored, passphrase, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s is not a usable private key: %w", path, err)
	}
	return &fileIdentity{key: key}, nil
}

func (f *fileIdentity) fingerprint() string { return f.key.Fingerprint() }
func (f *fileIdentity) publicKey() []byte   { return f.key.PublicKey().Armored() }

func (f *fileIdentity) sealOrder(payload []byte, server *pgp.PublicKey) ([]byte, error) {
	return pgp.SealOrder(payload, f.key, server)
}

func (f *fileIdentity) openCredentials(envelope []byte, server *pgp.PublicKey) ([]byte,
	error,
) {
	msg, err := pgp.OpenCredentials(bytes.NewReader(envelope), f.key, server)
	if err != nil {
		return nil, err
	}
	return msg.Payload, nil
}

// gpgIdentity is a key of the user's GnuPG keyring, used through the gpg command, so the
// secret key never leaves gpg.
type gpgIdentity struct {
	gpg       string
	user      string
	fpr       string
	publicArm []byte
}

func newGPGIdentity(gpgPath, user string) (*gpgIdentity, error) {
	if _, err := exec.LookPath(gpgPath); err != nil {
		return nil, fmt.Errorf("--local-user needs the gpg command: %w", err)
	}
	g := &gpgIdentity{gpg: gpgPath, user: user}
	out, err := g.run(nil, "--with-colons", "--fingerprint", "--list-secret-keys", user)
	if err != nil {
		return nil, fmt.Errorf("no secret key %q in the GnuPG keyring: %w", user, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Split(line, ":")
		if len(fields) > 9 && fields[0] == "fpr" {
			g.fpr = fields[9]
			break
		}
	}
	if g.fpr == "" {
		return nil, fmt.Errorf("gpg listed no fingerprint for %q", user)
	}
	if g.publicArm, err = g.run(nil, "--armor", "--export", g.fpr); err != nil {
		return nil, fmt.Errorf("exporting the public key: %w", err)
	}
	return g, nil
}

func (g *gpgIdentity) run(stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command(g.gpg, append([]string{"--batch", "--no-tty", "--quiet"}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("gpg %s: %w: %s", args[len(args)-1], err,
			strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func (g *gpgIdentity) fingerprint() string { return g.fpr }
func (g *gpgIdentity) publicKey() []byte   { return g.publicArm }

// withServerKey writes the server's key to a temporary file for gpg's --recipient-file and
// a temporary keyring for verifying, so the user's keyring is not changed.
func (g *gpgIdentity) withServerKey(server *pgp.PublicKey, fn func(keyFile, keyring string) (
	[]byte, error),
) ([]byte, error) {
	dir, err := os.MkdirTemp("", "instars-client-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	keyFile := filepath.Join(dir, "server.asc")
	if err := os.WriteFile(keyFile, server.Armored(), 0o600); err != nil {
		return nil, err
	}
	keyring := filepath.Join(dir, "server.kbx")
	if _, err := g.run(nil, "--no-default-keyring", "--keyring", keyring, "--import",
		keyFile); err != nil {
		return nil, err
	}
	return fn(keyFile, keyring)
}

func (g *gpgIdentity) sealOrder(payload []byte, server *pgp.PublicKey) ([]byte, error) {
	return g.withServerKey(server, func(keyFile, _ string) ([]byte, error) {
		return g.run(payload, "--armor", "--local-user", g.fpr, "--sign", "--encrypt",
			"--recipient-file", keyFile, "--output", "-")
	})
}

func (g *gpgIdentity) openCredentials(envelope []byte, server *pgp.PublicKey) ([]byte,
	error,
) {
	return g.withServerKey(server, func(_, keyring string) ([]byte, error) {
		dir := filepath.Dir(keyring)
		status := filepath.Join(dir, "status")
		payload, err := g.run(envelope, "--keyring", keyring, "--status-file", status,
			"--decrypt")
		if err != nil {
			return nil, err
		}
		text, err := os.ReadFile(status)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(text), "\n") {
			fields := strings.Fields(line)
			if len(fields) > 2 && fields[1] == "VALIDSIG" &&
				strings.EqualFold(fields[len(fields)-1], server.Fingerprint()) {
				return payload, nil
			}
		}
		return nil, errors.New("the credentials carry no valid signature of the server's key")
	})
}
