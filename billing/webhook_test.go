package billing

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
)

func TestSignWebhookKnownAnswer(t *testing.T) {
	// RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
	got := SignWebhook([]byte("Jefe"), []byte("what do ya want for nothing?"))
	want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Fatalf("SignWebhook = %s, want %s", got, want)
	}
	if err := VerifyWebhookSignature([]byte("Jefe"), []byte("what do ya want for nothing?"),
		want); err != nil {
		t.Fatalf("VerifyWebhookSignature of a good signature: %v", err)
	}
	if err := VerifyWebhookSignature([]byte("Jefe"), []byte("what do ya want for nothing!"),
		want); err != ErrWebhookSignature {
		t.Fatalf("VerifyWebhookSignature of a changed body = %v, want ErrWebhookSignature", err)
	}
	if err := VerifyWebhookSignature([]byte("Jefe"), nil, "5bdc"); err == nil {
		t.Fatal("VerifyWebhookSignature accepted a header without sha256=")
	}
}

// svcFlakyReceiver verifies signatures, fails every third request with HTTP 500 and every
// fifth by answering too late (after recording the event, as a slow receiver would), and
// records the events it accepted by ID.
type svcFlakyReceiver struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	n      int
	seen   map[string]int // event ID to times received with a valid signature
	bad    int
}

func (r *svcFlakyReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := VerifyWebhookSignature(r.secret, body, req.Header.Get(WebhookSignatureHeader)); err != nil {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != req.Header.Get(WebhookEventIDHeader) {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	if n%3 == 0 {
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	r.mu.Lock()
	r.seen[ev.ID]++
	r.mu.Unlock()
	if n%5 == 0 {
		time.Sleep(300 * time.Millisecond) // beyond the endpoint's timeout
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *svcFlakyReceiver) ids() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.seen {
		out[k] = v
	}
	return out
}

func TestWebhookDeliveryRetriesUntilReceived(t *testing.T) {
	ctx := context.Background()
	db := svcOpenSQLite(t)
	if err := migrateService(ctx, db); err != nil {
		t.Fatal(err)
	}
	recv := &svcFlakyReceiver{t: t, secret: []byte("0123456789abcdef0123456789abcdef"),
		seen: map[string]int{}}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	ep := WebhookEndpoint{Name: "portal", URL: srv.URL, Secret: recv.secret,
		Timeout: 150 * time.Millisecond, RetrySchedule: []time.Duration{
			10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond,
			80 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}}
	if err := ep.validate(); err != nil {
		t.Fatal(err)
	}
	sender := &webhookSender{
		endpoints: map[string]WebhookEndpoint{ep.Name: ep}, client: srv.Client(),
		run: func(ctx context.Context, fn func(tx any) error) error { return inTx(ctx, db, fn) },
		now: time.Now, logger: slog.New(slog.DiscardHandler),
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &webhookWorker{sender: sender})
	jobs, err := newJobQueue(ctx, db, jobsConfig{workers: workers,
		pollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done, cancel := jobs.subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()

	const events = 12
	var want []string
	err = inTx(ctx, db, func(tx any) error {
		for i := range events {
			ev, err := newEvent(EventInvoiceSettled, "inv_x", "FPR", time.Now(),
				map[string]int{"n": i})
			if err != nil {
				return err
			}
			want = append(want, ev.ID)
			if err := insertEvent(ctx, tx, jobs, []WebhookEndpoint{ep}, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = jobs.stop(context.Background()) })

	completed := 0
	deadline := time.After(30 * time.Second)
	for completed < events {
		select {
		case e := <-done:
			if e.Kind == river.EventKindJobCompleted {
				completed++
			}
		case <-deadline:
			t.Fatalf("only %d of %d deliveries completed", completed, events)
		}
	}
	seen := recv.ids()
	for _, id := range want {
		if seen[id] == 0 {
			t.Errorf("event %s never reached the receiver", id)
		}
	}
	if len(seen) != events {
		t.Errorf("receiver saw %d distinct event IDs, want %d", len(seen), events)
	}
	if recv.bad != 0 {
		t.Errorf("receiver rejected %d requests for a bad signature or body", recv.bad)
	}

	log, err := listDeliveries(ctx, runnerFor(db), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	failed, delivered := 0, map[string]int{}
	for _, d := range log {
		if d.Delivered {
			delivered[d.EventID]++
		} else {
			failed++
		}
	}
	if failed == 0 {
		t.Error("delivery log has no failed attempt, but the receiver failed some")
	}
	for _, id := range want {
		if delivered[id] != 1 {
			t.Errorf("delivery log has %d successful deliveries of %s, want 1", delivered[id], id)
		}
	}
}

func TestServiceRedeliversWebhookOnRequest(t *testing.T) {
	ctx := context.Background()
	hooks := &webhookLog{ids: map[string]int{}}
	secret := []byte("redelivery-test-secret-0123456789")
	srv := httptest.NewServer(hooks.handler(secret))
	t.Cleanup(srv.Close)
	b := newServiceBundle(t, bundleOptions{configure: func(c *Config) {
		c.Webhooks = []WebhookEndpoint{{Name: "portal", URL: srv.URL, Secret: secret,
			Kinds: []EventKind{EventInvoiceCreated}}}
	}})
	inv := b.submit(t, "")
	events, err := b.svc.ListEvents(ctx, inv.ID, 0)
	if err != nil || len(events) != 1 || events[0].Kind != EventInvoiceCreated {
		t.Fatalf("events of a new invoice: %+v, %v", events, err)
	}
	id := events[0].ID
	svcWaitFor(t, 10*time.Second, "the first delivery", func() bool { return hooks.has([]string{id}) })

	if err := b.svc.RedeliverWebhook(ctx, id, "nowhere"); err == nil {
		t.Fatal("RedeliverWebhook to an unknown endpoint succeeded")
	}
	if err := b.svc.RedeliverWebhook(ctx, "evt_missing", "portal"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RedeliverWebhook of an unknown event: %v, want ErrNotFound", err)
	}
	if err := b.svc.RedeliverWebhook(ctx, id, "portal"); err != nil {
		t.Fatal(err)
	}
	svcWaitFor(t, 10*time.Second, "the redelivery", func() bool {
		hooks.mu.Lock()
		defer hooks.mu.Unlock()
		return hooks.ids[id] == 2
	})
	var log []WebhookDelivery
	svcWaitFor(t, 10*time.Second, "two deliveries in the log", func() bool {
		var err error
		log, err = b.svc.WebhookDeliveries(ctx, id)
		return err == nil && len(log) >= 2
	})
	if len(log) != 2 || !log[0].Delivered || !log[1].Delivered || log[0].StatusCode != 200 {
		t.Fatalf("delivery log %+v, want two successful deliveries", log)
	}
	b.chain.pay(inv.Destination, inv.Amount, 1)
	b.waitLease(t, inv.ID, LeaseRunning)
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	if len(hooks.ids) != 1 {
		t.Fatalf("receiver got %d event IDs, want only invoice.created, its endpoint's kind",
			len(hooks.ids))
	}
}
