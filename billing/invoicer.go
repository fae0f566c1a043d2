package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/btcsuite/btcd/btcutil"
)

// InvoiceTerms are a plan's billing terms, copied into each invoice made for it.
type InvoiceTerms struct {
	// Price is the plan's price; a price in BTC needs no exchange rate.
	Price Price
	// Policy is the plan's confirmation policy.
	Policy ConfirmationPolicy
	// ToleranceBasisPoints is how much less than the amount is still accepted as paid in
	// full (100 = 1 %), for wallets that take the fee out of the amount; at most 1000.
	ToleranceBasisPoints uint32
	// Expiry is how long the customer has to pay; 0 means DefaultExpiry.
	Expiry time.Duration
	// Monitoring is how long after expiry late payments are still accepted; 0 means
	// DefaultMonitoring.
	Monitoring time.Duration
	// Label is a short text the customer's wallet may show, such as the plan's name.
	Label string
}

// MaxToleranceBasisPoints bounds a payment tolerance at 10 %: wallets that take the fee out
// of the amount shave far less, so more is a configuration mistake.
const MaxToleranceBasisPoints = 1000

func (t InvoiceTerms) withDefaults() (InvoiceTerms, error) {
	if t.ToleranceBasisPoints > MaxToleranceBasisPoints {
		return t, fmt.Errorf("invalid tolerance %d basis points: expected at most %d",
			t.ToleranceBasisPoints, MaxToleranceBasisPoints)
	}
	if t.Expiry < 0 || t.Monitoring < 0 {
		return t, fmt.Errorf("invalid expiry %s or monitoring %s: expected 0 (default) or "+
			"more", t.Expiry, t.Monitoring)
	}
	if t.Expiry == 0 {
		t.Expiry = DefaultExpiry
	}
	if t.Monitoring == 0 {
		t.Monitoring = DefaultMonitoring
	}
	return t, t.Policy.Validate()
}

// Quote is a price converted to satoshis at a rate, ready to be locked into an invoice.
type Quote struct {
	Price  Price
	Rate   Rate
	Amount btcutil.Amount
}

// InvoicerConfig configures an Invoicer.
type InvoicerConfig struct {
	// Store keeps the invoices. Required.
	Store Store
	// Gateway makes the payment requests. Required.
	Gateway Gateway
	// Rates converts fiat prices; needed only for prices not in BTC.
	Rates RateSource
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives a line per invoice made; nil discards them.
	Logger *slog.Logger
}

// Invoicer makes invoices: it converts the price at the current rate, requests a payment
// request from the gateway, stores the invoice, and has the gateway watch it.
type Invoicer struct {
	config InvoicerConfig
}

// NewInvoicer checks the configuration and returns an Invoicer.
func NewInvoicer(config InvoicerConfig) (*Invoicer, error) {
	if config.Store == nil {
		return nil, errors.New("invoicer: Store is required")
	}
	if config.Gateway == nil {
		return nil, errors.New("invoicer: Gateway is required")
	}
	if config.Now == nil {
		config.Now = time.Now
	}
	if config.Logger == nil {
		config.Logger = slog.New(slog.DiscardHandler)
	}
	return &Invoicer{config: config}, nil
}

// Quote converts the price to satoshis at the current rate. It may call the rate sources,
// so call it before opening a transaction.
func (iv *Invoicer) Quote(ctx context.Context, price Price) (Quote, error) {
	if price.Currency == CurrencyBTC {
		amount, err := price.ToSatoshis(Rate{})
		return Quote{Price: price, Amount: amount}, err
	}
	if iv.config.Rates == nil {
		return Quote{}, fmt.Errorf("price %s needs an exchange rate, but no rate source is "+
			"configured", price)
	}
	rate, err := iv.config.Rates.Rate(ctx, price.Currency)
	if err != nil {
		return Quote{}, err
	}
	amount, err := price.ToSatoshis(rate)
	if err != nil {
		return Quote{}, fmt.Errorf("unable to convert %s at %d per BTC: %w", price,
			rate.MinorPerBTC, err)
	}
	return Quote{Price: price, Rate: rate, Amount: amount}, nil
}

// CreateInvoice stores the order and a new invoice for it in one transaction, then starts
// watching the invoice's destination. It returns ErrNonceReused, unchanged, for a replayed
// order.
func (iv *Invoicer) CreateInvoice(ctx context.Context, order *Order, terms InvoiceTerms) (
	*Invoice, error) {
	quote, err := iv.Quote(ctx, terms.Price)
	if err != nil {
		return nil, err
	}
	var inv *Invoice
	create := func(tx StoreTx) error {
		if err := tx.InsertOrder(ctx, order); err != nil {
			return err
		}
		var err error
		inv, err = iv.CreateInvoiceTx(ctx, tx, order.ID, terms, quote)
		return err
	}
	// Concurrent orders share a commit where the store can: on SQLite it is most of the
	// cost of an invoice.
	if shared, ok := iv.config.Store.(SharedTxStore); ok {
		err = shared.InSharedTx(ctx, create)
	} else {
		err = iv.config.Store.InTx(ctx, create)
	}
	if err != nil {
		return nil, err
	}
	iv.config.Logger.InfoContext(ctx, "invoice created", "invoice_id", inv.ID,
		"order_id", order.ID, "amount_sat", int64(inv.Amount), "price", inv.Price.String(),
		"destination", inv.Destination, "expires_at", inv.ExpiresAt)
	if err := iv.Watch(ctx, inv); err != nil {
		return inv, err
	}
	return inv, nil
}

// CreateInvoiceTx makes and stores an invoice for the order, at the quote, in the caller's
// transaction. The caller commits, then calls Watch. If the process stops in between, the
// service's start-up watch of every WatchedInvoices result covers the invoice.
func (iv *Invoicer) CreateInvoiceTx(ctx context.Context, tx StoreTx, orderID string,
	terms InvoiceTerms, quote Quote) (*Invoice, error) {
	terms, err := terms.withDefaults()
	if err != nil {
		return nil, err
	}
	if quote.Price != terms.Price {
		return nil, fmt.Errorf("quote is for %s, terms price %s", quote.Price, terms.Price)
	}
	if quote.Amount <= 0 {
		return nil, fmt.Errorf("invalid quoted amount %d sat: expected a positive amount",
			int64(quote.Amount))
	}
	now := iv.config.Now()
	inv := &Invoice{
		ID:                   NewID("inv"),
		OrderID:              orderID,
		Amount:               quote.Amount,
		Price:                quote.Price,
		Rate:                 quote.Rate,
		Method:               iv.config.Gateway.Method(),
		Policy:               terms.Policy,
		ToleranceBasisPoints: terms.ToleranceBasisPoints,
		CreatedAt:            now,
		ExpiresAt:            now.Add(terms.Expiry),
		MonitoringUntil:      now.Add(terms.Expiry + terms.Monitoring),
		State:                StateNew,
		Status:               StatusNone,
	}
	request, err := iv.config.Gateway.CreatePaymentRequest(ctx, tx, PaymentRequestParams{
		InvoiceID: inv.ID,
		Label:     terms.Label,
		Amount:    inv.Amount,
		ExpiresAt: inv.ExpiresAt,
	})
	if err != nil {
		return nil, fmt.Errorf("unable to create the payment request for invoice %s: %w",
			inv.ID, err)
	}
	inv.Destination = request.Destination
	inv.PaymentURI = request.URI
	inv.Account = request.Account
	inv.DerivationIndex = request.DerivationIndex
	if err := tx.InsertInvoice(ctx, inv); err != nil {
		return nil, err
	}
	return inv, nil
}

// Watch has the gateway watch the invoice's destination until its monitoring window ends.
func (iv *Invoicer) Watch(ctx context.Context, inv *Invoice) error {
	err := iv.config.Gateway.Watch(ctx, PaymentRequest{
		Destination:     inv.Destination,
		URI:             inv.PaymentURI,
		Account:         inv.Account,
		DerivationIndex: inv.DerivationIndex,
	}, inv.MonitoringUntil)
	if err != nil {
		return fmt.Errorf("unable to watch invoice %s: %w", inv.ID, err)
	}
	return nil
}
