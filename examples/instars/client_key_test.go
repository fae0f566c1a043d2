package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClientNamesKeyOfLease(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a regtest node, the emulator and the server")
	}
	server, client := buildBinaries(t)
	dev := startDev(t, server, client)
	dev.runClient(t, true, "keygen", "--out", "customer.asc")
	dev.runClient(t, true, "keygen", "--out", "other.asc")
	sshKey := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e"
	keyFile := filepath.Join(dev.dir, "id.pub")
	if err := os.WriteFile(keyFile, []byte(sshKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, leaseID := orderAndRun(t, dev)
	var l leaseJSON
	dev.getJSON(t, "/api/v1/leases/"+leaseID, &l)

	out := dev.runClient(t, false, "--key", "other.asc", "credentials", leaseID)
	if !strings.Contains(out, "open only with key "+l.Customer) {
		t.Errorf("credentials with another key do not name the lease's key %s:\n%s",
			l.Customer, out)
	}
}
