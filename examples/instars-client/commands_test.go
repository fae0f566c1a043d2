package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSSHKeyRejectsOtherFiles(t *testing.T) {
	const publicKey = "ssh-ed25519 " +
		"AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl you@host"
	tests := []struct {
		name    string
		content string
		wantErr string
	}{
		{"public key", publicKey + "\n", ""},
		{"private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n", "is a private key"},
		{"pgp public key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjME\n",
			"is not an SSH public key"},
		{"two keys", publicKey + "\n" + publicKey + "\n", "is not an SSH public key"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
		if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		line, err := readSSHKey(path)
		if tt.wantErr == "" {
			if err != nil || line != publicKey {
				t.Errorf("%s: readSSHKey = %q, %v; want the key", tt.name, line, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: readSSHKey error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
