package metering

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// dailyPlan returns a valid plan billed per day in euro cents, with a one-hour grace period
// and reminders a day and an hour before the end.
func dailyPlan() Plan {
	return Plan{
		ID:              "small-daily",
		Name:            "Small, per day",
		InstanceType:    "m1.small",
		ImageID:         "emi-0a1b2c3d",
		Unit:            UnitDay,
		Price:           Price{FiatMinor: 250, Currency: "EUR"},
		MinUnits:        1,
		MaxUnits:        90,
		GraceSeconds:    3600,
		ReminderSeconds: []int64{86400, 3600},
	}
}

func TestUnitDuration(t *testing.T) {
	tests := []struct {
		unit Unit
		want time.Duration
	}{
		{UnitHour, time.Hour},
		{UnitDay, 24 * time.Hour},
		{UnitWeek, 168 * time.Hour},
		{UnitMonth, 720 * time.Hour},
		{Unit("year"), 0},
		{Unit(""), 0},
	}
	for _, tt := range tests {
		if got := tt.unit.Duration(); got != tt.want {
			t.Errorf("Unit(%q).Duration() = %v, want %v", tt.unit, got, tt.want)
		}
		if got := tt.unit.Seconds(); got != int64(tt.want/time.Second) {
			t.Errorf("Unit(%q).Seconds() = %d, want %d", tt.unit, got, tt.want/time.Second)
		}
		if got := tt.unit.Valid(); got != (tt.want > 0) {
			t.Errorf("Unit(%q).Valid() = %v, want %v", tt.unit, got, tt.want > 0)
		}
	}
}

func TestParseUnit(t *testing.T) {
	for _, unit := range Units() {
		got, err := ParseUnit(string(unit))
		if err != nil || got != unit {
			t.Errorf("ParseUnit(%q) = %q, %v; want %q, nil", unit, got, err, unit)
		}
	}
	_, err := ParseUnit("Month")
	if err == nil || !strings.Contains(err.Error(), `"Month"`) {
		t.Errorf("ParseUnit(\"Month\") error = %v, want one naming the input", err)
	}
}

func TestPlanValidateAcceptsValid(t *testing.T) {
	plans := map[string]Plan{"fiat": dailyPlan()}
	sats := dailyPlan()
	sats.Price = Price{Sats: 12_000}
	sats.GraceSeconds = 0
	sats.ReminderSeconds = nil
	plans["sats without grace or reminders"] = sats
	for name, plan := range plans {
		if err := plan.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v, want nil", name, err)
		}
	}
}

func TestPlanValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Plan)
		fields []string // every field the error must name
	}{
		{"empty id", func(p *Plan) { p.ID = "" }, []string{"id"}},
		{"id with space", func(p *Plan) { p.ID = "small daily" }, []string{"id"}},
		{"blank name", func(p *Plan) { p.Name = "  " }, []string{"name"}},
		{"no instance type", func(p *Plan) { p.InstanceType = "" }, []string{"instance_type"}},
		{"image id with newline", func(p *Plan) { p.ImageID = "emi-1\n" }, []string{"image_id"}},
		{"unknown unit", func(p *Plan) { p.Unit = "year" }, []string{"unit"}},
		{"no price", func(p *Plan) { p.Price = Price{} }, []string{"price.sats"}},
		{"negative sats", func(p *Plan) { p.Price = Price{Sats: -1} }, []string{"price.sats"}},
		{"fiat and sats", func(p *Plan) { p.Price.Sats = 10 }, []string{"price.sats"}},
		{"fiat without currency", func(p *Plan) { p.Price.Currency = "" },
			[]string{"price.currency"}},
		{"lowercase currency", func(p *Plan) { p.Price.Currency = "eur" },
			[]string{"price.currency"}},
		{"currency without amount", func(p *Plan) { p.Price.FiatMinor = 0 },
			[]string{"price.fiat_minor"}},
		{"zero min units", func(p *Plan) { p.MinUnits = 0 }, []string{"min_units"}},
		{"max below min", func(p *Plan) { p.MinUnits, p.MaxUnits = 5, 4 }, []string{"max_units"}},
		{"paid time overflows", func(p *Plan) { p.MaxUnits = MaxPaidSeconds/86400 + 1 },
			[]string{"max_units"}},
		{"paid and grace time overflow", func(p *Plan) {
			p.MaxUnits = MaxPaidSeconds / 86400
			p.GraceSeconds = 2 * 86400
		}, []string{"max_units"}},
		{"grace leaves no room", func(p *Plan) { p.GraceSeconds = MaxPaidSeconds },
			[]string{"max_units"}},
		{"price overflows", func(p *Plan) {
			p.Unit = UnitHour
			p.Price = Price{Sats: math.MaxInt64 / 10}
			p.MaxUnits = 11
		}, []string{"max_units"}},
		{"negative grace", func(p *Plan) { p.GraceSeconds = -1 }, []string{"grace_seconds"}},
		{"zero reminder", func(p *Plan) { p.ReminderSeconds = []int64{0} },
			[]string{"reminder_seconds[0]"}},
		{"duplicate reminder", func(p *Plan) { p.ReminderSeconds = []int64{60, 3600, 60} },
			[]string{"reminder_seconds[2]"}},
		{"several problems", func(p *Plan) {
			p.ID = ""
			p.Unit = ""
			p.MinUnits = -3
		}, []string{"id", "unit", "min_units"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := dailyPlan()
			tt.change(&plan)
			err := plan.Validate()
			if !errors.Is(err, ErrInvalidPlan) {
				t.Fatalf("Validate() = %v, want an error matching ErrInvalidPlan", err)
			}
			var fields []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fieldErr *FieldError
				if !errors.As(e, &fieldErr) {
					t.Fatalf("error %v is not a *FieldError", e)
				}
				fields = append(fields, fieldErr.Field)
			}
			if !reflect.DeepEqual(fields, tt.fields) {
				t.Errorf("Validate() named fields %q, want %q (error: %v)", fields, tt.fields, err)
			}
		})
	}
}

func TestFieldErrorMessage(t *testing.T) {
	plan := dailyPlan()
	plan.MinUnits = 0
	err := plan.Validate()
	want := "metering: invalid plan field min_units: got 0, expected at least 1"
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %q", err, want)
	}
}

func TestPlanLargestPurchaseFits(t *testing.T) {
	// A plan that validates must be able to sell its largest purchase.
	plan := dailyPlan()
	plan.MaxUnits = (MaxPaidSeconds - plan.GraceSeconds) / 86400
	if err := plan.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	first, err := plan.NewExtension("invoice-1", plan.MaxUnits, time.Now())
	if err != nil {
		t.Fatalf("NewExtension(%d): %v", plan.MaxUnits, err)
	}
	if _, err := NewLease("lease-1", plan, first); err != nil {
		t.Fatalf("NewLease with %d units: %v", plan.MaxUnits, err)
	}
}

func TestPlanPriceFor(t *testing.T) {
	plan := dailyPlan()
	got, err := plan.PriceFor(30)
	if err != nil {
		t.Fatalf("PriceFor(30) error: %v", err)
	}
	if want := (Price{FiatMinor: 7500, Currency: "EUR"}); got != want {
		t.Errorf("PriceFor(30) = %v, want %v", got, want)
	}

	plan.Price = Price{Sats: 21_000}
	got, err = plan.PriceFor(3)
	if err != nil || got != (Price{Sats: 63_000}) {
		t.Errorf("PriceFor(3) = %v, %v; want 63000 sats", got, err)
	}

	for _, units := range []int64{0, -1, 91} {
		if _, err := plan.PriceFor(units); !errors.Is(err, ErrInvalidExtension) {
			t.Errorf("PriceFor(%d) error = %v, want ErrInvalidExtension", units, err)
		}
	}
}

func TestPriceTimesOverflow(t *testing.T) {
	tests := []struct {
		price Price
		n     int64
	}{
		{Price{Sats: math.MaxInt64/2 + 1}, 2},
		{Price{FiatMinor: math.MaxInt64, Currency: "USD"}, 2},
		{Price{Sats: 3_037_000_500}, 3_037_000_500},
	}
	for _, tt := range tests {
		if _, err := tt.price.Times(tt.n); !errors.Is(err, ErrOverflow) {
			t.Errorf("%v.Times(%d) error = %v, want ErrOverflow", tt.price, tt.n, err)
		}
	}
	got, err := Price{Sats: math.MaxInt64 / 7}.Times(7)
	if err != nil || got.Sats != math.MaxInt64/7*7 {
		t.Errorf("Times at the limit = %v, %v; want %d sats", got, err, math.MaxInt64/7*7)
	}
}

func TestPlanSecondsFor(t *testing.T) {
	plan := dailyPlan()
	plan.Unit = UnitMonth
	got, err := plan.SecondsFor(2)
	if err != nil || got != 2*30*86400 {
		t.Errorf("SecondsFor(2) months = %d, %v; want %d", got, err, 2*30*86400)
	}
	plan.Unit = "fortnight"
	if _, err := plan.SecondsFor(1); !errors.Is(err, ErrInvalidPlan) {
		t.Errorf("SecondsFor with unknown unit error = %v, want ErrInvalidPlan", err)
	}
}

func TestPlanNewExtension(t *testing.T) {
	plan := dailyPlan()
	paidAt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ext, err := plan.NewExtension("inv-1", 3, paidAt)
	if err != nil {
		t.Fatalf("NewExtension error: %v", err)
	}
	want := Extension{ID: "inv-1", Units: 3, Seconds: 3 * 86400, PaidAt: paidAt}
	if ext != want {
		t.Errorf("NewExtension = %+v, want %+v", ext, want)
	}
	if _, err := plan.NewExtension("", 3, paidAt); !errors.Is(err, ErrInvalidExtension) {
		t.Errorf("NewExtension with empty id error = %v, want ErrInvalidExtension", err)
	}
	if _, err := plan.NewExtension("inv-2", 3, time.Time{}); !errors.Is(err, ErrInvalidExtension) {
		t.Errorf("NewExtension with zero time error = %v, want ErrInvalidExtension", err)
	}
}

func TestPlanJSONRoundTrip(t *testing.T) {
	plan := dailyPlan()
	data, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"unit":"day"`) {
		t.Errorf("JSON %s does not name the unit as \"day\"", data)
	}
	var back Plan
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, plan) {
		t.Errorf("round trip = %+v, want %+v", back, plan)
	}
}

// FuzzPlanValidate checks that a plan that validates can be priced and timed at its minimum
// and maximum unit counts without overflow, and so at every count between, since both grow
// with the count. It also checks that the plan stays valid through a JSON round trip.
func FuzzPlanValidate(f *testing.F) {
	f.Add("p", "n", "t", "emi-1", "day", int64(250), "EUR", int64(0), int64(1), int64(90),
		int64(3600), int64(86400))
	f.Add("p", "n", "t", "emi-1", "month", int64(0), "", int64(1<<40), int64(1), int64(1<<20),
		int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, id, name, instanceType, image, unit string, fiat int64,
		currency string, sats, minUnits, maxUnits, grace, reminder int64) {
		plan := Plan{
			ID: id, Name: name, InstanceType: instanceType, ImageID: image, Unit: Unit(unit),
			Price:    Price{FiatMinor: fiat, Currency: currency, Sats: sats},
			MinUnits: minUnits, MaxUnits: maxUnits, GraceSeconds: grace,
			ReminderSeconds: []int64{reminder},
		}
		err := plan.Validate()
		if err != nil {
			if !errors.Is(err, ErrInvalidPlan) {
				t.Fatalf("Validate() = %v, want an error matching ErrInvalidPlan", err)
			}
			return
		}
		for _, units := range []int64{plan.MinUnits, plan.MaxUnits} {
			if _, err := plan.PriceFor(units); err != nil {
				t.Fatalf("valid plan %+v: PriceFor(%d) = %v", plan, units, err)
			}
			seconds, err := plan.SecondsFor(units)
			if err != nil || seconds <= 0 || seconds > MaxPaidSeconds {
				t.Fatalf("valid plan %+v: SecondsFor(%d) = %d, %v", plan, units, seconds, err)
			}
		}
		data, err := json.Marshal(plan)
		if err != nil {
			t.Fatal(err)
		}
		var back Plan
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("plan invalid after JSON round trip: %v", err)
		}
	})
}
