package pgp

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// DefaultServerKeyName is the user ID of a generated server key.
const DefaultServerKeyName = "InStaRS server"

// ServerKeyOptions configures LoadServerKey and LoadOrGenerateServerKey.
type ServerKeyOptions struct {
	// Passphrase decrypts a protected key file and protects a generated one. Empty means the
	// file is stored unprotected, guarded by its 0600 permissions only.
	Passphrase []byte
	// Name is the user ID of a generated key; empty means DefaultServerKeyName.
	Name string
	// Logger receives the warning about a group-readable file and the notice of a generated key;
	// nil means slog.Default().
	Logger *slog.Logger
	// Now returns the time at which the key must be valid; nil means time.Now.
	Now func() time.Time
}

func (o ServerKeyOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

func (o ServerKeyOptions) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// LoadServerKey reads the server's ASCII-armored private key from path. A file that other users
// may read or write is rejected with ErrKeyFilePermissions (fix: chmod 600); one that the file's
// group may read is accepted with a warning in the log.
func LoadServerKey(path string, options ServerKeyOptions) (*PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading server key: %w", err)
	}
	if err := checkKeyFileMode(path, info, options.logger()); err != nil {
		return nil, err
	}
	armored, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading server key: %w", err)
	}
	key, err := ParsePrivateKey(armored, options.Passphrase, options.now())
	if err != nil {
		return nil, fmt.Errorf("server key %s: %w", path, err)
	}
	return key, nil
}

// LoadOrGenerateServerKey loads the server key from path, or, when no file exists there,
// generates an Ed25519 key (with an X25519 encryption subkey) and stores it with permissions
// 0600. The file appears whole or not at all: it is written to a temporary file in the same
// directory and then linked into place, so when two processes start at once the first key stored
// wins and both use it. generated reports whether this call made the key.
func LoadOrGenerateServerKey(
	path string, options ServerKeyOptions,
) (key *PrivateKey, generated bool, err error) {
	key, err = LoadServerKey(path, options)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}

	name := options.Name
	if name == "" {
		name = DefaultServerKeyName
	}
	fresh, err := GenerateKey(GenerateOptions{Name: name, Algorithm: Ed25519, Now: options.Now})
	if err != nil {
		return nil, false, err
	}
	armored, err := fresh.Armored(options.Passphrase)
	if err != nil {
		return nil, false, err
	}
	stored, err := writeNewFile(path, armored)
	if err != nil {
		return nil, false, fmt.Errorf("storing server key: %w", err)
	}
	if stored {
		options.logger().Info("generated server key", "path", path,
			"fingerprint", fresh.Fingerprint(), "passphrase_protected", len(options.Passphrase) > 0)
	}
	// Load what is on disk: the key just stored, or the one another process stored first.
	key, err = LoadServerKey(path, options)
	return key, stored && err == nil, err
}

// checkKeyFileMode rejects a private key file that others may access and warns about one that
// its group may read. Windows has no such bits, so there it checks nothing.
func checkKeyFileMode(path string, info fs.FileInfo, logger *slog.Logger) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	mode := info.Mode().Perm()
	if mode&0o007 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, which lets other users access the server's "+
			"private key; run chmod 600 %s", ErrKeyFilePermissions, path, mode, path)
	}
	if mode&0o070 != 0 {
		logger.Warn("server key file is accessible to its group; chmod 600 unless that is intended",
			"path", path, "mode", fmt.Sprintf("%04o", mode))
	}
	return nil
}

// writeNewFile stores data at path with mode 0600 unless a file already exists there, in which
// case it leaves that file alone and returns false.
func writeNewFile(path string, data []byte) (stored bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	temp, err := os.CreateTemp(dir, ".instars-key-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(temp.Name())
	// CreateTemp already uses 0600; Chmod states it and survives a different implementation.
	if err := temp.Chmod(0o600); err != nil {
		temp.Close()
		return false, err
	}
	if _, err := temp.Write(data); err != nil {
		temp.Close()
		return false, err
	}
	if err := temp.Sync(); err != nil {
		temp.Close()
		return false, err
	}
	if err := temp.Close(); err != nil {
		return false, err
	}
	// Link, unlike Rename, fails when path exists, so a concurrent writer's key is never replaced.
	if err := os.Link(temp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, syncDir(dir)
}

// syncDir flushes the directory entry of a newly linked file to disk.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	handle, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer handle.Close()
	return handle.Sync()
}
