package billing

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/btcsuite/btcd/btcutil"
)

// CurrencyBTC is the currency code of plans priced in bitcoin; their price's minor unit is
// the satoshi, so they need no exchange rate.
const CurrencyBTC = "BTC"

// currencyExponents gives the number of minor-unit digits (ISO 4217) of the fiat currencies
// rates are fetched for.
var currencyExponents = map[string]int{
	"USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2,
	"JPY": 0, CurrencyBTC: 8,
}

// CurrencyExponent returns the number of minor-unit digits of the currency (2 for USD,
// 8 for BTC), or an error for a currency the package does not know.
func CurrencyExponent(currency string) (int, error) {
	if exp, ok := currencyExponents[currency]; ok {
		return exp, nil
	}
	return 0, fmt.Errorf("unsupported currency %q: expected one of USD, EUR, GBP, CHF, CAD, "+
		"AUD, JPY or BTC", currency)
}

// Price is an amount in a currency's minor units: cents for USD, satoshis for BTC.
type Price struct {
	// Currency is an upper-case ISO 4217 code, or BTC.
	Currency string
	// Amount is the price in minor units.
	Amount int64
}

// String formats the price with its decimal point, such as "12.50 USD".
func (p Price) String() string {
	exp, err := CurrencyExponent(p.Currency)
	if err != nil {
		return fmt.Sprintf("%d (minor units) %s", p.Amount, p.Currency)
	}
	return formatMinor(p.Amount, exp) + " " + p.Currency
}

// Rate is the price of one bitcoin in a fiat currency's minor units, such as 9712345 for
// 97,123.45 USD, as a source returned it and after the spread. Rates are integers so that
// converting a price is exact integer arithmetic.
type Rate struct {
	// Currency is the fiat currency, an upper-case ISO 4217 code.
	Currency string
	// MinorPerBTC is the value of 1 BTC in the currency's minor units.
	MinorPerBTC int64
	// Source names the source the rate came from.
	Source string
	// FetchedAt is when the source returned it.
	FetchedAt time.Time
}

// IsZero reports whether r is the zero Rate, which invoices priced in BTC carry.
func (r Rate) IsZero() bool { return r.MinorPerBTC == 0 && r.Currency == "" }

// ErrAmountOverflow is returned when a converted amount exceeds the 21 million bitcoin that
// can exist.
var ErrAmountOverflow = errors.New("billing: converted amount exceeds 21 million BTC")

// ToSatoshis converts the price at the rate. Prices in BTC are returned as they are, and the
// rate is ignored. A fiat price is converted as price × 10^8 / rate rounded up to the next
// satoshi, so that the operator never receives less than the price at the locked rate.
func (p Price) ToSatoshis(r Rate) (btcutil.Amount, error) {
	if p.Amount < 0 {
		return 0, fmt.Errorf("invalid price %d: expected zero or more minor units", p.Amount)
	}
	if p.Currency == CurrencyBTC {
		if p.Amount > btcutil.MaxSatoshi {
			return 0, ErrAmountOverflow
		}
		return btcutil.Amount(p.Amount), nil
	}
	if r.Currency != p.Currency {
		return 0, fmt.Errorf("rate is for %q, price is in %q", r.Currency, p.Currency)
	}
	if r.MinorPerBTC <= 0 {
		return 0, fmt.Errorf("invalid rate %d %s per BTC: expected a positive rate",
			r.MinorPerBTC, r.Currency)
	}
	hi, lo := bits.Mul64(uint64(p.Amount), btcutil.SatoshiPerBitcoin)
	divisor := uint64(r.MinorPerBTC)
	if hi >= divisor {
		return 0, ErrAmountOverflow
	}
	quotient, remainder := bits.Div64(hi, lo, divisor)
	if remainder != 0 {
		quotient++
	}
	if quotient > btcutil.MaxSatoshi {
		return 0, ErrAmountOverflow
	}
	return btcutil.Amount(quotient), nil
}

// ParseDecimal parses a non-negative decimal string such as "97123.456" into an integer
// count of 10^-exp units, rounding half away from zero when the string has more digits
// than exp. It accepts digits with at most one decimal point and no sign or exponent, so
// that prices from JSON strings never pass through floating point.
func ParseDecimal(s string, exp int) (int64, error) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && frac == "") || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("invalid decimal %q: expected digits with an optional "+
			"decimal point", s)
	}
	const maxDigits = 18 // every 18-digit number fits in int64
	whole = strings.TrimLeft(whole, "0")
	if len(whole)+exp > maxDigits {
		return 0, fmt.Errorf("invalid decimal %q: too large", s)
	}
	roundUp := false
	if len(frac) > exp {
		roundUp = frac[exp] >= '5'
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	var n int64
	for _, c := range whole + frac {
		n = n*10 + int64(c-'0')
	}
	if roundUp {
		n++
	}
	return n, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatMinor formats n minor units with exp decimal digits.
func formatMinor(n int64, exp int) string {
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign = "-"
		u = -u
	}
	digits := fmt.Sprintf("%0*d", exp+1, u)
	if exp == 0 {
		return sign + digits
	}
	return sign + digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
}
