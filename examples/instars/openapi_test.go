package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
)

// openAPIPath turns a ServeMux pattern into its OpenAPI path.
func openAPIPath(pattern string) string {
	switch {
	case pattern == "/{$}":
		return "/"
	case strings.HasSuffix(pattern, "/"):
		return pattern + "{file}"
	}
	return pattern
}

// registeredRoutes builds a web server with the dev routes, without starting anything, and
// returns its route table.
func registeredRoutes(t *testing.T) []route {
	t.Helper()
	st := &stack{logger: slog.New(slog.DiscardHandler), admin: &adminAuth{user: "admin"}}
	w, err := newWebServer(st, &devEnvironment{}, "http://127.0.0.1:7080", newRateLimiter(6, 3))
	if err != nil {
		t.Fatal(err)
	}
	return w.routes
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	data, err := webFiles.ReadFile("web/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	routes := registeredRoutes(t)
	if len(routes) < 40 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	described := map[string]bool{}
	for path, methods := range doc.Paths {
		for method := range methods {
			described[strings.ToUpper(method)+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range routes {
		key := r.method + " " + openAPIPath(r.pattern)
		registered[key] = true
		if !described[key] {
			t.Errorf("route %s %s is not in openapi.json", r.method, r.pattern)
		}
	}
	var phantom []string
	for key := range described {
		if !registered[key] {
			phantom = append(phantom, key)
		}
	}
	sort.Strings(phantom)
	for _, key := range phantom {
		t.Errorf("openapi.json describes %s, which no route serves", key)
	}
}

func TestAdminRoutesRequireAuthentication(t *testing.T) {
	for _, r := range registeredRoutes(t) {
		isAdminPath := strings.HasPrefix(r.pattern, "/admin") ||
			strings.HasPrefix(r.pattern, "/api/v1/admin")
		if isAdminPath != (r.access == adminOnly) {
			t.Errorf("%s %s: admin path %v but access %d", r.method, r.pattern, isAdminPath,
				r.access)
		}
		isDevPath := strings.HasPrefix(r.pattern, "/dev") ||
			strings.HasPrefix(r.pattern, "/api/v1/dev")
		if isDevPath != (r.access == devOnly) {
			t.Errorf("%s %s: dev path %v but access %d", r.method, r.pattern, isDevPath,
				r.access)
		}
	}
}

func TestProductionServerHasNoDevRoutes(t *testing.T) {
	st := &stack{logger: slog.New(slog.DiscardHandler), admin: &adminAuth{user: "admin"}}
	w, err := newWebServer(st, nil, "http://127.0.0.1:8080", newRateLimiter(6, 3))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range w.routes {
		if r.access == devOnly {
			t.Errorf("production server registers dev route %s %s", r.method, r.pattern)
		}
	}
	for _, path := range []string{"/dev", "/api/v1/dev/status"} {
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s on a production server = %d, want 404", path, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	w.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/dev/mine", nil))
	if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/v1/dev/mine on a production server = %d, want 404", rec.Code)
	}
}
