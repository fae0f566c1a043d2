package billing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/instars/instars/metering"
	"github.com/instars/instars/pgp"
)

// ErrLeaseNotExtendable is returned when an extension order names a lease that is not the
// customer's, has failed or has ended.
var ErrLeaseNotExtendable = errors.New("billing: lease cannot be extended")

// SubmitOrder opens an order envelope (signed by the customer, encrypted to the server), checks
// it and returns the invoice that pays for it. customerKey is the customer's public key, sent
// with the order; the envelope must be signed by it, and its fingerprint becomes the
// customer's identity. The same order sent again (the same signed payload, as a client
// retrying after a lost response sends) returns the invoice made for it the first time; another
// order reusing a nonce of the customer's is rejected with ErrNonceReused. An order whose
// payload names a lease (extends_lease) extends that lease.
//
// The invoice is stored before it is returned, and the gateway watches its destination.
func (s *Service) SubmitOrder(ctx context.Context, envelope []byte, customerKey *pgp.PublicKey) (
	*Invoice, error,
) {
	if customerKey == nil {
		return nil, errors.New("billing: the customer's public key is required with the order")
	}
	msg, err := s.cfg.ServerKey.Open(bytes.NewReader(envelope), customerKey)
	if err != nil {
		return nil, fmt.Errorf("billing: opening order envelope: %w", err)
	}
	now := s.clock.Now()
	order, err := NewOrder(msg.SignerFingerprint, msg.Payload,
		OrderParseOptions{Now: now, Network: s.cfg.Network})
	if err != nil {
		return nil, err
	}
	plan, ok := s.plans[order.Payload.Plan]
	if !ok {
		return nil, fmt.Errorf("%w: unknown plan %q", ErrInvalidOrder, order.Payload.Plan)
	}
	units, err := order.Payload.UnitsFor(plan)
	if err != nil {
		return nil, err
	}
	price, rate, amount, err := s.quote(ctx, plan, units)
	if err != nil {
		return nil, err
	}
	expiry := cmpDuration(s.cfg.InvoiceExpiry, DefaultExpiry)
	monitoring := cmpDuration(s.cfg.InvoiceMonitoring, DefaultMonitoring)
	inv := &Invoice{
		ID: NewID("inv"), OrderID: order.ID, Amount: amount, Price: price, Rate: rate,
		Method: s.cfg.Gateway.Method(), Policy: s.cfg.Policy,
		ToleranceBasisPoints: s.cfg.ToleranceBasisPoints,
		CreatedAt:            now, ExpiresAt: now.Add(expiry),
		MonitoringUntil: now.Add(expiry + monitoring), State: StateNew, UpdatedAt: now,
	}
	armoredKey := string(customerKey.Armored())
	// Concurrent orders share a commit. A statement interrupted by a cancelled request
	// would undo the other orders in it, and the transaction is short, so from here on the
	// request's cancellation is ignored.
	ctx = context.WithoutCancel(ctx)
	err = s.inSharedTx(ctx, func(tx *serviceTx) error {
		if id := order.Payload.ExtendsLease; id != "" {
			if err := checkExtendable(ctx, tx, id, order.Customer, plan.ID); err != nil {
				return err
			}
		}
		if err := tx.InsertOrder(ctx, order); err != nil {
			return err
		}
		req, err := s.cfg.Gateway.CreatePaymentRequest(ctx, tx.StoreTx, PaymentRequestParams{
			InvoiceID: inv.ID, Label: plan.Name, Amount: amount, ExpiresAt: inv.ExpiresAt,
		})
		if err != nil {
			return fmt.Errorf("billing: making the payment request: %w", err)
		}
		inv.Destination, inv.PaymentURI = req.Destination, req.URI
		inv.Account, inv.DerivationIndex = req.Account, req.DerivationIndex
		if err := tx.InsertInvoice(ctx, inv); err != nil {
			return err
		}
		err = insertInvoiceRecord(ctx, tx.db, invoiceRecord{InvoiceID: inv.ID,
			OrderID: order.ID, Customer: order.Customer, PlanID: plan.ID, Units: units,
			ExtendsLease: order.Payload.ExtendsLease, CreatedAt: now})
		if err != nil {
			return err
		}
		if err := saveCustomerKey(ctx, tx.db, order.Customer, armoredKey, now); err != nil {
			return err
		}
		if err := tx.emit(EventInvoiceCreated, inv.ID, order.Customer,
			invoiceView(inv)); err != nil {
			return err
		}
		return scheduleDeadlines(ctx, tx, inv)
	})
	if errors.Is(err, ErrNonceReused) {
		if first, found, lookupErr := s.invoiceOfSameOrder(ctx, order); lookupErr != nil {
			return nil, errors.Join(err, lookupErr)
		} else if found {
			return first, nil
		}
	}
	if err != nil {
		return nil, err
	}
	crashPoint(crashOrderBeforeWatch)
	if err := s.watch(ctx, inv); err != nil {
		// The invoice is stored; Start and the sweep ask the gateway to watch it again.
		s.logger.Warn("gateway watch failed; retried by the sweep", "invoice_id", inv.ID,
			"error", err)
	}
	s.logger.Info("invoice created", "invoice_id", inv.ID, "order_id", order.ID,
		"customer", order.Customer, "amount_sat", int64(amount))
	return inv, nil
}

// Extend is SubmitOrder for an order that must extend a lease: its payload names the lease in
// extends_lease and may leave out the SSH key. Paying the returned invoice adds the time of
// the order's units to the lease.
func (s *Service) Extend(ctx context.Context, envelope []byte, customerKey *pgp.PublicKey) (
	*Invoice, error,
) {
	return s.extend(ctx, "", envelope, customerKey)
}

// ExtendLease is Extend for an order that must extend the lease with the given ID, as a
// request addressed to that lease carries: an order naming another lease is rejected with
// ErrInvalidOrder before anything is stored.
func (s *Service) ExtendLease(ctx context.Context, leaseID string, envelope []byte,
	customerKey *pgp.PublicKey,
) (*Invoice, error) {
	if leaseID == "" {
		return nil, fmt.Errorf("%w: no lease to extend given", ErrInvalidOrder)
	}
	return s.extend(ctx, leaseID, envelope, customerKey)
}

// extend checks that the order extends a lease, the one named leaseID when it is set, and
// submits it.
func (s *Service) extend(ctx context.Context, leaseID string, envelope []byte,
	customerKey *pgp.PublicKey,
) (*Invoice, error) {
	if customerKey == nil {
		return nil, errors.New("billing: the customer's public key is required with the order")
	}
	msg, err := s.cfg.ServerKey.Open(bytes.NewReader(envelope), customerKey)
	if err != nil {
		return nil, fmt.Errorf("billing: opening order envelope: %w", err)
	}
	payload, err := ParseOrderPayload(msg.Payload,
		OrderParseOptions{Now: s.clock.Now(), Network: s.cfg.Network})
	if err != nil {
		return nil, err
	}
	if payload.ExtendsLease == "" {
		return nil, fmt.Errorf("%w: extends_lease is empty, expected the lease to extend",
			ErrInvalidOrder)
	}
	if leaseID != "" && payload.ExtendsLease != leaseID {
		return nil, fmt.Errorf("%w: the order extends lease %s, not %s", ErrInvalidOrder,
			payload.ExtendsLease, leaseID)
	}
	return s.SubmitOrder(ctx, envelope, customerKey)
}

// invoiceOfSameOrder returns the invoice made for an earlier order of the customer with the
// same nonce and the same signed payload, and whether there is one.
func (s *Service) invoiceOfSameOrder(ctx context.Context, order *Order) (*Invoice, bool,
	error) {
	var (
		orderID, payload string
		found            bool
	)
	err := s.inTx(ctx, func(tx *serviceTx) error {
		return eachRow(ctx, tx.db, `SELECT id, payload FROM orders
			WHERE customer = $1 AND nonce = $2`, func(rows sqlRows) error {
			found = true
			return rows.Scan(&orderID, &payload)
		}, order.Customer, order.Payload.Nonce)
	})
	if err != nil || !found || payload != string(order.RawPayload) {
		return nil, false, err
	}
	invoices, err := s.store.InvoicesByOrder(ctx, orderID)
	if err != nil || len(invoices) == 0 {
		return nil, false, err
	}
	return invoices[0], true, nil
}

func checkExtendable(ctx context.Context, tx *serviceTx, leaseID, customer, planID string) error {
	l, err := loadLease(ctx, tx.db, leaseID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: no lease %q", ErrLeaseNotExtendable, leaseID)
	}
	if err != nil {
		return err
	}
	switch {
	case l.Customer != customer:
		// The same error as for a missing lease, so other customers' lease IDs cannot be probed.
		return fmt.Errorf("%w: no lease %q", ErrLeaseNotExtendable, leaseID)
	case l.PlanID != planID:
		return fmt.Errorf("%w: lease %s is on plan %q, the order names %q",
			ErrLeaseNotExtendable, leaseID, l.PlanID, planID)
	case l.Status == LeaseFailed || l.Status == LeaseEnded:
		return fmt.Errorf("%w: lease %s is %s", ErrLeaseNotExtendable, leaseID, l.Status)
	case l.Meter.State(tx.now) == metering.StateMustTerminate:
		return fmt.Errorf("%w: lease %s is past its grace period", ErrLeaseNotExtendable,
			leaseID)
	}
	return nil
}

// quote prices units of the plan in satoshis at the current rate.
func (s *Service) quote(ctx context.Context, plan metering.Plan, units int64) (
	Price, Rate, btcutil.Amount, error,
) {
	mp, err := plan.PriceFor(units)
	if err != nil {
		return Price{}, Rate{}, 0, err
	}
	price := Price{Currency: CurrencyBTC, Amount: mp.Sats}
	var rate Rate
	if mp.Currency != "" {
		price = Price{Currency: mp.Currency, Amount: mp.FiatMinor}
		rate, err = s.cfg.Rates.Rate(ctx, mp.Currency)
		if err != nil {
			return Price{}, Rate{}, 0, fmt.Errorf("billing: no %s rate for plan %s: %w",
				mp.Currency, plan.ID, err)
		}
	}
	amount, err := price.ToSatoshis(rate)
	if err != nil {
		return Price{}, Rate{}, 0, err
	}
	return price, rate, amount, nil
}

func scheduleDeadlines(ctx context.Context, tx *serviceTx, inv *Invoice) error {
	for _, at := range []time.Time{inv.ExpiresAt, inv.MonitoringUntil} {
		args := invoiceDeadlineArgs{InvoiceID: inv.ID, At: micros(at)}
		if err := tx.schedule(ctx, args, at); err != nil {
			return err
		}
	}
	return nil
}

func cmpDuration(d, fallback time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return fallback
}
