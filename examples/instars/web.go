package main

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/instars/instars/billing"
	"github.com/instars/instars/metering"
	"github.com/instars/instars/pgp"
)

//go:embed web
var webFiles embed.FS

// route is one registered handler. The table of routes is what the OpenAPI document is
// checked against.
type route struct {
	method  string
	pattern string
	access  routeAccess
	handler http.HandlerFunc
}

// routeAccess says who may call a route.
type routeAccess int

const (
	public routeAccess = iota
	adminOnly
	devOnly
)

// webServer serves the pages, the JSON API, the admin area and, in dev mode, the tester's
// controls.
type webServer struct {
	st        *stack
	dev       devControls
	publicURL string
	routes    []route
	mux       *http.ServeMux
	pages     map[string]*template.Template
	limiter   *rateLimiter
	metrics   *metrics
	logger    *slog.Logger
	startedAt time.Time
}

// newWebServer registers every route. dev is nil outside dev mode, and then the dev routes
// do not exist.
func newWebServer(st *stack, dev devControls, publicURL string, limiter *rateLimiter) (
	*webServer, error,
) {
	w := &webServer{st: st, dev: dev, publicURL: strings.TrimRight(publicURL, "/"),
		mux: http.NewServeMux(), limiter: limiter, metrics: newMetrics(),
		logger: st.logger.With("part", "web"), startedAt: time.Now()}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	w.pages = pages
	w.registerPages()
	w.registerAPI()
	w.registerAdmin()
	if dev != nil {
		w.registerDev()
	}
	static, err := fs.Sub(webFiles, "web/static")
	if err != nil {
		return nil, err
	}
	w.handle("GET", "/static/", public, http.StripPrefix("/static/",
		http.FileServerFS(static)).ServeHTTP)
	return w, nil
}

// handle registers a route; admin routes get authentication, every route gets counted.
func (w *webServer) handle(method, pattern string, access routeAccess, h http.HandlerFunc) {
	w.routes = append(w.routes, route{method: method, pattern: pattern, access: access,
		handler: h})
	if access == adminOnly {
		h = w.st.admin.require(h)
	}
	w.mux.HandleFunc(method+" "+pattern, w.metrics.count(pattern, h))
}

func (w *webServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.Header().Set("Referrer-Policy", "no-referrer")
	rw.Header().Set("X-Frame-Options", "DENY")
	w.mux.ServeHTTP(rw, r)
}

// writeJSON sends v as indented JSON.
func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	enc := json.NewEncoder(rw)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiError is the body of every JSON error.
type apiError struct {
	Error string `json:"error"`
	// Code names the kind of error for programs: not_found, invalid_request, rate_limited,
	// not_ready, conflict, unauthorized or internal.
	Code string `json:"code"`
}

// statusFor maps a service error to an HTTP status and an error code.
func statusFor(err error) (int, string) {
	switch {
	case errors.Is(err, billing.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, billing.ErrCredentialsNotReady):
		return http.StatusConflict, "not_ready"
	case errors.Is(err, billing.ErrLatePaymentDecided):
		return http.StatusConflict, "conflict"
	case errors.Is(err, billing.ErrNonceReused):
		// A replayed order, or a client that reused its nonce: only a new order helps.
		return http.StatusConflict, "conflict"
	case errors.Is(err, billing.ErrInvalidOrder), errors.Is(err, billing.ErrLeaseNotExtendable),
		errors.Is(err, pgp.ErrMalformed), errors.Is(err, metering.ErrInvalidExtension),
		errors.Is(err, billing.ErrRefundState), errors.Is(err, errBadRequest):
		return http.StatusBadRequest, "invalid_request"
	case strings.Contains(err.Error(), "opening order envelope"),
		strings.Contains(err.Error(), "pgp:"):
		return http.StatusBadRequest, "invalid_request"
	}
	return http.StatusInternalServerError, "internal"
}

// errBadRequest marks errors in a request's own data.
var errBadRequest = errors.New("invalid request")

func (w *webServer) writeError(rw http.ResponseWriter, r *http.Request, err error) {
	status, code := statusFor(err)
	message := err.Error()
	if status == http.StatusInternalServerError {
		w.logger.Error("request failed", "path", r.URL.Path, "error", err)
		message = "internal error; the server log has the details"
	}
	writeJSON(rw, status, apiError{Error: message, Code: code})
}

// formInt reads a positive integer parameter with a default.
func formInt(r *http.Request, name string, fallback, maximum int) (int, error) {
	text := r.FormValue(name)
	if text == "" {
		return fallback, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > maximum {
		return 0, fmt.Errorf("%w: invalid %s %q: expected 1 to %d", errBadRequest, name, text,
			maximum)
	}
	return n, nil
}
