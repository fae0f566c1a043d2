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

// healthz checks the database, the node, the cloud and that payments are being followed,
// and responds 503 when one fails.
func (w *webServer) healthz(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	checks := map[string]healthCheck{
		"database": check(w.st.pingDatabase(ctx)),
		"node":     w.st.checkNode(ctx),
		"cloud":    check(w.st.driver.Check(ctx)),
		"payments": w.st.checkPayments(),
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

// checkPayments reports whether the payment gateway is running: while it is stopped, or
// waiting to restart, payments go unseen.
func (s *stack) checkPayments() healthCheck {
	running, err := s.service.GatewayRunning()
	switch {
	case running:
		return healthCheck{OK: true, Detail: "following payments"}
	case err != nil:
		return healthCheck{Detail: "the payment gateway stopped: " + err.Error()}
	default:
		return healthCheck{Detail: "the payment gateway is not running"}
	}
}

func (s *stack) pingDatabase(ctx context.Context) error {
	if pool := s.store.Pool(); pool != nil {
		return pool.Ping(ctx)
	}
	return s.store.DB().PingContext(ctx)
}

// staleTip is how old the best block may be before the node counts as not synced. Blocks
// come every ten minutes on average, and an hour-long gap happens a few times a week, so
// three hours is rare on a synced node of a public network.
const staleTip = 3 * time.Hour

// checkNode reports the node's best block, and a failure when the node cannot be read or,
// outside regtest, when its best block is older than staleTip: the node is still syncing or
// cut off, and payments would be seen late.
func (s *stack) checkNode(ctx context.Context) healthCheck {
	tip, err := s.source.Tip(ctx)
	if err != nil {
		return check(err)
	}
	block, err := s.source.Block(ctx, tip.Hash)
	if err != nil {
		return check(err)
	}
	age := s.clock.Now().Sub(block.Header.Timestamp).Round(time.Second)
	detail := "tip at height " + strconv.Itoa(int(tip.Height)) + ", " + age.String() + " old"
	if s.network.Name != "regtest" && age > staleTip {
		return healthCheck{Detail: detail + ": the node is syncing or cut off from its peers"}
	}
	return healthCheck{OK: true, Detail: detail}
}
