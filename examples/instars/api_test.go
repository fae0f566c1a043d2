package main

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadOrderRequestContentTypes(t *testing.T) {
	tests := []struct {
		contentType string
		body        string
	}{
		{"application/json", `{"order":"ARMORED ORDER","public_key":"ARMORED KEY"}`},
		{"application/json; charset=utf-8", `{"order":"ARMORED ORDER","public_key":"ARMORED KEY"}`},
		{"application/x-www-form-urlencoded", "order=ARMORED+ORDER&public_key=ARMORED+KEY"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/api/v1/orders", strings.NewReader(tt.body))
		r.Header.Set("Content-Type", tt.contentType)
		req, err := readOrderRequest(r)
		if err != nil {
			t.Errorf("%s: %v", tt.contentType, err)
			continue
		}
		if req.Order != "ARMORED ORDER" || req.PublicKey != "ARMORED KEY" {
			t.Errorf("%s: read %+v", tt.contentType, req)
		}
	}
}

func TestReadOrderRequestNamesSizeLimit(t *testing.T) {
	body := `{"order":"` + strings.Repeat("a", maxOrderRequest) + `","public_key":"k"}`
	r := httptest.NewRequest("POST", "/api/v1/orders", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	_, err := readOrderRequest(r)
	if !errors.Is(err, errBadRequest) {
		t.Fatalf("oversized order: %v, want a bad request", err)
	}
	if !strings.Contains(err.Error(), "larger than 262144 bytes") {
		t.Errorf("oversized order error %q does not name the limit", err)
	}
}
