package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adminRequest sends an admin request with dev mode's credentials and returns the status
// and body. Redirects are not followed, so a form's 303 is seen as such.
func (d *devProcess) adminRequest(t *testing.T, method, path string, form url.Values) (int,
	string,
) {
	t.Helper()
	password, err := readSecretFile(filepath.Join(d.dir, "data", devAdminFile))
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, d.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.SetBasicAuth("admin", password)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// payLate orders the small-hour plan, lets the invoice expire, pays and confirms it, and
// returns the invoice once it is settled and held for the admin.
func payLate(t *testing.T, dev *devProcess) invoiceJSON {
	t.Helper()
	out := dev.runClient(t, true, "--key", "customer.asc", "order", "--plan", "small-hour",
		"--ssh-key", "id.pub")
	match := invoicePattern.FindStringSubmatch(out)
	if match == nil {
		t.Fatalf("order printed no invoice ID:\n%s", out)
	}
	id := match[1]
	dev.post(t, "/api/v1/dev/advance?by=16m")
	var inv invoiceJSON
	waitFor(t, "the invoice's expiry", 30*time.Second, func() bool {
		dev.getJSON(t, "/api/v1/invoices/"+id, &inv)
		return inv.State == "Expired"
	})
	dev.post(t, "/api/v1/dev/invoices/"+id+"/pay")
	dev.post(t, "/api/v1/dev/mine?blocks=2")
	waitFor(t, "the late payment's settlement", time.Minute, func() bool {
		dev.getJSON(t, "/api/v1/invoices/"+id, &inv)
		return inv.State == "Settled"
	})
	if !inv.LatePaymentHeld {
		t.Fatalf("invoice %s settled late under hold is not held: %+v", id, inv)
	}
	if inv.Lease != nil {
		t.Fatalf("held invoice %s already has lease %s", id, inv.Lease.ID)
	}
	return inv
}

func TestDevModeHeldLatePayment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a regtest node, the emulator and the server")
	}
	server, client := buildBinaries(t)
	dev := startDevIn(t, server, client, t.TempDir(), "--late-payments", "hold")
	dev.runClient(t, true, "keygen", "--out", "customer.asc")
	sshKey := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e"
	if err := os.WriteFile(filepath.Join(dev.dir, "id.pub"), []byte(sshKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	accepted := payLate(t, dev)
	status, page := dev.adminRequest(t, http.MethodGet, "/admin/invoices", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /admin/invoices: %d", status)
	}
	if !strings.Contains(page, `action="/admin/invoices/accept"`) ||
		!strings.Contains(page, `value="`+accepted.ID+`"`) {
		t.Errorf("admin invoices page offers no accept button for %s", accepted.ID)
	}
	status, body := dev.adminRequest(t, http.MethodPost,
		"/api/v1/admin/invoices/"+accepted.ID+"/accept", nil)
	if status != http.StatusOK {
		t.Fatalf("accepting %s: %d %s", accepted.ID, status, body)
	}
	var after invoiceJSON
	if err := json.Unmarshal([]byte(body), &after); err != nil {
		t.Fatal(err)
	}
	if after.LatePaymentHeld || after.Lease == nil {
		t.Errorf("after accepting, invoice %s is held %v with lease %+v", after.ID,
			after.LatePaymentHeld, after.Lease)
	}
	out := dev.runClient(t, true, "--key", "customer.asc", "follow", "--timeout", "2m",
		accepted.ID)
	if !leasePattern.MatchString(out) {
		t.Fatalf("the accepted late payment did not start an instance:\n%s", out)
	}

	declined := payLate(t, dev)
	status, _ = dev.adminRequest(t, http.MethodPost, "/admin/invoices/decline",
		url.Values{"invoice": {declined.ID}})
	if status != http.StatusSeeOther {
		t.Fatalf("declining %s with the form: %d, want 303", declined.ID, status)
	}
	status, body = dev.adminRequest(t, http.MethodGet, "/api/v1/admin/refunds", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/admin/refunds: %d", status)
	}
	var refunds []struct {
		InvoiceID string `json:"invoice_id"`
		Reason    string `json:"reason"`
		AmountSat int64  `json:"amount_sat"`
	}
	if err := json.Unmarshal([]byte(body), &refunds); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range refunds {
		if r.InvoiceID == declined.ID && r.Reason == "late_declined" {
			found = true
			if r.AmountSat != declined.PaidSat {
				t.Errorf("refund of %s is %d sat, want the %d sat paid", declined.ID,
					r.AmountSat, declined.PaidSat)
			}
		}
	}
	if !found {
		t.Errorf("no late_declined refund for %s in %s", declined.ID, body)
	}
	status, body = dev.adminRequest(t, http.MethodPost,
		"/api/v1/admin/invoices/"+declined.ID+"/accept", nil)
	if status != http.StatusConflict {
		t.Errorf("accepting the declined %s: %d %s, want 409", declined.ID, status, body)
	}
	status, body = dev.adminRequest(t, http.MethodPost,
		"/api/v1/admin/invoices/"+accepted.ID+"/decline", nil)
	if status != http.StatusConflict {
		t.Errorf("declining the accepted %s: %d %s, want 409", accepted.ID, status, body)
	}
	status, _ = dev.adminRequest(t, http.MethodPost, "/api/v1/admin/invoices/inv_none/decline",
		nil)
	if status != http.StatusNotFound {
		t.Errorf("declining an unknown invoice: %d, want 404", status)
	}
}
