package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// metrics counts HTTP requests per route and status class; the rest of /metrics is read
// from the service when it is scraped.
type metrics struct {
	mu       sync.Mutex
	requests map[requestKey]uint64
}

type requestKey struct {
	route  string
	method string
	code   int
}

func newMetrics() *metrics { return &metrics{requests: map[requestKey]uint64{}} }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush keeps server-sent events working through the recorder.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// count wraps a handler so that its requests are counted under the route's pattern.
func (m *metrics) count(pattern string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		m.mu.Lock()
		m.requests[requestKey{route: pattern, method: r.Method, code: rec.status}]++
		m.mu.Unlock()
	}
}

// serveMetrics writes the Prometheus text exposition format (version 0.0.4).
func (w *webServer) serveMetrics(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var b strings.Builder
	totals, err := w.st.service.Totals(ctx)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	byState := map[string]int{}
	for state, n := range totals.InvoicesByState {
		byState[state.String()] = int(n)
	}
	gauge(&b, "instars_invoices", "Invoices by state.", "state", byState)
	counter(&b, "instars_payments_total", "Payments seen, each output once.",
		totals.Payments)
	counter(&b, "instars_paid_satoshis_total", "Satoshis paid to invoices.",
		int64(totals.PaidSatoshis))
	byStatus := map[string]int{}
	for status, n := range totals.LeasesByStatus {
		byStatus[string(status)] = int(n)
	}
	gauge(&b, "instars_leases", "Leases by provisioning status.", "status", byStatus)
	fmt.Fprintf(&b, "# HELP instars_instances_running Instances running for a lease.\n"+
		"# TYPE instars_instances_running gauge\ninstars_instances_running %d\n",
		totals.InstancesRunning)
	if jobs, err := countJobs(ctx, w.st); err == nil {
		gauge(&b, "instars_jobs", "Background jobs by state.", "state", jobs)
	}
	w.metrics.write(&b)
	fmt.Fprintf(&b, "# HELP instars_uptime_seconds Seconds since the web server started.\n"+
		"# TYPE instars_uptime_seconds gauge\ninstars_uptime_seconds %d\n",
		int64(time.Since(w.startedAt).Seconds()))
	rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = rw.Write([]byte(b.String()))
}

func (m *metrics) write(b *strings.Builder) {
	m.mu.Lock()
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		if keys[i].method != keys[j].method {
			return keys[i].method < keys[j].method
		}
		return keys[i].code < keys[j].code
	})
	fmt.Fprintf(b, "# HELP instars_http_requests_total HTTP requests by route, method "+
		"and status code.\n# TYPE instars_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(b, "instars_http_requests_total{route=%q,method=%q,code=\"%d\"} %d\n",
			k.route, k.method, k.code, m.requests[k])
	}
	m.mu.Unlock()
}

func gauge(b *strings.Builder, name, help, label string, values map[string]int) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "%s{%s=%q} %d\n", name, label, k, values[k])
	}
}

func counter[N int | int64](b *strings.Builder, name, help string, value N) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, value)
}

// countJobs counts River's jobs by state, straight from its table.
func countJobs(ctx context.Context, st *stack) (map[string]int, error) {
	const query = `SELECT state, count(*) FROM river_job GROUP BY state`
	out := map[string]int{}
	if pool := st.store.Pool(); pool != nil {
		rows, err := pool.Query(ctx, query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var state string
			var n int
			if err := rows.Scan(&state, &n); err != nil {
				return nil, err
			}
			out[state] = n
		}
		return out, rows.Err()
	}
	rows, err := st.store.DB().QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		out[state] = n
	}
	return out, rows.Err()
}
