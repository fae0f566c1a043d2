package main

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/instars/instars/billing"
)

// devWebhookLimit is how many received events the dev receiver keeps.
const devWebhookLimit = 50

// devWebhookSink receives dev mode's own webhook deliveries, checks their signature and keeps
// the latest, so a tester can read what a hosting company's billing system would receive.
type devWebhookSink struct {
	secret []byte
	mu     sync.Mutex
	events []receivedWebhook
}

// receivedWebhook is one delivery the dev receiver accepted.
type receivedWebhook struct {
	ReceivedAt time.Time `json:"received_at"`
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	Subject    string    `json:"subject"`
}

func (s *devWebhookSink) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(rw, "reading the body failed", http.StatusBadRequest)
		return
	}
	err = billing.VerifyWebhookSignature(s.secret, body,
		r.Header.Get(billing.WebhookSignatureHeader))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusUnauthorized)
		return
	}
	var event receivedWebhook
	if err := json.Unmarshal(body, &event); err != nil {
		http.Error(rw, "invalid event JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	event.ReceivedAt = time.Now().UTC()
	s.mu.Lock()
	s.events = append(s.events, event)
	if len(s.events) > devWebhookLimit {
		s.events = s.events[len(s.events)-devWebhookLimit:]
	}
	s.mu.Unlock()
	rw.WriteHeader(http.StatusNoContent)
}

// received returns the kept events, newest first.
func (s *devWebhookSink) received() []receivedWebhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]receivedWebhook, 0, len(s.events))
	for i := len(s.events) - 1; i >= 0; i-- {
		out = append(out, s.events[i])
	}
	return out
}
