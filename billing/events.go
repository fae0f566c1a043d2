package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// EventKind names a change the service reports, as "subject.change". Webhook receivers and
// live pages switch on it.
type EventKind string

// The event kinds.
const (
	EventInvoiceCreated         EventKind = "invoice.created"
	EventInvoicePaymentReceived EventKind = "invoice.payment_received"
	EventInvoiceProcessing      EventKind = "invoice.processing"
	EventInvoiceSettled         EventKind = "invoice.settled"
	EventInvoiceExpired         EventKind = "invoice.expired"
	EventInvoiceInvalid         EventKind = "invoice.invalid"
	EventInvoicePaidLate        EventKind = "invoice.paid_late"
	// EventInvoiceReverted reports a settled invoice whose payment a chain reorganisation
	// took away.
	EventInvoiceReverted EventKind = "invoice.settlement_reverted"

	EventLeaseStarted   EventKind = "lease.started"
	EventLeaseExtended  EventKind = "lease.extended"
	EventLeaseReminder  EventKind = "lease.reminder"
	EventLeaseSuspended EventKind = "lease.suspended"
	EventLeaseResumed   EventKind = "lease.resumed"
	EventLeaseEnded     EventKind = "lease.ended"
	// EventLeaseFailed reports a paid lease whose instance could not be launched; a refund
	// record is created with it.
	EventLeaseFailed EventKind = "lease.failed"

	EventInstanceLaunched   EventKind = "instance.launched"
	EventInstanceTerminated EventKind = "instance.terminated"

	EventRefundCreated EventKind = "refund.created"
	EventRefundPaid    EventKind = "refund.paid"
)

// Event is one change, stored before it is published and delivered to webhooks under the same
// ID, so a receiver can drop repeats by ID.
type Event struct {
	// ID is unique per event ("evt_..."); a redelivery keeps it.
	ID   string    `json:"id"`
	Kind EventKind `json:"type"`
	// Subject is the ID of the invoice, lease or refund the event is about.
	Subject string `json:"subject"`
	// Customer is the OpenPGP fingerprint of the customer concerned.
	Customer  string          `json:"customer"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// newEvent builds an event whose Data is the JSON encoding of data.
func newEvent(kind EventKind, subject, customer string, now time.Time, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("billing: encoding %s event data: %w", kind, err)
	}
	return Event{
		ID: NewID("evt"), Kind: kind, Subject: subject, Customer: customer,
		CreatedAt: now.UTC().Truncate(time.Microsecond), Data: raw,
	}, nil
}

// insertEvent stores ev in tx and, in the same transaction, enqueues one delivery job per
// webhook endpoint that takes its kind.
func insertEvent(ctx context.Context, tx any, jobs jobQueue, endpoints []WebhookEndpoint,
	ev Event,
) error {
	_, err := runnerFor(tx).exec(ctx, `INSERT INTO service_events
		(id, kind, subject, customer, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		ev.ID, string(ev.Kind), ev.Subject, ev.Customer, string(ev.Data), micros(ev.CreatedAt))
	if err != nil {
		return fmt.Errorf("billing: storing event %s: %w", ev.Kind, err)
	}
	for _, ep := range endpoints {
		if !ep.takes(ev.Kind) {
			continue
		}
		args := webhookArgs{EventID: ev.ID, Endpoint: ep.Name}
		_, err := jobs.insertTx(ctx, tx, args, &river.InsertOpts{
			UniqueOpts: uniqueByArgs, MaxAttempts: webhookMaxAttempts(ep),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// loadEvent reads a stored event.
func loadEvent(ctx context.Context, db sqlRunner, id string) (Event, error) {
	var ev Event
	var kind, data string
	var created int64
	err := queryRow(ctx, db, []any{&ev.ID, &kind, &ev.Subject, &ev.Customer, &data, &created},
		`SELECT id, kind, subject, customer, data, created_at FROM service_events WHERE id = $1`,
		id)
	if err == errNoRows {
		return Event{}, fmt.Errorf("billing: event %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Event{}, fmt.Errorf("billing: reading event %q: %w", id, err)
	}
	ev.Kind, ev.Data, ev.CreatedAt = EventKind(kind), json.RawMessage(data), fromMicros(created)
	return ev, nil
}

// listEvents returns the newest limit events about subject (all events when subject is
// empty), oldest first.
func listEvents(ctx context.Context, db sqlRunner, subject string, limit int) ([]Event, error) {
	rows, err := db.query(ctx, `SELECT id, kind, subject, customer, data, created_at
		FROM service_events WHERE ($1 = '' OR subject = $1)
		ORDER BY created_at DESC, id DESC LIMIT $2`, subject, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("billing: listing events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		var kind, data string
		var created int64
		if err := rows.Scan(&ev.ID, &kind, &ev.Subject, &ev.Customer, &data, &created); err != nil {
			return nil, fmt.Errorf("billing: reading event row: %w", err)
		}
		ev.Kind, ev.Data, ev.CreatedAt = EventKind(kind), json.RawMessage(data), fromMicros(created)
		out = append(out, ev)
	}
	slices.Reverse(out)
	return out, rows.Err()
}

// eventBus fans events out to in-process subscribers once their transaction has committed.
// A subscriber that does not keep up loses events rather than slowing the service down; the
// stored events (ListEvents) are the complete record.
type eventBus struct {
	mu   sync.Mutex
	next int
	subs map[int]chan Event
}

func (b *eventBus) subscribe(buffer int) (<-chan Event, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[int]chan Event{}
	}
	id := b.next
	b.next++
	ch := make(chan Event, buffer)
	b.subs[id] = ch
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if c, ok := b.subs[id]; ok {
			delete(b.subs, id)
			close(c)
		}
	}
}

func (b *eventBus) publish(events ...Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ev := range events {
		for _, ch := range b.subs {
			select {
			case ch <- ev:
			default:
			}
		}
	}
}
