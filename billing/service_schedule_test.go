package billing

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// scheduledJobs returns the scheduled_at of River's jobs of a kind, by their arguments.
func scheduledJobs(t *testing.T, b *serviceBundle, kind string) map[string]time.Time {
	t.Helper()
	rows, err := b.store.DB().QueryContext(context.Background(),
		`SELECT json(args), scheduled_at FROM river_job WHERE kind = ?`, kind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var args []byte
		var at string
		if err := rows.Scan(&args, &at); err != nil {
			t.Fatal(err)
		}
		// riversqlite stores times as text; both layouts occur.
		parsed, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			parsed, err = time.Parse("2006-01-02 15:04:05.999", at)
		}
		if err != nil {
			t.Fatalf("scheduled_at %q: %v", at, err)
		}
		out[string(args)] = parsed
	}
	return out
}

func TestServiceSchedulesJobsOnWallClock(t *testing.T) {
	b := newServiceBundle(t, bundleOptions{configure: func(c *Config) { c.Clock = nil }})
	inv := b.submit(t, "")
	deadlines := scheduledJobs(t, b, invoiceDeadlineArgs{}.Kind())
	for _, at := range []time.Time{inv.ExpiresAt, inv.MonitoringUntil} {
		args, _ := json.Marshal(invoiceDeadlineArgs{InvoiceID: inv.ID, At: micros(at)})
		got, ok := deadlines[string(args)]
		if !ok {
			t.Fatalf("no deadline job for %v among %v", at, deadlines)
		}
		if d := got.Sub(at); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("deadline job scheduled at %v, want %v", got, at)
		}
	}

	b.chain.pay(inv.Destination, inv.Amount, 1)
	l := b.waitLease(t, inv.ID, LeaseRunning)
	reminder := l.EndsAt.Add(-30 * time.Minute)
	args, _ := json.Marshal(leaseDueArgs{LeaseID: l.ID, Due: micros(reminder)})
	got, ok := scheduledJobs(t, b, leaseDueArgs{}.Kind())[string(args)]
	if !ok {
		t.Fatalf("no lease job scheduled for the reminder at %v", reminder)
	}
	if d := got.Sub(reminder); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("reminder job scheduled at %v, want %v", got, reminder)
	}
}
