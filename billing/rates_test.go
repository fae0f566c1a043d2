package billing

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
)

func TestParseDecimal(t *testing.T) {
	cases := []struct {
		text    string
		exp     int
		want    int64
		wantErr bool
	}{
		{"97123.45", 2, 9712345, false},
		{"97123.456", 2, 9712346, false},
		{"97123.454", 2, 9712345, false},
		{"97123.455", 2, 9712346, false},
		{"97123", 2, 9712300, false},
		{"0.5", 0, 1, false},
		{"0.4", 0, 0, false},
		{"000123.1", 2, 12310, false},
		{"0.00000001", 8, 1, false},
		{"21000000", 8, 2_100_000_000_000_000, false},
		{"999999999999999999", 0, 999_999_999_999_999_999, false},
		{"9999999999999999999", 0, 0, true},
		{"", 2, 0, true},
		{".5", 2, 0, true},
		{"5.", 2, 0, true},
		{"-1", 2, 0, true},
		{"+1", 2, 0, true},
		{"1e3", 2, 0, true},
		{"1.2.3", 2, 0, true},
		{" 1", 2, 0, true},
		{"1,5", 2, 0, true},
	}
	for _, tc := range cases {
		got, err := ParseDecimal(tc.text, tc.exp)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseDecimal(%q, %d) error = %v, want error %v", tc.text, tc.exp, err,
				tc.wantErr)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseDecimal(%q, %d) = %d, want %d", tc.text, tc.exp, got, tc.want)
		}
	}
}

func TestPriceToSatoshis(t *testing.T) {
	cases := []struct {
		name  string
		price Price
		rate  Rate
		want  btcutil.Amount
	}{
		{"price equals the rate", Price{"USD", 9_712_345}, Rate{Currency: "USD",
			MinorPerBTC: 9_712_345}, btcutil.SatoshiPerBitcoin},
		{"exact division", Price{"USD", 1}, Rate{Currency: "USD", MinorPerBTC: 100_000_000}, 1},
		{"rounds up", Price{"USD", 1}, Rate{Currency: "USD", MinorPerBTC: 3}, 33_333_334},
		{"rounds up a small remainder", Price{"USD", 1250},
			Rate{Currency: "USD", MinorPerBTC: 9_712_345}, 12871},
		{"yen has no minor unit", Price{"JPY", 1500}, Rate{Currency: "JPY",
			MinorPerBTC: 15_000_000}, 10_000},
		{"BTC needs no rate", Price{CurrencyBTC, 25_000}, Rate{}, 25_000},
	}
	for _, tc := range cases {
		got, err := tc.price.ToSatoshis(tc.rate)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: %v at %d = %d sat, want %d", tc.name, tc.price, tc.rate.MinorPerBTC,
				got, tc.want)
		}
		if tc.price.Currency != CurrencyBTC {
			// The result is the smallest amount worth at least the price.
			worth := func(sat btcutil.Amount) *big.Int {
				v := big.NewInt(int64(sat))
				return v.Mul(v, big.NewInt(tc.rate.MinorPerBTC))
			}
			price := new(big.Int).Mul(big.NewInt(tc.price.Amount),
				big.NewInt(btcutil.SatoshiPerBitcoin))
			if worth(got).Cmp(price) < 0 || worth(got-1).Cmp(price) >= 0 {
				t.Errorf("%s: %d sat is not the smallest amount worth the price", tc.name, got)
			}
		}
	}

	errorCases := []struct {
		name  string
		price Price
		rate  Rate
		want  error
	}{
		{"more than 21 million BTC", Price{"USD", 2_100_000_100}, Rate{Currency: "USD",
			MinorPerBTC: 100}, ErrAmountOverflow},
		{"product overflows 64 bits", Price{"USD", 1 << 62}, Rate{Currency: "USD",
			MinorPerBTC: 1}, ErrAmountOverflow},
		{"BTC beyond supply", Price{CurrencyBTC, btcutil.MaxSatoshi + 1}, Rate{},
			ErrAmountOverflow},
		{"currency mismatch", Price{"USD", 100}, Rate{Currency: "EUR", MinorPerBTC: 1}, nil},
		{"zero rate", Price{"USD", 100}, Rate{Currency: "USD"}, nil},
		{"negative price", Price{"USD", -1}, Rate{Currency: "USD", MinorPerBTC: 1}, nil},
	}
	for _, tc := range errorCases {
		_, err := tc.price.ToSatoshis(tc.rate)
		if err == nil {
			t.Errorf("%s: got no error", tc.name)
		} else if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// tickerServer serves the recorded ticker bodies on 127.0.0.1 and counts requests.
type tickerServer struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	bodies   map[string]string // request URI -> body
	status   int
}

func newTickerServer(t *testing.T, routes map[string]string) *tickerServer {
	t.Helper()
	ts := &tickerServer{bodies: make(map[string]string), status: http.StatusOK}
	for uri, file := range routes {
		body, err := os.ReadFile(filepath.Join("testdata", "rates", file))
		if err != nil {
			t.Fatalf("read recorded response: %v", err)
		}
		ts.bodies[uri] = string(body)
	}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		ts.requests.Add(1)
		ts.mu.Lock()
		body, ok := ts.bodies[r.URL.RequestURI()]
		status := ts.status
		ts.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tickerServer) setStatus(status int) {
	ts.mu.Lock()
	ts.status = status
	ts.mu.Unlock()
}

func TestHTTPRateSources(t *testing.T) {
	fetched := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	ts := newTickerServer(t, map[string]string{
		"/0/public/Ticker?pair=XBTUSD": "kraken_ticker_xbtusd.json",
		"/0/public/Ticker?pair=XBTEUR": "kraken_ticker_error.json",
		"/api/v2/ticker/btcusd/":       "bitstamp_ticker_btcusd.json",
		"/v2/prices/BTC-USD/spot":      "coinbase_spot_btc_usd.json",
		"/v2/prices/BTC-JPY/spot":      "coinbase_spot_btc_jpy.json",
		"/v2/prices/BTC-EUR/spot":      "coinbase_spot_btc_usd.json",
	})
	opts := &HTTPRateOptions{BaseURL: ts.URL + "/", Now: func() time.Time { return fetched }}
	kraken := NewKrakenRateSource(opts)
	bitstamp := NewBitstampRateSource(opts)
	coinbase := NewCoinbaseRateSource(opts)

	cases := []struct {
		source   RateSource
		currency string
		want     int64
	}{
		{kraken, "USD", 9_712_346},   // "97123.45600" rounds half up to cents
		{bitstamp, "USD", 9_711_000}, // "97110"
		{coinbase, "USD", 9_711_804}, // "97118.035"
		{coinbase, "JPY", 15_012_346},
	}
	for _, tc := range cases {
		rate, err := tc.source.Rate(context.Background(), tc.currency)
		if err != nil {
			t.Errorf("%s %s: %v", tc.source.Name(), tc.currency, err)
			continue
		}
		want := Rate{Currency: tc.currency, MinorPerBTC: tc.want, Source: tc.source.Name(),
			FetchedAt: fetched}
		if rate != want {
			t.Errorf("%s %s = %+v, want %+v", tc.source.Name(), tc.currency, rate, want)
		}
	}

	errorCases := []struct {
		source   RateSource
		currency string
		contains string
	}{
		{kraken, "EUR", "Unknown asset pair"},
		{coinbase, "EUR", "expected BTC-EUR"},
		{bitstamp, "EUR", "404"},
		{bitstamp, "XYZ", "unsupported currency"},
		{coinbase, CurrencyBTC, "expected a fiat currency"},
	}
	for _, tc := range errorCases {
		_, err := tc.source.Rate(context.Background(), tc.currency)
		if err == nil || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%s %s: err = %v, want one containing %q", tc.source.Name(), tc.currency,
				err, tc.contains)
		}
	}
}

func TestHTTPRateSourceRejectsBadBodies(t *testing.T) {
	bodies := map[string]string{
		"not JSON":       `<html>maintenance</html>`,
		"float exponent": `{"last": "9.7e4"}`,
		"negative":       `{"last": "-97000"}`,
		"zero":           `{"last": "0"}`,
		"missing last":   `{"bid": "97000"}`,
	}
	for name, body := range bodies {
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
			_ *http.Request) {
			_, _ = w.Write([]byte(body))
		}))
		source := NewBitstampRateSource(&HTTPRateOptions{BaseURL: server.URL})
		if _, err := source.Rate(context.Background(), "USD"); err == nil {
			t.Errorf("%s: got no error", name)
		}
		server.Close()
	}
}

func TestRateProviderFallsBackInOrder(t *testing.T) {
	down := newTickerServer(t, nil)
	down.setStatus(http.StatusServiceUnavailable)
	up := newTickerServer(t, map[string]string{
		"/api/v2/ticker/btcusd/":  "bitstamp_ticker_btcusd.json",
		"/v2/prices/BTC-USD/spot": "coinbase_spot_btc_usd.json",
	})
	provider, err := NewRateProvider(RateProviderConfig{Sources: []RateSource{
		NewKrakenRateSource(&HTTPRateOptions{BaseURL: down.URL}),
		NewBitstampRateSource(&HTTPRateOptions{BaseURL: up.URL}),
		NewCoinbaseRateSource(&HTTPRateOptions{BaseURL: up.URL}),
	}})
	if err != nil {
		t.Fatalf("NewRateProvider: %v", err)
	}
	rate, err := provider.Rate(context.Background(), "USD")
	if err != nil {
		t.Fatalf("Rate: %v", err)
	}
	if rate.Source != "bitstamp" || rate.MinorPerBTC != 9_711_000 {
		t.Errorf("rate = %+v, want bitstamp's 9711000", rate)
	}
	if down.requests.Load() != 1 || up.requests.Load() != 1 {
		t.Errorf("requests: kraken %d, others %d; want 1 and 1 (coinbase not asked)",
			down.requests.Load(), up.requests.Load())
	}
}

func TestRateProviderCachesAndRefreshes(t *testing.T) {
	ts := newTickerServer(t, map[string]string{
		"/v2/prices/BTC-USD/spot": "coinbase_spot_btc_usd.json",
	})
	clock := &storeClock{now: invoiceStart}
	provider, err := NewRateProvider(RateProviderConfig{
		Sources:           []RateSource{NewCoinbaseRateSource(&HTTPRateOptions{BaseURL: ts.URL})},
		RefreshInterval:   time.Minute,
		SpreadBasisPoints: 100,
		Now:               clock.Now,
	})
	if err != nil {
		t.Fatalf("NewRateProvider: %v", err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := provider.Rate(ctx, "USD"); err != nil {
				t.Errorf("Rate: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := ts.requests.Load(); n != 1 {
		t.Errorf("10 concurrent lookups made %d requests, want 1", n)
	}
	rate, _ := provider.Rate(ctx, "USD")
	// 9711804 less 1 %, rounded down: 9711804 × 9900 / 10000 = 9614685.96.
	if rate.MinorPerBTC != 9_614_685 {
		t.Errorf("rate after 100 bp spread = %d, want 9614685", rate.MinorPerBTC)
	}
	clock.now = clock.now.Add(59 * time.Second)
	_, _ = provider.Rate(ctx, "USD")
	if n := ts.requests.Load(); n != 1 {
		t.Errorf("lookup within the refresh interval made %d requests, want 1", n)
	}
	clock.now = clock.now.Add(time.Second)
	_, _ = provider.Rate(ctx, "USD")
	if n := ts.requests.Load(); n != 2 {
		t.Errorf("lookup after the refresh interval made %d requests, want 2", n)
	}
}

func TestRateProviderNamesEveryFailedSource(t *testing.T) {
	down := newTickerServer(t, nil)
	down.setStatus(http.StatusBadGateway)
	provider, err := NewRateProvider(RateProviderConfig{Sources: []RateSource{
		NewKrakenRateSource(&HTTPRateOptions{BaseURL: down.URL}),
		NewBitstampRateSource(&HTTPRateOptions{BaseURL: down.URL}),
		NewCoinbaseRateSource(&HTTPRateOptions{BaseURL: down.URL}),
		&FixedRateSource{Rates: map[string]int64{"EUR": 9_000_000}},
	}})
	if err != nil {
		t.Fatalf("NewRateProvider: %v", err)
	}
	_, err = provider.Rate(context.Background(), "USD")
	var unavailable *RateUnavailableError
	if !errors.As(err, &unavailable) {
		t.Fatalf("err = %v, want a *RateUnavailableError", err)
	}
	for _, name := range []string{"kraken", "bitstamp", "coinbase", "fixed"} {
		if !strings.Contains(err.Error(), name+": ") {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if len(unavailable.Failures) != 4 {
		t.Errorf("%d failures recorded, want 4", len(unavailable.Failures))
	}
	if _, err := provider.Rate(context.Background(), CurrencyBTC); err == nil {
		t.Errorf("rate for BTC: got no error")
	}
}

func TestNewRateProviderChecksConfig(t *testing.T) {
	fixed := &FixedRateSource{Rates: map[string]int64{"USD": 1}}
	bad := map[string]RateProviderConfig{
		"no sources":       {},
		"nil source":       {Sources: []RateSource{nil}},
		"spread too large": {Sources: []RateSource{fixed}, SpreadBasisPoints: 5001},
		"negative refresh": {Sources: []RateSource{fixed}, RefreshInterval: -time.Second},
	}
	for name, config := range bad {
		if _, err := NewRateProvider(config); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
}

// TestRateProviderWaitHonoursContext checks that a lookup waiting for another caller's fetch
// of the same currency gives up when its own context ends, instead of waiting for a slow
// source.
func TestRateProviderWaitHonoursContext(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte(`{"last": "97000.00"}`))
	}))
	defer slow.Close()
	provider, err := NewRateProvider(RateProviderConfig{Sources: []RateSource{
		NewBitstampRateSource(&HTTPRateOptions{BaseURL: slow.URL}),
	}})
	if err != nil {
		t.Fatalf("NewRateProvider: %v", err)
	}

	first := make(chan error, 1)
	go func() {
		_, err := provider.Rate(context.Background(), "USD")
		first <- err
	}()
	<-arrived

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	waited := make(chan error, 1)
	go func() {
		_, err := provider.Rate(ctx, "USD")
		waited <- err
	}()
	select {
	case err := <-waited:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("waiting lookup = %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("waiting lookup ignored its context's deadline")
	}

	close(release)
	if err := <-first; err != nil {
		t.Errorf("fetching lookup: %v", err)
	}
	if _, err := provider.Rate(context.Background(), "USD"); err != nil {
		t.Errorf("lookup after the fetch: %v", err)
	}
}
