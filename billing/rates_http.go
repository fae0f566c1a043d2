package billing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Public ticker endpoints of the exchanges the HTTP rate sources read. Tests and private
// mirrors set another base URL.
const (
	KrakenBaseURL   = "https://api.kraken.com"
	BitstampBaseURL = "https://www.bitstamp.net"
	CoinbaseBaseURL = "https://api.coinbase.com"
)

// maxTickerResponse bounds a ticker response; real ones are under 2 KiB.
const maxTickerResponse = 1 << 20

// HTTPRateSource reads a public exchange ticker over HTTP. Build one with
// NewKrakenRateSource, NewBitstampRateSource or NewCoinbaseRateSource.
type HTTPRateSource struct {
	name    string
	baseURL string
	client  *http.Client
	now     func() time.Time
	// path returns the request path and query for a currency.
	path func(currency string) string
	// price extracts the last price, as a decimal string, from the response body.
	price func(body []byte, currency string) (string, error)
}

// HTTPRateOptions configures an HTTP rate source; the zero value is the default.
type HTTPRateOptions struct {
	// BaseURL replaces the exchange's public endpoint, such as a local mirror.
	BaseURL string
	// Client sends the requests; nil means a client with a 10-second timeout.
	Client *http.Client
	// Now stamps FetchedAt; nil means time.Now.
	Now func() time.Time
}

func newHTTPRateSource(name, defaultBase string, opts *HTTPRateOptions) *HTTPRateSource {
	s := &HTTPRateSource{name: name, baseURL: defaultBase, now: time.Now,
		client: &http.Client{Timeout: 10 * time.Second}}
	if opts != nil {
		if opts.BaseURL != "" {
			s.baseURL = opts.BaseURL
		}
		if opts.Client != nil {
			s.client = opts.Client
		}
		if opts.Now != nil {
			s.now = opts.Now
		}
	}
	s.baseURL = strings.TrimRight(s.baseURL, "/")
	return s
}

// NewKrakenRateSource reads Kraken's public Ticker endpoint (GET /0/public/Ticker?pair=XBTUSD)
// and uses the last trade's price, the first element of "c".
func NewKrakenRateSource(opts *HTTPRateOptions) *HTTPRateSource {
	s := newHTTPRateSource("kraken", KrakenBaseURL, opts)
	s.path = func(currency string) string {
		return "/0/public/Ticker?pair=" + url.QueryEscape("XBT"+currency)
	}
	s.price = parseKrakenTicker
	return s
}

func parseKrakenTicker(body []byte, currency string) (string, error) {
	var response struct {
		Error  []string `json:"error"`
		Result map[string]struct {
			LastTrade []json.Number `json:"c"`
		} `json:"result"`
	}
	if err := decodeTicker(body, &response); err != nil {
		return "", err
	}
	if len(response.Error) > 0 {
		return "", fmt.Errorf("kraken returned errors: %s", strings.Join(response.Error, "; "))
	}
	// Kraken names the pair in its own spelling (XXBTZUSD for XBTUSD); one pair was asked.
	if len(response.Result) != 1 {
		return "", fmt.Errorf("expected one pair in the result, got %d", len(response.Result))
	}
	for _, ticker := range response.Result {
		if len(ticker.LastTrade) == 0 {
			return "", errors.New(`missing last trade price "c"`)
		}
		return ticker.LastTrade[0].String(), nil
	}
	return "", nil
}

// NewBitstampRateSource reads Bitstamp's public ticker (GET /api/v2/ticker/btcusd/) and
// uses its "last" price.
func NewBitstampRateSource(opts *HTTPRateOptions) *HTTPRateSource {
	s := newHTTPRateSource("bitstamp", BitstampBaseURL, opts)
	s.path = func(currency string) string {
		return "/api/v2/ticker/btc" + strings.ToLower(currency) + "/"
	}
	s.price = func(body []byte, _ string) (string, error) {
		var ticker struct {
			Last json.Number `json:"last"`
		}
		if err := decodeTicker(body, &ticker); err != nil {
			return "", err
		}
		if ticker.Last == "" {
			return "", errors.New(`missing "last" price`)
		}
		return ticker.Last.String(), nil
	}
	return s
}

// NewCoinbaseRateSource reads Coinbase's public spot price (GET /v2/prices/BTC-USD/spot) and
// uses data.amount.
func NewCoinbaseRateSource(opts *HTTPRateOptions) *HTTPRateSource {
	s := newHTTPRateSource("coinbase", CoinbaseBaseURL, opts)
	s.path = func(currency string) string {
		return "/v2/prices/BTC-" + url.PathEscape(currency) + "/spot"
	}
	s.price = func(body []byte, currency string) (string, error) {
		var response struct {
			Data struct {
				Amount   json.Number `json:"amount"`
				Base     string      `json:"base"`
				Currency string      `json:"currency"`
			} `json:"data"`
		}
		if err := decodeTicker(body, &response); err != nil {
			return "", err
		}
		if response.Data.Base != "BTC" || response.Data.Currency != currency {
			return "", fmt.Errorf("price is for %s-%s, expected BTC-%s", response.Data.Base,
				response.Data.Currency, currency)
		}
		if response.Data.Amount == "" {
			return "", errors.New("missing data.amount")
		}
		return response.Data.Amount.String(), nil
	}
	return s
}

// decodeTicker decodes a JSON body keeping numbers as their decimal text, never float64.
// Price fields typed json.Number accept both JSON strings and numbers.
func decodeTicker(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid ticker response: %w", err)
	}
	return nil
}

// Name returns the exchange's name.
func (s *HTTPRateSource) Name() string { return s.name }

// Rate fetches the ticker and converts its last price into the currency's minor units,
// rounding half up.
func (s *HTTPRateSource) Rate(ctx context.Context, currency string) (Rate, error) {
	exp, err := CurrencyExponent(currency)
	if err != nil {
		return Rate{}, fmt.Errorf("%s: %w", s.name, err)
	}
	if currency == CurrencyBTC {
		return Rate{}, fmt.Errorf("%s: no rate for BTC: expected a fiat currency", s.name)
	}
	endpoint := s.baseURL + s.path(currency)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return Rate{}, fmt.Errorf("invalid %s URL %s: %w", s.name, endpoint, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return Rate{}, fmt.Errorf("GET %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTickerResponse+1))
	if err != nil {
		return Rate{}, fmt.Errorf("GET %s: reading the response: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Rate{}, fmt.Errorf("GET %s: status %s", endpoint, resp.Status)
	}
	if len(body) > maxTickerResponse {
		return Rate{}, fmt.Errorf("GET %s: response larger than %d bytes", endpoint,
			maxTickerResponse)
	}
	text, err := s.price(body, currency)
	if err != nil {
		return Rate{}, fmt.Errorf("GET %s: %w", endpoint, err)
	}
	minor, err := ParseDecimal(text, exp)
	if err != nil {
		return Rate{}, fmt.Errorf("GET %s: price: %w", endpoint, err)
	}
	if minor <= 0 {
		return Rate{}, fmt.Errorf("GET %s: price %s is not positive", endpoint, text)
	}
	return Rate{Currency: currency, MinorPerBTC: minor, Source: s.name, FetchedAt: s.now()},
		nil
}
