package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// postStatus sends an empty POST and returns the status and body, whatever the status.
func (d *devProcess) postStatus(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Post(d.url+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestDevPayChosenAmounts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a regtest node, the emulator and the server")
	}
	server, client := buildBinaries(t)
	dev := startDev(t, server, client)
	dev.runClient(t, true, "keygen", "--out", "customer.asc")
	sshKey := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e"
	keyFile := filepath.Join(dev.dir, "id.pub")
	if err := os.WriteFile(keyFile, []byte(sshKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := dev.runClient(t, true, "--key", "customer.asc", "order", "--plan", "small-hour",
		"--ssh-key", "id.pub")
	match := invoicePattern.FindStringSubmatch(out)
	if match == nil {
		t.Fatalf("order printed no invoice ID:\n%s", out)
	}
	payPath := "/api/v1/dev/invoices/" + match[1] + "/pay"
	invoicePath := "/api/v1/invoices/" + match[1]

	for _, bad := range []string{"abc", "0", "100000001"} {
		status, body := dev.postStatus(t, payPath+"?sat="+bad)
		if status != http.StatusBadRequest || !strings.Contains(body, "invalid sat") {
			t.Errorf("pay sat=%s: %d %s, want 400 naming sat", bad, status, body)
		}
	}

	// Too little first: the invoice stays open with the part paid.
	dev.post(t, payPath+"?sat=10000")
	dev.post(t, "/api/v1/dev/mine?blocks=2")
	var inv invoiceJSON
	waitFor(t, "the part payment", 30*time.Second, func() bool {
		dev.getJSON(t, invoicePath, &inv)
		return inv.PaidSat == 10_000
	})
	if inv.State == "Settled" {
		t.Fatalf("invoice settled by 10000 of 25000 sat: %+v", inv)
	}
	if !strings.Contains(inv.PaymentURI, "amount=0.00015&") {
		t.Errorf("payment URI after 10000 of 25000 sat = %s, want amount=0.00015",
			inv.PaymentURI)
	}

	// The top-up pays what the invoice lacks.
	dev.post(t, payPath)
	dev.post(t, "/api/v1/dev/mine?blocks=2")
	waitFor(t, "the settlement after the top-up", 30*time.Second, func() bool {
		dev.getJSON(t, invoicePath, &inv)
		return inv.State == "Settled"
	})
	if inv.PaidSat != 25_000 {
		t.Errorf("paid after the top-up = %d sat, want 25000", inv.PaidSat)
	}

	// Paying again needs an explicit amount.
	status, body := dev.postStatus(t, payPath)
	if status != http.StatusBadRequest || !strings.Contains(body, "already paid in full") {
		t.Errorf("second pay without sat: %d %s, want 400 already paid in full", status, body)
	}
	dev.post(t, payPath+"?sat=25000")
	dev.post(t, "/api/v1/dev/mine?blocks=2")
	waitFor(t, "the second payment", 30*time.Second, func() bool {
		dev.getJSON(t, invoicePath, &inv)
		return inv.PaidSat == 50_000
	})
}
