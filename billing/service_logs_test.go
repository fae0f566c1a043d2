package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/instars/instars/metering"
)

// TestServiceLogsReturnNewestRows stores more alerts, events and webhook deliveries than
// the list methods return and checks that each returns the newest, oldest first.
func TestServiceLogsReturnNewestRows(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, svc *Service, clock *metering.FakeClock) {
		ctx := context.Background()
		const total = maxListed + 5
		start := clock.Now().Add(-time.Hour)
		at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Millisecond) }
		err := svc.inTx(ctx, func(tx *serviceTx) error {
			for i := range total {
				err := insertAlert(ctx, tx.db, Alert{ID: fmt.Sprintf("alr_%06d", i),
					Kind: AlertLatePayment, Subject: "inv_x", Message: "late", CreatedAt: at(i)})
				if err != nil {
					return err
				}
				_, err = tx.db.exec(ctx, `INSERT INTO service_events (id, kind, subject,
					customer, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
					fmt.Sprintf("evt_%06d", i), string(EventInvoiceCreated), "inv_x",
					testCustomer, string(json.RawMessage(`{}`)), micros(at(i)))
				if err != nil {
					return err
				}
				err = insertDelivery(ctx, tx.db, WebhookDelivery{ID: fmt.Sprintf("dlv_%06d", i),
					EventID: "evt_x", Endpoint: "receiver", Attempt: 1, StatusCode: 200,
					Delivered: true, At: at(i)})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("writing %d alerts, events and deliveries: %v", total, err)
		}

		for _, limit := range []int{50, 0} {
			want := limit
			if limit == 0 {
				want = maxListed
			}
			alerts, err := svc.Alerts(ctx, limit)
			if err != nil {
				t.Fatalf("Alerts(%d): %v", limit, err)
			}
			var ids []string
			for _, a := range alerts {
				ids = append(ids, a.ID)
			}
			checkNewest(t, fmt.Sprintf("Alerts(%d)", limit), ids, "alr", total, want)

			events, err := svc.ListEvents(ctx, "", limit)
			if err != nil {
				t.Fatalf("ListEvents(%d): %v", limit, err)
			}
			ids = nil
			for _, ev := range events {
				ids = append(ids, ev.ID)
			}
			checkNewest(t, fmt.Sprintf("ListEvents(%d)", limit), ids, "evt", total, want)
		}

		for _, eventID := range []string{"", "evt_x"} {
			deliveries, err := svc.WebhookDeliveries(ctx, eventID)
			if err != nil {
				t.Fatalf("WebhookDeliveries(%q): %v", eventID, err)
			}
			var ids []string
			for _, d := range deliveries {
				ids = append(ids, d.ID)
			}
			checkNewest(t, fmt.Sprintf("WebhookDeliveries(%q)", eventID), ids, "dlv", total,
				maxListed)
		}
	})
}

// checkNewest checks that ids are the newest want of total IDs named prefix_NNNNNN,
// oldest first.
func checkNewest(t *testing.T, what string, ids []string, prefix string, total, want int) {
	t.Helper()
	if len(ids) != want {
		t.Errorf("%s returned %d rows, want %d", what, len(ids), want)
		return
	}
	for i, id := range ids {
		if expected := fmt.Sprintf("%s_%06d", prefix, total-want+i); id != expected {
			t.Errorf("%s row %d is %s, want %s: the newest %d, oldest first", what, i, id,
				expected, want)
			return
		}
	}
}
