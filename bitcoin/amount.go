package bitcoin

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
)

// ErrInvalidAmount is wrapped by every error ParseBTC returns.
var ErrInvalidAmount = errors.New("bitcoin: invalid amount")

const (
	satoshiPerBitcoin = 100_000_000
	amountDecimals    = 8
)

// ParseBTC converts a decimal BTC string such as "0.00012" or "1.5" to satoshis, exactly.
//
// It accepts digits with an optional decimal point and at most eight decimals, as the BIP21
// amount grammar does ("1.", ".5" and leading zeros included). It rejects an empty string,
// signs, exponents, spaces, other characters, more than eight decimals and values above
// 21 million BTC. The text never passes through a float.
func ParseBTC(text string) (btcutil.Amount, error) {
	if text == "" {
		return 0, fmt.Errorf("%w: empty; expected a BTC value such as 0.0015", ErrInvalidAmount)
	}
	whole, fraction, hasPoint := strings.Cut(text, ".")
	if !isDigits(whole) || !isDigits(fraction) || (whole == "" && fraction == "") {
		return 0, fmt.Errorf("%w: %q; expected digits with an optional decimal point "+
			"(no sign, exponent or spaces), such as 0.0015", ErrInvalidAmount, text)
	}
	if hasPoint && len(fraction) > amountDecimals {
		return 0, fmt.Errorf("%w: %q has %d decimals; a satoshi is 0.00000001 BTC, "+
			"so at most 8 are allowed", ErrInvalidAmount, text, len(fraction))
	}

	whole = strings.TrimLeft(whole, "0")
	// 21 million has 8 digits, so a longer whole part is out of range before any
	// multiplication can overflow.
	if len(whole) > 8 {
		return 0, errAmountTooLarge(text)
	}
	var bitcoins int64
	if whole != "" {
		var err error
		bitcoins, err = strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %q: %v", ErrInvalidAmount, text, err)
		}
	}

	var satoshis int64
	if fraction != "" {
		padded := fraction + strings.Repeat("0", amountDecimals-len(fraction))
		var err error
		satoshis, err = strconv.ParseInt(padded, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %q: %v", ErrInvalidAmount, text, err)
		}
	}

	total := btcutil.Amount(bitcoins*satoshiPerBitcoin + satoshis)
	if total > btcutil.MaxSatoshi {
		return 0, errAmountTooLarge(text)
	}
	return total, nil
}

func errAmountTooLarge(text string) error {
	return fmt.Errorf("%w: %q is more than the 21000000 BTC that can ever exist",
		ErrInvalidAmount, text)
}

func isDigits(text string) bool {
	for i := 0; i < len(text); i++ {
		if text[i] < '0' || text[i] > '9' {
			return false
		}
	}
	return true
}

// FormatBTC formats an amount in BTC with trailing zeros and a bare decimal point removed:
// 12000 satoshis is "0.00012", 1 BTC is "1". This is the form BIP21 URIs use. Negative
// amounts get a leading "-". It uses integer arithmetic only.
func FormatBTC(amount btcutil.Amount) string {
	text := FormatBTCFixed(amount)
	text = strings.TrimRight(text, "0")
	return strings.TrimSuffix(text, ".")
}

// FormatBTCFixed formats an amount in BTC with exactly eight decimals, such as "0.00012000",
// for columns that line up. Negative amounts get a leading "-". It uses integer arithmetic
// only.
func FormatBTCFixed(amount btcutil.Amount) string {
	sign := ""
	magnitude := uint64(amount)
	if amount < 0 {
		sign = "-"
		// Negating in uint64 also covers the most negative int64.
		magnitude = -magnitude
	}
	return fmt.Sprintf("%s%d.%08d", sign, magnitude/satoshiPerBitcoin, magnitude%satoshiPerBitcoin)
}
