package billing

import (
	"regexp"
	"slices"
	"strings"
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
