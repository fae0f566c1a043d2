package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAdminRejectsBadInputAs400(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a regtest node, the emulator and the server")
	}
	server, client := buildBinaries(t)
	dev := startDev(t, server, client)

	tests := []struct {
		path string
		form url.Values
		// want is a part of the message that contains no quotes, which JSON and HTML escape.
		want string
	}{
		{"/api/v1/admin/webhooks/evt_x/redeliver", nil, "unknown webhook endpoint"},
		{"/api/v1/admin/webhooks/evt_x/redeliver?endpoint=nowhere", nil,
			"nowhere"},
		{"/api/v1/admin/refunds/rfd_x/paid?txid=abc", nil, "invalid txid"},
		{"/admin/webhooks/redeliver", url.Values{"event": {"evt_x"}}, "unknown webhook endpoint"},
		{"/admin/refunds/paid", url.Values{"refund": {"rfd_x"}}, "invalid txid"},
	}
	for _, tt := range tests {
		status, body := dev.adminRequest(t, http.MethodPost, tt.path, tt.form)
		if status != http.StatusBadRequest {
			t.Errorf("POST %s: status %d, want 400\n%s", tt.path, status, body)
		}
		if !strings.Contains(body, tt.want) {
			t.Errorf("POST %s: body lacks %q:\n%s", tt.path, tt.want, body)
		}
	}

	resp, err := http.Get(dev.url + "/api/v1/admin/overview")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body apiError
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("401 of the JSON API is not JSON: %v", err)
	}
	if resp.StatusCode != http.StatusUnauthorized || body.Code != "unauthorized" {
		t.Errorf("GET /api/v1/admin/overview without credentials = %d %+v, want 401 "+
			"unauthorized", resp.StatusCode, body)
	}
}
