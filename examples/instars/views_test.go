package main

import (
	"testing"

	"github.com/instars/instars/metering"
)

func TestPlanViewPriceText(t *testing.T) {
	tests := []struct {
		price metering.Price
		want  string
	}{
		{metering.Price{FiatMinor: 500, Currency: "USD"}, "5.00 USD"},
		{metering.Price{FiatMinor: 1250, Currency: "JPY"}, "1250 JPY"},
		{metering.Price{Sats: 25_000}, "25000 sats"},
	}
	for _, tt := range tests {
		plan := metering.Plan{ID: "p", Unit: metering.UnitHour, Price: tt.price, MinUnits: 1}
		if got := planView(plan).PriceText; got != tt.want {
			t.Errorf("price text of %+v = %q, want %q", tt.price, got, tt.want)
		}
	}
}
