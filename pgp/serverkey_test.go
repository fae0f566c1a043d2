package pgp

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

func TestLoadOrGenerateServerKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys", "server.asc")
	var logs bytes.Buffer
	options := ServerKeyOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}

	first, generated, err := LoadOrGenerateServerKey(path, options)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	if !generated {
		t.Error("first start: generated = false, want true")
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", mode)
	}
	if !strings.Contains(logs.String(), first.Fingerprint()) {
		t.Errorf("log %q does not record the new key's fingerprint", logs.String())
	}
	if algo := first.entity.PrimaryKey.PubKeyAlgo; algo != packet.PubKeyAlgoEdDSA {
		t.Errorf("generated key algorithm = %d, want EdDSA (Ed25519)", algo)
	}

	second, generated, err := LoadOrGenerateServerKey(path, options)
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	if generated {
		t.Error("second start: generated = true, want false")
	}
	if second.Fingerprint() != first.Fingerprint() {
		t.Errorf("second start fingerprint = %s, want %s",
			second.Fingerprint(), first.Fingerprint())
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want only the key file", len(entries))
	}
}

func TestServerKeyPassphrase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "server.asc")
	options := ServerKeyOptions{Passphrase: []byte("s3cret"), Logger: slog.New(slog.DiscardHandler)}
	key, _, err := LoadOrGenerateServerKey(path, options)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadServerKey(path, ServerKeyOptions{})
	requireErrorIs(t, err, ErrPassphrase)
	loaded, err := LoadServerKey(path, options)
	if err != nil {
		t.Fatalf("loading with the passphrase: %v", err)
	}
	if loaded.Fingerprint() != key.Fingerprint() {
		t.Errorf("fingerprint = %s, want %s", loaded.Fingerprint(), key.Fingerprint())
	}
}

func TestServerKeyFilePermissions(t *testing.T) {
	t.Parallel()
	armored, err := serverKey(t).Armored(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := []struct {
		mode     os.FileMode
		rejected bool
		warned   bool
	}{
		{0o600, false, false},
		{0o400, false, false},
		{0o640, false, true},
		{0o644, true, false},
		{0o602, true, false},
	}
	for _, tc := range cases {
		path := filepath.Join(dir, tc.mode.String())
		if err := os.WriteFile(path, armored, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		options := ServerKeyOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		key, err := LoadServerKey(path, options)
		if tc.rejected {
			requireErrorIs(t, err, ErrKeyFilePermissions)
			if !strings.Contains(err.Error(), "chmod 600") {
				t.Errorf("mode %04o: error %q does not say how to fix it", tc.mode, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("mode %04o: %v", tc.mode, err)
			continue
		}
		if key.Fingerprint() != serverKey(t).Fingerprint() {
			t.Errorf("mode %04o: wrong key loaded", tc.mode)
		}
		if warned := strings.Contains(logs.String(), "level=WARN"); warned != tc.warned {
			t.Errorf("mode %04o: warned = %v, want %v (log %q)",
				tc.mode, warned, tc.warned, logs.String())
		}
	}
}

func TestLoadOrGenerateServerKeyConcurrentStarts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "server.asc")
	options := ServerKeyOptions{Logger: slog.New(slog.DiscardHandler)}
	const starts = 4
	keys := make([]*PrivateKey, starts)
	generated := make([]bool, starts)
	errs := make([]error, starts)
	var wait sync.WaitGroup
	for i := range starts {
		wait.Add(1)
		go func() {
			defer wait.Done()
			keys[i], generated[i], errs[i] = LoadOrGenerateServerKey(path, options)
		}()
	}
	wait.Wait()
	generatedCount := 0
	for i := range starts {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		if keys[i].Fingerprint() != keys[0].Fingerprint() {
			t.Errorf("start %d uses key %s, start 0 uses %s", i, keys[i], keys[0])
		}
		if generated[i] {
			generatedCount++
		}
	}
	if generatedCount != 1 {
		t.Errorf("%d starts report generating the key, want 1", generatedCount)
	}
}

func TestLoadServerKeyMissingFile(t *testing.T) {
	t.Parallel()
	_, err := LoadServerKey(filepath.Join(t.TempDir(), "absent.asc"), ServerKeyOptions{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want a not-exist error", err)
	}
}
