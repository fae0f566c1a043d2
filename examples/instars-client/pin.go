package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// pinFile is where the client remembers each server's key fingerprint, trusting the key
// seen at the first contact as ssh does with host keys.
func pinFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "instars-client", "servers.json"), nil
}

// checkPinned compares the server's fingerprint with the pinned one, pinning it when the
// server is new.
func (c *client) checkPinned(fingerprint string) error {
	path, err := pinFile()
	if err != nil {
		return nil // no configuration folder: nothing to compare with
	}
	pins := map[string]string{}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &pins); err != nil {
			return fmt.Errorf("%s is not valid JSON: %w", path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	server := strings.TrimRight(c.server, "/")
	if pinned, ok := pins[server]; ok {
		if pinned != fingerprint {
			return fmt.Errorf("the server's key changed: %s was pinned for %s, the server "+
				"now shows %s. If the operator replaced the key (or you started `instars "+
				"dev` with a new data folder), remove the entry from %s", pinned, server,
				fingerprint, path)
		}
		return nil
	}
	pins[server] = fingerprint
	data, err = json.MarshalIndent(pins, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "Pinned the key of %s: %s (in %s)\n", server, fingerprint, path)
	return nil
}
