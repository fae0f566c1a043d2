package bitcoin

import (
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
)

func TestParseBTC(t *testing.T) {
	tests := []struct {
		text string
		want btcutil.Amount
	}{
		{"0", 0},
		{"1", 100_000_000},
		{"0.00012", 12_000},
		{"0.00000001", 1},
		{"1.23456789", 123_456_789},
		{"20999999.99999999", 2_099_999_999_999_999},
		{"21000000", btcutil.MaxSatoshi},
		{"21000000.00000000", btcutil.MaxSatoshi},
		{"000000000000001.5", 150_000_000},
		{"1.", 100_000_000},
		{".5", 50_000_000},
		{strings.Repeat("0", 10_000) + "1", 100_000_000},
	}
	for _, test := range tests {
		got, err := ParseBTC(test.text)
		if err != nil {
			t.Errorf("ParseBTC(%q): %v", test.text, err)
			continue
		}
		if got != test.want {
			t.Errorf("ParseBTC(%q) = %d, want %d", test.text, int64(got), int64(test.want))
		}
	}
}

func TestParseBTCRejects(t *testing.T) {
	for _, text := range []string{
		"", ".", "-1", "+1", "1e-3", "1E8", "0x10", " 1", "1 ", "1,5", "1.2.3", "abc", "NaN",
		"Inf", "0.000000001", "1.123456789", "21000000.00000001", "21000001",
		"99999999999999999999", "١", "1_000", "-0", "1e-8", "０.1", "0.1\n",
		strings.Repeat("9", 10_000), "0." + strings.Repeat("0", 10_000) + "1",
	} {
		got, err := ParseBTC(text)
		if !errors.Is(err, ErrInvalidAmount) {
			t.Errorf("ParseBTC(%q) = %d, %v; want ErrInvalidAmount", text, int64(got), err)
		}
	}
}

func TestFormatBTC(t *testing.T) {
	tests := []struct {
		amount         btcutil.Amount
		trimmed, fixed string
	}{
		{0, "0", "0.00000000"},
		{1, "0.00000001", "0.00000001"},
		{12_000, "0.00012", "0.00012000"},
		{100_000_000, "1", "1.00000000"},
		{150_000_000, "1.5", "1.50000000"},
		{btcutil.MaxSatoshi, "21000000", "21000000.00000000"},
		{-12_000, "-0.00012", "-0.00012000"},
		{-1 << 63, "-92233720368.54775808", "-92233720368.54775808"},
	}
	for _, test := range tests {
		if got := FormatBTC(test.amount); got != test.trimmed {
			t.Errorf("FormatBTC(%d) = %s, want %s", int64(test.amount), got, test.trimmed)
		}
		if got := FormatBTCFixed(test.amount); got != test.fixed {
			t.Errorf("FormatBTCFixed(%d) = %s, want %s", int64(test.amount), got, test.fixed)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	for _, amount := range []btcutil.Amount{0, 1, 9, 10, 99_999_999, 100_000_001,
		123_456_789_012, btcutil.MaxSatoshi} {
		for _, text := range []string{FormatBTC(amount), FormatBTCFixed(amount)} {
			got, err := ParseBTC(text)
			if err != nil || got != amount {
				t.Errorf("ParseBTC(%q) = %d, %v; want %d", text, int64(got), err, int64(amount))
			}
		}
	}
}

func FuzzParseBTC(f *testing.F) {
	for _, seed := range []string{"0", "0.00012", "21000000", "1.", ".5", "1e3", "-1",
		"21000000.00000001", "0.123456789", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		amount, err := ParseBTC(text)
		if err != nil {
			if !errors.Is(err, ErrInvalidAmount) {
				t.Fatalf("ParseBTC(%q) error %v does not wrap ErrInvalidAmount", text, err)
			}
			return
		}
		if amount < 0 || amount > btcutil.MaxSatoshi {
			t.Fatalf("ParseBTC(%q) = %d, outside 0..21e14", text, int64(amount))
		}
		for _, formatted := range []string{FormatBTC(amount), FormatBTCFixed(amount)} {
			again, err := ParseBTC(formatted)
			if err != nil || again != amount {
				t.Fatalf("ParseBTC(%q) = %d, %v after formatting %d", formatted,
					int64(again), err, int64(amount))
			}
		}
	})
}
