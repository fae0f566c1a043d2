package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// voucherGateway is a minimal second payment method: destinations are voucher codes
// numbered through the store's derivation counter, as a custodial processor's request ids
// might be.
type voucherGateway struct {
	mu      sync.Mutex
	watched map[string]time.Time
}

func (g *voucherGateway) Method() string { return "voucher" }

func (g *voucherGateway) CreatePaymentRequest(ctx context.Context, tx StoreTx,
	params PaymentRequestParams) (PaymentRequest, error) {
	n, err := tx.NextDerivationIndex(ctx, "voucher")
	if err != nil {
		return PaymentRequest{}, err
	}
	code := fmt.Sprintf("voucher-%d", n)
	return PaymentRequest{Destination: code, URI: "voucher:" + code + "?sat=" +
		fmt.Sprint(int64(params.Amount))}, nil
}

func (g *voucherGateway) Watch(_ context.Context, req PaymentRequest, until time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.watched == nil {
		g.watched = make(map[string]time.Time)
	}
	g.watched[req.Destination] = until
	return nil
}

func (g *voucherGateway) Run(ctx context.Context, _ PaymentSink) error {
	<-ctx.Done()
	return ctx.Err()
}

func newTestInvoicer(t *testing.T, rates RateSource) (*Invoicer, *SQLStore, *voucherGateway) {
	t.Helper()
	clock := &storeClock{now: invoiceStart}
	store := openSQLiteStore(t, clock)
	gateway := &voucherGateway{}
	invoicer, err := NewInvoicer(InvoicerConfig{Store: store, Gateway: gateway, Rates: rates,
		Now: clock.Now})
	if err != nil {
		t.Fatalf("NewInvoicer: %v", err)
	}
	return invoicer, store, gateway
}

func TestInvoicerPricedInBTC(t *testing.T) {
	invoicer, store, gateway := newTestInvoicer(t, nil)
	ctx := context.Background()
	terms := InvoiceTerms{
		Price:                Price{Currency: CurrencyBTC, Amount: 250_000},
		Policy:               ConfirmationPolicy{Depth: 3},
		ToleranceBasisPoints: 25,
		Expiry:               30 * time.Minute,
		Monitoring:           time.Hour,
	}
	inv, err := invoicer.CreateInvoice(ctx, testOrder(testCustomer, "nonce-invoicer-01"), terms)
	if err != nil {
		t.Fatalf("CreateInvoice: %v", err)
	}
	if inv.Amount != 250_000 || !inv.Rate.IsZero() || inv.Method != "voucher" {
		t.Errorf("invoice = %+v", inv)
	}
	if !inv.ExpiresAt.Equal(invoiceStart.Add(30*time.Minute)) ||
		!inv.MonitoringUntil.Equal(invoiceStart.Add(90*time.Minute)) {
		t.Errorf("expires %v, monitoring until %v", inv.ExpiresAt, inv.MonitoringUntil)
	}
	if inv.State != StateNew || inv.Policy.Depth != 3 || inv.ToleranceBasisPoints != 25 {
		t.Errorf("invoice = %+v", inv)
	}
	if until, ok := gateway.watched[inv.Destination]; !ok || !until.Equal(inv.MonitoringUntil) {
		t.Errorf("watched %v until %v, want %s until %v", ok, until, inv.Destination,
			inv.MonitoringUntil)
	}
	stored, err := store.Invoice(ctx, inv.ID)
	if err != nil || stored.Destination != "voucher-0" || stored.PaymentURI != inv.PaymentURI {
		t.Errorf("stored = %+v, %v", stored, err)
	}
}

func TestInvoicerFiatNeedsRates(t *testing.T) {
	terms := InvoiceTerms{Price: Price{Currency: "EUR", Amount: 999}}
	invoicer, _, _ := newTestInvoicer(t, nil)
	_, err := invoicer.CreateInvoice(context.Background(),
		testOrder(testCustomer, "nonce-invoicer-02"), terms)
	if err == nil || !strings.Contains(err.Error(), "no rate source") {
		t.Errorf("fiat price without rates: err = %v", err)
	}

	rates := &FixedRateSource{Rates: map[string]int64{"USD": 9_000_000}}
	invoicer, store, _ := newTestInvoicer(t, rates)
	order := testOrder(testCustomer, "nonce-invoicer-03")
	_, err = invoicer.CreateInvoice(context.Background(), order, terms)
	if err == nil || !strings.Contains(err.Error(), "EUR") {
		t.Errorf("rate missing for EUR: err = %v", err)
	}
	if _, err := store.Order(context.Background(), order.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("order stored although no invoice was made: %v", err)
	}
}

func TestInvoicerRejectsBadTerms(t *testing.T) {
	invoicer, store, _ := newTestInvoicer(t, nil)
	price := Price{Currency: CurrencyBTC, Amount: 1000}
	bad := map[string]InvoiceTerms{
		"tolerance above 10 %": {Price: price, ToleranceBasisPoints: 1001},
		"negative expiry":      {Price: price, Expiry: -time.Minute},
		"negative monitoring":  {Price: price, Monitoring: -time.Minute},
		"invalid policy":       {Price: price, Policy: ConfirmationPolicy{Depth: -1}},
		"zero amount":          {Price: Price{Currency: CurrencyBTC}},
	}
	for name, terms := range bad {
		order := testOrder(testCustomer, "nonce-bad-terms-"+strings.ReplaceAll(name, " ", ""))
		if _, err := invoicer.CreateInvoice(context.Background(), order, terms); err == nil {
			t.Errorf("%s: got no error", name)
		}
		if _, err := store.Order(context.Background(), order.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: order stored although the invoice failed: %v", name, err)
		}
	}
}

// TestInvoicerConcurrentReplays sends each of several orders four times at once, so that
// the copies share a commit, and checks that exactly one copy of each is invoiced, the
// others are refused as replays, and the invoices hold consecutive indexes. On PostgreSQL
// each refused copy's unique violation must stay inside its own savepoint.
func TestInvoicerConcurrentReplays(t *testing.T) {
	forEachStore(t, testInvoicerConcurrentReplays)
}

func testInvoicerConcurrentReplays(t *testing.T, store *SQLStore, clock *storeClock) {
	gateway := &voucherGateway{}
	invoicer, err := NewInvoicer(InvoicerConfig{Store: store, Gateway: gateway,
		Now: clock.Now})
	if err != nil {
		t.Fatalf("NewInvoicer: %v", err)
	}
	ctx := context.Background()
	terms := InvoiceTerms{Price: Price{Currency: CurrencyBTC, Amount: 10_000}}
	const orders, copies = 8, 4
	release := holdGroup(t, store)
	type result struct {
		nonce string
		inv   *Invoice
		err   error
	}
	results := make(chan result, orders*copies)
	var wg sync.WaitGroup
	for i := range orders * copies {
		nonce := fmt.Sprintf("nonce-replayed-%04d", i%orders)
		wg.Go(func() {
			inv, err := invoicer.CreateInvoice(ctx, testOrder(testCustomer, nonce), terms)
			results <- result{nonce, inv, err}
		})
	}
	release(orders * copies)
	wg.Wait()
	close(results)
	invoiced := make(map[string]*Invoice)
	destinations := make(map[string]bool)
	for r := range results {
		switch {
		case r.err == nil:
			if invoiced[r.nonce] != nil {
				t.Errorf("nonce %s invoiced twice", r.nonce)
			}
			invoiced[r.nonce] = r.inv
			destinations[r.inv.Destination] = true
		case !errors.Is(r.err, ErrNonceReused):
			t.Errorf("nonce %s: %v, want success or ErrNonceReused", r.nonce, r.err)
		}
	}
	if len(invoiced) != orders {
		t.Fatalf("%d orders invoiced, want %d", len(invoiced), orders)
	}
	for i := range orders {
		want := fmt.Sprintf("voucher-%d", i)
		if !destinations[want] {
			t.Errorf("no invoice pays %s; destinations %v", want, destinations)
		}
		if _, watched := gateway.watched[want]; !watched {
			t.Errorf("%s is not watched", want)
		}
	}
	for nonce, inv := range invoiced {
		stored, err := store.Invoice(ctx, inv.ID)
		if err != nil || stored.Destination != inv.Destination {
			t.Errorf("nonce %s: stored %+v, %v", nonce, stored, err)
		}
	}
}
