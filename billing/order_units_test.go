package billing

import (
	"errors"
	"strings"
	"testing"
)

func TestOrderPayloadUnitsFor(t *testing.T) {
	plan := svcPlan() // 1 to 24 hours
	cases := []struct {
		name     string
		units    int64
		want     int64
		contains string
	}{
		{name: "absent buys the minimum", units: 0, want: 1},
		{name: "minimum", units: 1, want: 1},
		{name: "within the range", units: 5, want: 5},
		{name: "maximum", units: 24, want: 24},
		{name: "above the maximum", units: 25, contains: "expected 1 to 24"},
	}
	for _, tc := range cases {
		got, err := OrderPayload{Plan: plan.ID, Units: tc.units}.UnitsFor(plan)
		if tc.contains != "" {
			if !errors.Is(err, ErrInvalidOrder) || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("%s: err = %v, want ErrInvalidOrder mentioning %q", tc.name, err,
					tc.contains)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: units = %d, want %d", tc.name, got, tc.want)
		}
	}

	plan.MinUnits = 3
	if _, err := (OrderPayload{Units: 2}).UnitsFor(plan); err == nil ||
		!strings.Contains(err.Error(), "expected 3 to 24") {
		t.Errorf("units below the minimum: err = %v, want one naming 3 to 24", err)
	}
}

func TestParseOrderPayloadUnitsAndKey(t *testing.T) {
	cases := []struct {
		name     string
		change   func(map[string]any)
		contains string
	}{
		{name: "units given", change: func(f map[string]any) { f["units"] = 3 }},
		{name: "extension without an SSH key", change: func(f map[string]any) {
			delete(f, "ssh_public_key")
		}},
		{name: "negative units", change: func(f map[string]any) { f["units"] = -1 },
			contains: "invalid units -1"},
		{name: "fractional units", change: func(f map[string]any) { f["units"] = 1.5 },
			contains: "units"},
		{name: "new instance without an SSH key", change: func(f map[string]any) {
			delete(f, "ssh_public_key")
			delete(f, "extends_lease")
		}, contains: "missing ssh_public_key"},
		{name: "extension with a broken SSH key", change: func(f map[string]any) {
			f["ssh_public_key"] = "ssh-ed25519 AAAA"
		}, contains: "ssh_public_key"},
	}
	for _, tc := range cases {
		fields := validPayload()
		tc.change(fields)
		p, err := ParseOrderPayload(encodePayload(t, fields), orderOptions())
		if tc.contains == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			if units, ok := fields["units"].(int); ok && p.Units != int64(units) {
				t.Errorf("%s: units = %d, want %d", tc.name, p.Units, units)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidOrder) || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%s: err = %v, want ErrInvalidOrder mentioning %q", tc.name, err,
				tc.contains)
		}
	}
}
