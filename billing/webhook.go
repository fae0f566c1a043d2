package billing

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
)

// Webhook request headers. The signature is HMAC-SHA256, keyed with the endpoint's secret, over
// the raw request body, written as "sha256=" and the lower-case hex digest.
const (
	WebhookSignatureHeader = "X-InStaRS-Signature"
	WebhookEventIDHeader   = "X-InStaRS-Event-Id"
	WebhookEventTypeHeader = "X-InStaRS-Event-Type"
	// WebhookTimestampHeader carries the delivery time in Unix seconds.
	WebhookTimestampHeader = "X-InStaRS-Timestamp"
)

// DefaultWebhookRetrySchedule is how long to wait after each failed delivery: about an hour in
// all over nine attempts, after which the delivery is given up (and can still be redelivered).
var DefaultWebhookRetrySchedule = []time.Duration{
	10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
	10 * time.Minute, 15 * time.Minute, 27 * time.Minute,
}

// DefaultWebhookTimeout bounds one delivery attempt, from connecting to reading the status.
const DefaultWebhookTimeout = 10 * time.Second

// WebhookEndpoint is a receiver of signed event notifications.
type WebhookEndpoint struct {
	// Name identifies the endpoint in the delivery log; it must be unique and stay the same
	// across restarts, because queued deliveries refer to it.
	Name string
	// URL receives a POST with the event as a JSON body.
	URL string
	// Secret keys the HMAC-SHA256 signature; give each endpoint its own, at least 32 bytes.
	Secret []byte
	// Kinds limits the events sent; empty means all.
	Kinds []EventKind
	// Timeout bounds each attempt; zero means DefaultWebhookTimeout.
	Timeout time.Duration
	// RetrySchedule is the wait after each failed attempt; nil means
	// DefaultWebhookRetrySchedule. Its length plus one is the number of attempts.
	RetrySchedule []time.Duration
}

func (ep WebhookEndpoint) takes(kind EventKind) bool {
	return len(ep.Kinds) == 0 || slices.Contains(ep.Kinds, kind)
}

func (ep WebhookEndpoint) retrySchedule() []time.Duration {
	if ep.RetrySchedule == nil {
		return DefaultWebhookRetrySchedule
	}
	return ep.RetrySchedule
}

func webhookMaxAttempts(ep WebhookEndpoint) int { return len(ep.retrySchedule()) + 1 }

func (ep WebhookEndpoint) validate() error {
	switch {
	case ep.Name == "":
		return errors.New("billing: webhook endpoint without a name")
	case !strings.HasPrefix(ep.URL, "http://") && !strings.HasPrefix(ep.URL, "https://"):
		return fmt.Errorf("billing: webhook endpoint %q has URL %q, expected http:// or https://",
			ep.Name, ep.URL)
	case len(ep.Secret) < 16:
		return fmt.Errorf("billing: webhook endpoint %q has a %d-byte secret, expected at "+
			"least 16 bytes (32 recommended)", ep.Name, len(ep.Secret))
	}
	return nil
}

// SignWebhook returns the signature header value for body: "sha256=" and the hex HMAC-SHA256.
func SignWebhook(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// ErrWebhookSignature is returned by VerifyWebhookSignature when the signature does not match.
var ErrWebhookSignature = errors.New("billing: webhook signature mismatch")

// VerifyWebhookSignature checks a received signature header against the raw body, in constant
// time. Receivers call it before parsing the body.
func VerifyWebhookSignature(secret, body []byte, header string) error {
	hexDigest, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return fmt.Errorf("billing: webhook signature %q lacks the sha256= prefix", header)
	}
	got, err := hex.DecodeString(hexDigest)
	if err != nil {
		return fmt.Errorf("billing: webhook signature is not hex: %w", err)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrWebhookSignature
	}
	return nil
}

// webhookArgs is one delivery of one event to one endpoint. Redelivery is empty for the first
// delivery and a fresh ID for each redelivery an operator requests, so the unique key lets
// each run once.
type webhookArgs struct {
	EventID    string `json:"event_id"`
	Endpoint   string `json:"endpoint"`
	Redelivery string `json:"redelivery,omitempty"`
}

func (webhookArgs) Kind() string { return "instars_webhook_delivery" }

// WebhookDelivery is one attempt to deliver an event, as the delivery log records it.
type WebhookDelivery struct {
	ID       string
	EventID  string
	Endpoint string
	// Attempt counts from 1 within one delivery job.
	Attempt int
	// StatusCode is the HTTP status, or 0 when no response came.
	StatusCode int
	// Error is why the attempt failed; empty on success.
	Error     string
	Duration  time.Duration
	Delivered bool
	At        time.Time
}

// webhookSender delivers events; the delivery worker and the service share it.
type webhookSender struct {
	endpoints map[string]WebhookEndpoint
	client    *http.Client
	run       txFunc
	now       func() time.Time
	logger    *slog.Logger
}

// txFunc runs fn in a transaction of the service's database (tx is a *sql.Tx or a pgx.Tx).
type txFunc func(ctx context.Context, fn func(tx any) error) error

// webhookWorker is the River worker for webhookArgs.
type webhookWorker struct {
	river.WorkerDefaults[webhookArgs]
	sender *webhookSender
}

// NextRetry follows the endpoint's retry schedule rather than River's default backoff.
func (w *webhookWorker) NextRetry(job *river.Job[webhookArgs]) time.Time {
	schedule := DefaultWebhookRetrySchedule
	if ep, ok := w.sender.endpoints[job.Args.Endpoint]; ok {
		schedule = ep.retrySchedule()
	}
	if len(schedule) == 0 {
		return time.Now()
	}
	i := min(len(job.Errors), len(schedule)-1)
	return time.Now().Add(schedule[i])
}

// Timeout leaves room for the HTTP timeout and the log write.
func (w *webhookWorker) Timeout(job *river.Job[webhookArgs]) time.Duration {
	return w.sender.timeout(job.Args.Endpoint) + 5*time.Second
}

func (w *webhookWorker) Work(ctx context.Context, job *river.Job[webhookArgs]) error {
	return w.sender.deliver(ctx, job.Args, job.Attempt)
}

func (s *webhookSender) timeout(endpoint string) time.Duration {
	if ep, ok := s.endpoints[endpoint]; ok && ep.Timeout > 0 {
		return ep.Timeout
	}
	return DefaultWebhookTimeout
}

// deliver posts the event once and logs the attempt; an error makes River retry.
func (s *webhookSender) deliver(ctx context.Context, args webhookArgs, attempt int) error {
	ep, ok := s.endpoints[args.Endpoint]
	if !ok {
		// The endpoint was removed from the configuration; retrying would not help.
		s.logger.Warn("webhook endpoint no longer configured", "endpoint", args.Endpoint,
			"event_id", args.EventID)
		return river.JobCancel(fmt.Errorf("billing: webhook endpoint %q not configured",
			args.Endpoint))
	}
	var ev Event
	err := s.run(ctx, func(tx any) error {
		var err error
		ev, err = loadEvent(ctx, runnerFor(tx), args.EventID)
		return err
	})
	if err != nil {
		return err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return river.JobCancel(fmt.Errorf("billing: encoding event %s: %w", ev.ID, err))
	}
	start := time.Now()
	status, postErr := s.post(ctx, ep, ev, body)
	crashPoint(crashWebhookBeforeLog)
	rec := WebhookDelivery{
		ID: NewID("whd"), EventID: ev.ID, Endpoint: ep.Name, Attempt: attempt,
		StatusCode: status, Duration: time.Since(start), Delivered: postErr == nil, At: s.now(),
	}
	if postErr != nil {
		rec.Error = postErr.Error()
	}
	logErr := s.run(ctx, func(tx any) error { return insertDelivery(ctx, runnerFor(tx), rec) })
	if logErr != nil {
		s.logger.Error("recording webhook delivery failed", "event_id", ev.ID,
			"endpoint", ep.Name, "error", logErr)
	}
	if postErr != nil {
		s.logger.Info("webhook delivery failed, will retry", "event_id", ev.ID,
			"endpoint", ep.Name, "attempt", attempt, "status", status, "error", postErr)
		return postErr
	}
	return nil
}

func (s *webhookSender) post(ctx context.Context, ep WebhookEndpoint, ev Event, body []byte) (
	int, error,
) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout(ep.Name))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("billing: building webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "InStaRS-Webhook/1")
	req.Header.Set(WebhookSignatureHeader, SignWebhook(ep.Secret, body))
	req.Header.Set(WebhookEventIDHeader, ev.ID)
	req.Header.Set(WebhookEventTypeHeader, string(ev.Kind))
	req.Header.Set(WebhookTimestampHeader, strconv.FormatInt(s.now().Unix(), 10))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("billing: posting webhook to %s: %w", ep.Name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("billing: webhook %s returned HTTP %d, expected 2xx",
			ep.Name, resp.StatusCode)
	}
	return resp.StatusCode, nil
}

func insertDelivery(ctx context.Context, db sqlRunner, d WebhookDelivery) error {
	_, err := db.exec(ctx, `INSERT INTO webhook_deliveries (id, event_id, endpoint, attempt,
		status_code, error, duration_us, delivered, at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		d.ID, d.EventID, d.Endpoint, int64(d.Attempt), int64(d.StatusCode), d.Error,
		d.Duration.Microseconds(), flag(d.Delivered), micros(d.At))
	if err != nil {
		return fmt.Errorf("billing: logging webhook delivery: %w", err)
	}
	return nil
}

// listDeliveries returns the newest limit entries of the delivery log of one event (of all
// events when eventID is empty), oldest first.
func listDeliveries(ctx context.Context, db sqlRunner, eventID string, limit int) (
	[]WebhookDelivery, error,
) {
	rows, err := db.query(ctx, `SELECT id, event_id, endpoint, attempt, status_code, error,
		duration_us, delivered, at FROM webhook_deliveries WHERE ($1 = '' OR event_id = $1)
		ORDER BY at DESC, id DESC LIMIT $2`, eventID, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("billing: listing webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		var d WebhookDelivery
		var attempt, status, dur, delivered, at int64
		err := rows.Scan(&d.ID, &d.EventID, &d.Endpoint, &attempt, &status, &d.Error, &dur,
			&delivered, &at)
		if err != nil {
			return nil, fmt.Errorf("billing: reading webhook delivery: %w", err)
		}
		d.Attempt, d.StatusCode = int(attempt), int(status)
		d.Duration, d.Delivered, d.At = time.Duration(dur)*time.Microsecond, delivered == 1,
			fromMicros(at)
		out = append(out, d)
	}
	slices.Reverse(out)
	return out, rows.Err()
}
