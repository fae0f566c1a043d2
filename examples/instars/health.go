package main

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// healthCheck is the result of one part's check.
type healthCheck struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// healthz checks the database, the node and the cloud, and answers 503 when one fails.
func (w *webServer) healthz(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	checks := map[string]healthCheck{
		"database": check(w.st.pingDatabase(ctx)),
		"node":     w.st.checkNode(ctx),
		"cloud":    check(w.st.driver.Check(ctx)),
	}
	status := http.StatusOK
	for _, c := range checks {
		if !c.OK {
			status = http.StatusServiceUnavailable
		}
	}
	writeJSON(rw, status, map[string]any{"ok": status == http.StatusOK, "checks": checks})
}

func check(err error) healthCheck {
	if err != nil {
		return healthCheck{Detail: err.Error()}
	}
	return healthCheck{OK: true}
}

func (s *stack) pingDatabase(ctx context.Context) error {
	if pool := s.store.Pool(); pool != nil {
		return pool.Ping(ctx)
	}
	return s.store.DB().PingContext(ctx)
}

// checkNode reports the height of the node's best block, or why it cannot be read.
func (s *stack) checkNode(ctx context.Context) healthCheck {
	tip, err := s.source.Tip(ctx)
	if err != nil {
		return check(err)
	}
	return healthCheck{OK: true, Detail: "tip at height " + strconv.Itoa(int(tip.Height))}
}
