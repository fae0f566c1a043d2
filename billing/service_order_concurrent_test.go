package billing

import (
	"context"
	"sync"
	"testing"
)

// TestServiceConcurrentOrdersShareCommits submits many orders at once, one of them twice,
// so that they share commits, and checks that every order gets exactly one stored invoice
// with its event and a distinct address, and that the repeated order gets the same one.
func TestServiceConcurrentOrdersShareCommits(t *testing.T) {
	b := newServiceBundle(t, bundleOptions{})
	ctx := context.Background()
	const orders = 24
	envelopes := make([][]byte, orders)
	for i := range envelopes {
		envelopes[i] = b.customer.order(t, b.server.PublicKey(), svcPlan().ID, "",
			refundAddrA, b.clock.Now())
	}
	key := b.customer.key.PublicKey()
	release := holdGroup(t, b.store)
	invoices := make([]*Invoice, orders+1)
	errs := make([]error, orders+1)
	var wg sync.WaitGroup
	for i := range orders + 1 {
		// The last caller replays the first envelope.
		envelope := envelopes[i%orders]
		wg.Go(func() { invoices[i], errs[i] = b.svc.SubmitOrder(ctx, envelope, key) })
	}
	release(orders + 1)
	wg.Wait()

	destinations := make(map[string]bool)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		if i == orders {
			continue
		}
		inv := invoices[i]
		if destinations[inv.Destination] {
			t.Errorf("address %s given to two invoices", inv.Destination)
		}
		destinations[inv.Destination] = true
		if _, err := b.svc.Invoice(ctx, inv.ID); err != nil {
			t.Errorf("invoice %s of order %d: %v", inv.ID, i, err)
		}
		events, err := b.svc.ListEvents(ctx, inv.ID, 0)
		if err != nil || len(events) == 0 || events[0].Kind != EventInvoiceCreated {
			t.Errorf("events of invoice %s: %v, %v; want invoice.created first", inv.ID,
				events, err)
		}
	}
	if len(destinations) != orders {
		t.Fatalf("%d invoices, want %d", len(destinations), orders)
	}
	if invoices[orders].ID != invoices[0].ID {
		t.Fatalf("the repeated order got invoice %s, the first %s", invoices[orders].ID,
			invoices[0].ID)
	}
}
