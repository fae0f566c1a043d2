package metering

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// propertyRuns is the number of random cases each property test checks.
const propertyRuns = 2000

// newRand returns a generator seeded from the test name, so a failure repeats on every run.
func newRand(t *testing.T) *rand.Rand {
	var seed uint64
	for _, c := range t.Name() {
		seed = seed*31 + uint64(c)
	}
	return rand.New(rand.NewPCG(seed, 0x6d65746572696e67))
}

// randomLease returns a started lease with random terms, extensions, sent reminders and
// perhaps a revocation, a suspension or a termination.
func randomLease(t *testing.T, rng *rand.Rand) *Lease {
	t.Helper()
	plan := dailyPlan()
	plan.Unit = Units()[rng.IntN(len(Units()))]
	plan.GraceSeconds = []int64{0, 1, 600, 3600, 86400}[rng.IntN(5)]
	plan.ReminderSeconds = nil
	for _, offset := range []int64{60, 3600, 86400, 7 * 86400, 40 * 86400} {
		if rng.IntN(2) == 0 {
			plan.ReminderSeconds = append(plan.ReminderSeconds, offset)
		}
	}
	first, err := plan.NewExtension("inv-0", 1+rng.Int64N(5), paidAt)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := NewLease("lease-r", plan, first)
	if err != nil {
		t.Fatal(err)
	}

	start := started.Add(time.Duration(rng.Int64N(int64(time.Hour))))
	if _, err := lease.Start(start); err != nil {
		t.Fatal(err)
	}
	for i := range rng.IntN(4) {
		ext, err := plan.NewExtension(fmt.Sprintf("inv-%d", i+1), 1+rng.Int64N(3), start)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lease.Extend(ext); err != nil {
			t.Fatal(err)
		}
	}

	for _, w := range lease.reminderWindows(lease.PaidSeconds(), lease.End()) {
		if rng.IntN(3) == 0 {
			lease.MarkReminderSent(w.reminder.Key)
		}
	}

	if rng.IntN(5) == 0 {
		victim := lease.Extensions[rng.IntN(len(lease.Extensions))]
		if _, err := lease.Revoke(victim.ID, "double spent", start); err != nil {
			t.Fatal(err)
		}
	}

	span := max(lease.GraceEnd().Sub(start), 1)
	switch rng.IntN(6) {
	case 0:
		at := start.Add(time.Duration(rng.Int64N(int64(span))))
		if _, err := lease.Suspend("payment in doubt", at); err != nil {
			t.Fatal(err)
		}
	case 1:
		at := start.Add(time.Duration(rng.Int64N(int64(span))))
		if _, err := lease.Terminate("operator", at); err != nil {
			t.Fatal(err)
		}
	}
	return lease
}

// randomInstant returns an instant around the life of lease: near its edges more often than
// anywhere else, since that is where the decisions change.
func randomInstant(rng *rand.Rand, lease *Lease) time.Time {
	edges := []time.Time{lease.StartedAt, lease.End(), lease.GraceEnd()}
	for _, w := range lease.reminderWindows(lease.PaidSeconds(), lease.End()) {
		edges = append(edges, w.from, w.until)
	}
	if rng.IntN(2) == 0 {
		edge := edges[rng.IntN(len(edges))]
		return edge.Add(time.Duration(rng.Int64N(5)-2) * time.Nanosecond)
	}
	span := lease.GraceEnd().Sub(lease.StartedAt) + 48*time.Hour
	return lease.StartedAt.Add(-24*time.Hour + time.Duration(rng.Int64N(int64(span))))
}

// decisionSignature is the part of a decision that time changes: the state and the keys of
// the due reminders.
func decisionSignature(lease *Lease, now time.Time) string {
	d := lease.Decide(now)
	keys := make([]string, 0, len(d.Reminders))
	for _, r := range d.Reminders {
		keys = append(keys, r.Key)
	}
	return fmt.Sprintf("%s %v", d.State, keys)
}

func TestPropertyNextChange(t *testing.T) {
	rng := newRand(t)
	for run := range propertyRuns {
		lease := randomLease(t, rng)
		now := randomInstant(rng, lease)
		next, ok := lease.NextChange(now)
		current := decisionSignature(lease, now)
		if !ok {
			// Nothing changes by time alone: check a few later instants.
			for _, later := range []time.Duration{1, time.Hour, 1000 * time.Hour} {
				if got := decisionSignature(lease, now.Add(later)); got != current {
					t.Fatalf("run %d at %v: no next change, but at +%v %q became %q",
						run, now, later, current, got)
				}
			}
			continue
		}
		if !next.After(now) {
			t.Fatalf("run %d: NextChange(%v) = %v, not strictly after", run, now, next)
		}
		probes := []time.Time{next.Add(-1)}
		for range 5 {
			probes = append(probes, now.Add(time.Duration(rng.Int64N(int64(next.Sub(now))))))
		}
		for _, probe := range probes {
			if got := decisionSignature(lease, probe); got != current {
				t.Fatalf("run %d: decision changed at %v, before NextChange %v: %q became %q",
					run, probe, next, current, got)
			}
		}
		if got := decisionSignature(lease, next); got == current {
			t.Fatalf("run %d: nothing changed at NextChange %v (%q)", run, next, current)
		}
	}
}

func TestPropertyExtensionOrder(t *testing.T) {
	rng := newRand(t)
	plan := dailyPlan()
	for run := range propertyRuns {
		var exts []Extension
		for i := range 1 + rng.IntN(6) {
			ext, err := plan.NewExtension(fmt.Sprintf("inv-%d", i), 1+rng.Int64N(10),
				started.Add(time.Duration(rng.Int64N(int64(24*time.Hour)))))
			if err != nil {
				t.Fatal(err)
			}
			exts = append(exts, ext)
		}
		var ends []time.Time
		var keys []string
		for range 3 {
			rng.Shuffle(len(exts), func(i, j int) { exts[i], exts[j] = exts[j], exts[i] })
			lease := startedDailyLease(t, 1)
			for _, ext := range exts {
				if _, err := lease.Extend(ext); err != nil {
					t.Fatalf("run %d: Extend(%+v): %v", run, ext, err)
				}
			}
			ends = append(ends, lease.End())
			keys = append(keys, fmt.Sprint(lease.DueReminders(lease.End().Add(-time.Minute))))
		}
		for i := range ends {
			if !ends[i].Equal(ends[0]) || keys[i] != keys[0] {
				t.Fatalf("run %d: orders gave ends %v and reminders %q", run, ends, keys)
			}
		}
	}
}

func TestPropertyPaidSecondsExact(t *testing.T) {
	rng := newRand(t)
	plan := dailyPlan()
	for run := range propertyRuns {
		lease := startedDailyLease(t, 1)
		want := map[string]int64{"inv-first": 86400}
		for range 20 {
			id := fmt.Sprintf("inv-%d", rng.IntN(6))
			units := 1 + rng.Int64N(2)
			if seconds, ok := want[id]; ok {
				units = seconds / 86400 // a retry with the same terms
				if rng.IntN(4) == 0 {
					units++ // a conflicting reuse of the id
				}
			}
			// Paid at any point before the grace end, which moves with every extension.
			at := started.Add(time.Duration(rng.Int64N(int64(lease.GraceEnd().Sub(started)))))
			ext, err := plan.NewExtension(id, units, at)
			if err != nil {
				t.Fatal(err)
			}
			changed, err := lease.Extend(ext)
			seconds, seen := want[id]
			switch {
			case !seen && (err != nil || !changed):
				t.Fatalf("run %d: new extension %q = %v, %v", run, id, changed, err)
			case seen && seconds == ext.Seconds && (err != nil || changed):
				t.Fatalf("run %d: retried extension %q = %v, %v", run, id, changed, err)
			case seen && seconds != ext.Seconds && (err == nil || changed):
				t.Fatalf("run %d: conflicting extension %q = %v, %v", run, id, changed, err)
			}
			if !seen {
				want[id] = ext.Seconds
			}
		}
		var total int64
		for _, seconds := range want {
			total += seconds
		}
		if got := lease.PaidSeconds(); got != total {
			t.Fatalf("run %d: PaidSeconds() = %d, want %d from %v", run, got, total, want)
		}
		if !lease.End().Equal(started.Add(time.Duration(total) * time.Second)) {
			t.Fatalf("run %d: End() = %v, want start plus %d s", run, lease.End(), total)
		}
	}
}

func TestPropertyGraceExtensionHasNoGap(t *testing.T) {
	rng := newRand(t)
	for run := range propertyRuns {
		lease := randomLease(t, rng)
		window := lease.GraceEnd().Sub(lease.StartedAt)
		if lease.Terminated() || window <= 0 {
			continue // no instant left at which a payment continues the lease
		}
		oldEnd := lease.End()
		at := lease.StartedAt.Add(time.Duration(rng.Int64N(int64(window))))
		ext := extension("inv-late", 1, at)
		if _, err := lease.Extend(ext); err != nil {
			t.Fatalf("run %d: Extend paid at %v before grace end: %v", run, at, err)
		}
		if want := oldEnd.Add(24 * time.Hour); !lease.End().Equal(want) {
			t.Fatalf("run %d: End() = %v, want the old end plus a day %v", run, lease.End(), want)
		}
		late := extension("inv-too-late", 1, lease.GraceEnd().Add(time.Duration(rng.Int64N(1e12))))
		if _, err := lease.Extend(late); !errors.Is(err, ErrLeaseEnded) {
			t.Fatalf("run %d: Extend paid after grace end = %v, want ErrLeaseEnded", run, err)
		}
	}
}

func TestPropertyUsage(t *testing.T) {
	rng := newRand(t)
	for run := range propertyRuns {
		lease := randomLease(t, rng)
		points := []time.Time{randomInstant(rng, lease)}
		for range 1 + rng.IntN(6) {
			step := time.Duration(rng.Int64N(int64(48 * time.Hour)))
			points = append(points, points[len(points)-1].Add(step))
		}
		whole, err := lease.Usage(points[0], points[len(points)-1])
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for i := 1; i < len(points); i++ {
			part, err := lease.Usage(points[i-1], points[i])
			if err != nil {
				t.Fatal(err)
			}
			if part.Seconds < 0 {
				t.Fatalf("run %d: negative usage %d", run, part.Seconds)
			}
			sum += part.Seconds
		}
		if sum != whole.Seconds {
			t.Fatalf("run %d: parts add up to %d s, whole interval is %d s", run, sum,
				whole.Seconds)
		}
		if whole.Seconds > lease.PaidSeconds() {
			t.Fatalf("run %d: usage %d s over paid %d s", run, whole.Seconds,
				lease.PaidSeconds())
		}
	}
}
