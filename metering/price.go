package metering

import (
	"fmt"
	"math"
)

// Price is an amount of money: either a fiat amount in the currency's minor unit with its
// ISO 4217 code, or an amount of satoshis. A valid price sets exactly one of the two forms.
type Price struct {
	// FiatMinor is the fiat amount in the currency's minor unit (cents for USD and EUR,
	// yen for JPY). It is set together with Currency.
	FiatMinor int64 `json:"fiat_minor,omitempty"`
	// Currency is the ISO 4217 code of FiatMinor: three upper-case letters such as "EUR".
	Currency string `json:"currency,omitempty"`
	// Sats is the amount in satoshis.
	Sats int64 `json:"sats,omitempty"`
}

// IsFiat reports whether p is set in a fiat currency rather than in satoshis.
func (p Price) IsFiat() bool {
	return p.Currency != "" || p.FiatMinor != 0
}

// String formats the price for people and logs: "1250 EUR minor units" or "5000 sats".
func (p Price) String() string {
	if p.IsFiat() {
		return fmt.Sprintf("%d %s minor units", p.FiatMinor, p.Currency)
	}
	return fmt.Sprintf("%d sats", p.Sats)
}

// Times returns the price of n items at price p. It returns ErrOverflow when the product
// does not fit in an int64 and an error when n is not positive.
func (p Price) Times(n int64) (Price, error) {
	if n <= 0 {
		return Price{}, fmt.Errorf("metering: price multiplier %d: expected a positive count", n)
	}
	fiat, ok := multiply(p.FiatMinor, n)
	if !ok {
		return Price{}, fmt.Errorf("metering: %d x %s: %w", n, p, ErrOverflow)
	}
	sats, ok := multiply(p.Sats, n)
	if !ok {
		return Price{}, fmt.Errorf("metering: %d x %s: %w", n, p, ErrOverflow)
	}
	return Price{FiatMinor: fiat, Currency: p.Currency, Sats: sats}, nil
}

// validate adds the problems of p to errs, with field names under prefix.
func (p Price) validate(errs *fieldErrors, prefix string) {
	fiat := p.IsFiat()
	switch {
	case fiat && p.Sats != 0:
		errs.add(prefix+".sats", p.Sats,
			"0 when the price is in fiat: set either fiat_minor with currency or sats, not both")
	case !fiat && p.Sats <= 0:
		errs.add(prefix+".sats", p.Sats,
			"a positive number of satoshis, or a fiat price in fiat_minor and currency")
	}
	if !fiat {
		return
	}
	if p.FiatMinor <= 0 {
		errs.add(prefix+".fiat_minor", p.FiatMinor,
			"a positive amount in the currency's minor unit (cents for EUR or USD)")
	}
	if !isCurrencyCode(p.Currency) {
		errs.add(prefix+".currency", p.Currency, "an ISO 4217 code of three upper-case letters")
	}
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// multiply returns a*b and whether the product fits in an int64. Both operands are expected
// to be non-negative.
func multiply(a, b int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	if a != 0 && b > math.MaxInt64/a {
		return 0, false
	}
	return a * b, true
}

// add returns a+b and whether the sum fits in an int64. Both operands are expected to be
// non-negative.
func add(a, b int64) (int64, bool) {
	if a < 0 || b < 0 || a > math.MaxInt64-b {
		return 0, false
	}
	return a + b, true
}
