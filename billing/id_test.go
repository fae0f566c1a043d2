package billing

import (
	"encoding/binary"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNewIDSortsByTime checks that identifiers made in later milliseconds sort after earlier
// ones, that they have the documented form, and that ones made in the same millisecond still
// differ.
func TestNewIDSortsByTime(t *testing.T) {
	form := regexp.MustCompile(`^inv_[0-9a-v]{26}$`)
	var ids []string
	seen := make(map[string]bool)
	deadline := time.Now().Add(20 * time.Millisecond)
	for time.Now().Before(deadline) || len(ids) < 1000 {
		id := NewID("inv")
		if !form.MatchString(id) {
			t.Fatalf("NewID = %q, want inv_ and 26 lower-case base32hex characters", id)
		}
		if seen[id] {
			t.Fatalf("NewID returned %q twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	// Identifiers from different milliseconds are in creation order; within one
	// millisecond the random part decides. The first 9 characters hold 45 of the 48 time
	// bits.
	timePart := func(id string) string { return strings.TrimPrefix(id, "inv_")[:9] }
	for i := 1; i < len(ids); i++ {
		if timePart(ids[i]) < timePart(ids[i-1]) {
			t.Fatalf("%s made after %s sorts before it", ids[i], ids[i-1])
		}
	}
	if first, last := timePart(ids[0]), timePart(ids[len(ids)-1]); first == last {
		t.Fatalf("identifiers over 20 ms all share the time part %s", first)
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	if timePart(sorted[0]) != timePart(ids[0]) {
		t.Errorf("the smallest identifier %s is not from the first millisecond", sorted[0])
	}
}

// TestNewIDLayout decodes identifiers made concurrently and checks that they are unique,
// that the first 48 bits hold the time they were made in milliseconds, and that every one
// of the other 80 bits varies, as random bits do.
func TestNewIDLayout(t *testing.T) {
	const goroutines, perGoroutine = 8, 2000
	before := time.Now().UnixMilli()
	made := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range perGoroutine {
				made[g] = append(made[g], NewID("ord"))
			}
		})
	}
	wg.Wait()
	after := time.Now().UnixMilli()

	seen := make(map[string]bool)
	var anyOne, allOnes [10]byte
	for i := range allOnes {
		allOnes[i] = 0xff
	}
	for _, id := range slices.Concat(made...) {
		if seen[id] {
			t.Fatalf("NewID returned %s twice", id)
		}
		seen[id] = true
		raw, err := idEncoding.DecodeString(strings.ToUpper(strings.TrimPrefix(id, "ord_")))
		if err != nil || len(raw) != 16 {
			t.Fatalf("decode %s: %d bytes, %v; want 16 bytes", id, len(raw), err)
		}
		millis := int64(binary.BigEndian.Uint64(raw[:8]) >> 16)
		if millis < before || millis > after {
			t.Fatalf("%s holds time %d ms, want %d to %d", id, millis, before, after)
		}
		for i, b := range raw[6:] {
			anyOne[i] |= b
			allOnes[i] &= b
		}
	}
	for i := range anyOne {
		if anyOne[i] != 0xff || allOnes[i] != 0 {
			t.Errorf("random byte %d: bits set in some %08b, set in all %08b; want "+
				"every bit to vary", i, anyOne[i], allOnes[i])
		}
	}
}
