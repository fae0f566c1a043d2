package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/instars/instars/billing"
)

func TestRateLimiterTokenBucket(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(6, 2) // one token every 10 s, two at once
	l.now = func() time.Time { return now }
	for i := range 2 {
		if _, ok := l.allow("192.0.2.1"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	wait, ok := l.allow("192.0.2.1")
	if ok {
		t.Fatal("third request within the burst allowed")
	}
	if wait <= 9*time.Second || wait > 10*time.Second {
		t.Errorf("wait = %s, want just under 10 s", wait)
	}
	if _, ok := l.allow("192.0.2.2"); !ok {
		t.Error("another address shares the bucket")
	}
	now = now.Add(10 * time.Second)
	if _, ok := l.allow("192.0.2.1"); !ok {
		t.Error("no token after the refill time")
	}
	if _, ok := l.allow("192.0.2.1"); ok {
		t.Error("two tokens after one refill time")
	}
}

func TestOrderSubmissionAnswers429(t *testing.T) {
	w := &webServer{limiter: newRateLimiter(1, 1)}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/orders", nil)
	req.RemoteAddr = "198.51.100.7:5000"
	if !w.allow(httptest.NewRecorder(), req) {
		t.Fatal("first order refused")
	}
	rec := httptest.NewRecorder()
	if w.allow(rec, req) {
		t.Fatal("second order allowed")
	}
	if rec.Code != http.StatusTooManyRequests {
		t.Errorf("status = %d, want 429", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After = %q, want 60", got)
	}
}

func TestAdminAuthentication(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "password")
	if err := os.WriteFile(file, []byte("s3cret-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const hash = "$2a$10$0725Oy9vwEjqiV9uRK5mmu0rLCJMmVYRxXHqp8jlUolcAR7Kf/xc6"
	for name, cfg := range map[string]adminConfig{
		"file": {User: "admin", PasswordFile: file},
		"hash": {User: "admin", PasswordHash: hash},
	} {
		t.Run(name, func(t *testing.T) {
			auth, err := newAdminAuth(cfg)
			if err != nil {
				t.Fatal(err)
			}
			password := "s3cret-password"
			if name == "hash" {
				password = "correct horse battery staple"
			}
			handler := auth.require(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			})
			for _, c := range []struct {
				user, password string
				want           int
			}{
				{"admin", password, http.StatusNoContent},
				{"admin", password + "x", http.StatusUnauthorized},
				{"root", password, http.StatusUnauthorized},
				{"", "", http.StatusUnauthorized},
			} {
				req := httptest.NewRequest(http.MethodGet, "/admin", nil)
				if c.user != "" {
					req.SetBasicAuth(c.user, c.password)
				}
				rec := httptest.NewRecorder()
				handler(rec, req)
				if rec.Code != c.want {
					t.Errorf("user %q: status %d, want %d", c.user, rec.Code, c.want)
				}
				if c.want == http.StatusUnauthorized &&
					!strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("user %q: no Basic challenge", c.user)
				}
			}
		})
	}
}

func TestOffsetClockPersistsAndOnlyGrows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offset")
	clock, err := loadOffsetClock(path)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock.nowFn = func() time.Time { return base }
	if err := clock.advance(90 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := clock.advance(-time.Minute); err == nil {
		t.Error("a negative advance was accepted")
	}
	if got := clock.Now(); !got.Equal(base.Add(90 * time.Minute)) {
		t.Errorf("Now = %s, want %s", got, base.Add(90*time.Minute))
	}
	again, err := loadOffsetClock(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.offset() != 90*time.Minute {
		t.Errorf("reloaded offset = %s, want 1h30m0s", again.offset())
	}
	if err := os.WriteFile(path, []byte("soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOffsetClock(path); err == nil {
		t.Error("an invalid offset file was accepted")
	}
}

func TestHistoryCountsOpenSettledAndRunning(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(minutes int) time.Time { return start.Add(time.Duration(minutes) * time.Minute) }
	invoices := []*billing.Invoice{
		{ID: "a", State: billing.StateSettled, Paid: btcutil.Amount(1000), CreatedAt: at(0),
			UpdatedAt: at(10)},
		{ID: "b", State: billing.StateExpired, CreatedAt: at(20), UpdatedAt: at(35)},
		{ID: "c", State: billing.StateNew, CreatedAt: at(50)},
	}
	leases := []*billing.Lease{{ID: "l", StartedAt: at(12), InstanceTerminatedAt: at(40)}}
	series := history(invoices, leases, at(60), 7) // every 10 minutes
	want := []chartPoint{
		{At: at(0), OpenInvoices: 1},
		{At: at(10), RevenueSat: 1000},
		{At: at(20), RevenueSat: 1000, OpenInvoices: 1, Running: 1},
		{At: at(30), RevenueSat: 1000, OpenInvoices: 1, Running: 1},
		{At: at(40), RevenueSat: 1000},
		{At: at(50), RevenueSat: 1000, OpenInvoices: 1},
		{At: at(60), RevenueSat: 1000, OpenInvoices: 1},
	}
	for i, p := range series {
		if p != want[i] {
			t.Errorf("point %d = %+v, want %+v", i, p, want[i])
		}
	}
	svg := chartSVG("Open invoices", series, func(p chartPoint) int64 { return p.OpenInvoices })
	if !strings.Contains(svg, `aria-label="Open invoices"`) || !strings.Contains(svg, "<polyline") {
		t.Errorf("chart lacks its label or line: %s", svg)
	}
}

func TestHashPasswordPrintsBcrypt(t *testing.T) {
	defer func(saved io.Reader) { stdin = saved }(stdin)
	stdin = strings.NewReader("a long admin password\n")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"hash-password"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	hash := strings.TrimSpace(stdout.String())
	if err := bcrypt.CompareHashAndPassword([]byte(hash),
		[]byte("a long admin password")); err != nil {
		t.Errorf("printed hash %q does not match the password: %v", hash, err)
	}
	if strings.Contains(stdout.String()+stderr.String(), "a long admin password") {
		t.Error("the password was echoed")
	}
	stdin = strings.NewReader("short\n")
	stdout.Reset()
	if code := run(context.Background(), []string{"hash-password"}, &stdout, &stderr); code == 0 {
		t.Error("a 5-character password was accepted")
	}
}

func TestServeRejectsInvalidConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"serve"}, &stdout, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "missing --config") {
		t.Errorf("serve without --config: exit %d, %q", code, stderr.String())
	}
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte(`{"network": "regtest", "lisen": ":1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"serve", "--config", path}, &stdout,
		&stderr); code == 0 {
		t.Fatal("serve started with an invalid configuration")
	}
	for _, want := range []string{"lisen: unknown field", "account_key: missing",
		"config check"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
