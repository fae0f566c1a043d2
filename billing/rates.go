package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"strings"
	"sync"
	"time"
)

// RateSource returns the current price of one bitcoin in a fiat currency.
type RateSource interface {
	// Name returns a short name for logs and errors, such as "kraken".
	Name() string
	// Rate returns the price of 1 BTC in the currency's minor units (see Rate). The
	// returned Rate has Source and FetchedAt set.
	Rate(ctx context.Context, currency string) (Rate, error)
}

// FixedRateSource returns the same rates every time, for development and tests.
type FixedRateSource struct {
	// Rates maps a currency code to the price of 1 BTC in its minor units.
	Rates map[string]int64
	// Now stamps FetchedAt; nil means time.Now.
	Now func() time.Time
}

// Name returns "fixed".
func (s *FixedRateSource) Name() string { return "fixed" }

// Rate returns the configured rate, or an error for a currency it has none for.
func (s *FixedRateSource) Rate(_ context.Context, currency string) (Rate, error) {
	minor, ok := s.Rates[currency]
	if !ok || minor <= 0 {
		return Rate{}, fmt.Errorf("fixed rates have no positive rate for %q", currency)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return Rate{Currency: currency, MinorPerBTC: minor, Source: s.Name(), FetchedAt: now()}, nil
}

// SourceFailure is one source's failure to return a rate.
type SourceFailure struct {
	Source string
	Err    error
}

// RateUnavailableError is returned when no source returned a rate; it names each source
// and why it failed.
type RateUnavailableError struct {
	Currency string
	Failures []SourceFailure
}

func (e *RateUnavailableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no exchange rate for %s: every source failed", e.Currency)
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "; %s: %v", f.Source, f.Err)
	}
	return b.String()
}

// Unwrap returns each source's error.
func (e *RateUnavailableError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// RateProviderConfig configures a RateProvider.
type RateProviderConfig struct {
	// Sources are asked in order until one returns a rate. At least one is required.
	Sources []RateSource
	// RefreshInterval is how long a fetched rate is reused before the sources are asked
	// again; 0 means one minute.
	RefreshInterval time.Duration
	// SpreadBasisPoints lowers every rate by this much (100 = 1 %), rounding down, so the
	// customer pays that much more bitcoin: a margin against the rate moving while the
	// invoice is open. 0 means none; at most 5000.
	SpreadBasisPoints uint32
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives a warning when a source fails; nil discards it.
	Logger *slog.Logger
}

// maxSpreadBasisPoints bounds the spread at 50 %; more is a configuration mistake.
const maxSpreadBasisPoints = 5000

// RateProvider is a RateSource that caches the rates of other sources, falls back from one
// source to the next, and applies a spread. It is safe for concurrent use; callers asking
// for the same currency while it is fetched wait for that fetch instead of starting their
// own.
type RateProvider struct {
	config RateProviderConfig
	mu     sync.Mutex
	cache  map[string]*cachedRate
}

// cachedRate is one currency's rate. Its fetching channel is a lock held while the rate is
// read or fetched; a channel rather than a mutex, so that a caller waiting behind a slow
// fetch can give up when its context ends.
type cachedRate struct {
	fetching  chan struct{}
	rate      Rate
	fetchedAt time.Time
}

var _ RateSource = (*RateProvider)(nil)

// NewRateProvider checks the configuration and returns a provider.
func NewRateProvider(config RateProviderConfig) (*RateProvider, error) {
	if len(config.Sources) == 0 {
		return nil, errors.New("rate provider: Sources: expected at least one source")
	}
	for i, s := range config.Sources {
		if s == nil {
			return nil, fmt.Errorf("rate provider: Sources[%d] is nil", i)
		}
	}
	if config.SpreadBasisPoints > maxSpreadBasisPoints {
		return nil, fmt.Errorf("rate provider: SpreadBasisPoints %d: expected at most %d",
			config.SpreadBasisPoints, maxSpreadBasisPoints)
	}
	if config.RefreshInterval < 0 {
		return nil, fmt.Errorf("rate provider: RefreshInterval %s: expected 0 or more",
			config.RefreshInterval)
	}
	if config.RefreshInterval == 0 {
		config.RefreshInterval = time.Minute
	}
	if config.Now == nil {
		config.Now = time.Now
	}
	if config.Logger == nil {
		config.Logger = slog.New(slog.DiscardHandler)
	}
	return &RateProvider{config: config, cache: make(map[string]*cachedRate)}, nil
}

// Name returns the sources' names joined with commas.
func (p *RateProvider) Name() string {
	names := make([]string, len(p.config.Sources))
	for i, s := range p.config.Sources {
		names[i] = s.Name()
	}
	return strings.Join(names, ",")
}

// Rate returns the currency's rate after the spread: the cached one if it is younger than
// the refresh interval, otherwise the first rate a source returns. When every source fails
// it returns a *RateUnavailableError.
func (p *RateProvider) Rate(ctx context.Context, currency string) (Rate, error) {
	if _, err := CurrencyExponent(currency); err != nil || currency == CurrencyBTC {
		return Rate{}, fmt.Errorf("no exchange rate for %q: expected a fiat currency",
			currency)
	}
	p.mu.Lock()
	entry := p.cache[currency]
	if entry == nil {
		entry = &cachedRate{fetching: make(chan struct{}, 1)}
		p.cache[currency] = entry
	}
	p.mu.Unlock()

	select {
	case entry.fetching <- struct{}{}:
	case <-ctx.Done():
		return Rate{}, fmt.Errorf("waiting for the %s exchange rate: %w", currency, ctx.Err())
	}
	defer func() { <-entry.fetching }()
	now := p.config.Now()
	if !entry.fetchedAt.IsZero() && now.Sub(entry.fetchedAt) < p.config.RefreshInterval {
		return entry.rate, nil
	}
	rate, err := p.fetch(ctx, currency)
	if err != nil {
		return Rate{}, err
	}
	entry.rate, entry.fetchedAt = rate, now
	return rate, nil
}

func (p *RateProvider) fetch(ctx context.Context, currency string) (Rate, error) {
	unavailable := &RateUnavailableError{Currency: currency}
	for _, source := range p.config.Sources {
		rate, err := source.Rate(ctx, currency)
		if err == nil && (rate.Currency != currency || rate.MinorPerBTC <= 0) {
			err = fmt.Errorf("returned an invalid rate %d %s per BTC", rate.MinorPerBTC,
				rate.Currency)
		}
		if err != nil {
			p.config.Logger.WarnContext(ctx, "exchange rate source failed",
				"source", source.Name(), "currency", currency, "err", err)
			unavailable.Failures = append(unavailable.Failures,
				SourceFailure{Source: source.Name(), Err: err})
			if ctx.Err() != nil {
				break
			}
			continue
		}
		rate.MinorPerBTC = applySpread(rate.MinorPerBTC, p.config.SpreadBasisPoints)
		return rate, nil
	}
	return Rate{}, unavailable
}

// applySpread lowers the rate by the spread, rounding down.
func applySpread(minorPerBTC int64, spreadBasisPoints uint32) int64 {
	hi, lo := bits.Mul64(uint64(minorPerBTC), uint64(basisPointsPerUnit-spreadBasisPoints))
	quotient, _ := bits.Div64(hi, lo, basisPointsPerUnit)
	return int64(quotient)
}
