package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/btcsuite/btcd/btcutil"
)

// The store's queries, prepared once per SQLite store (see storeQuery).
var (
	insertOrderSQL = storeQuery(`INSERT INTO orders
		(id, customer, nonce, plan, extends_lease, payload, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`)
	selectOrderSQL = storeQuery(`SELECT id, customer, payload, received_at
		FROM orders WHERE id = $1`)
	insertInvoiceSQL = storeQuery(`INSERT INTO invoices (` + invoiceColumns + `) VALUES ($1, $2,
		$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
		$21, $22, $23, $24, $25, $26, $27, $28, $29, 1)`)
	selectInvoiceSQL = storeQuery("SELECT " + invoiceColumns +
		" FROM invoices WHERE id = $1")
	selectInvoiceByDestinationSQL = storeQuery("SELECT " + invoiceColumns +
		" FROM invoices WHERE destination = $1")
	updateInvoiceSQL = storeQuery(`UPDATE invoices SET state = $1, status = $2,
		settlement_reverted = $3, paid = $4, confirmed = $5, updated_at = $6,
		version = version + 1
		WHERE id = $7 AND version = $8`)
	selectInvoiceVersionSQL = storeQuery("SELECT version FROM invoices WHERE id = $1")
	upsertPaymentSQL        = storeQuery(`INSERT INTO payments (invoice_id, txid, vout, amount,
		confirmations, block_hash, block_height, signals_rbf, state, seen_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (invoice_id, txid, vout) DO UPDATE SET
			amount = excluded.amount,
			confirmations = excluded.confirmations,
			block_hash = excluded.block_hash,
			block_height = excluded.block_height,
			signals_rbf = excluded.signals_rbf,
			state = excluded.state,
			seen_at = CASE WHEN excluded.seen_at < payments.seen_at
				THEN excluded.seen_at ELSE payments.seen_at END,
			updated_at = excluded.updated_at
		WHERE payments.amount <> excluded.amount
		   OR payments.confirmations <> excluded.confirmations
		   OR payments.block_hash <> excluded.block_hash
		   OR payments.block_height <> excluded.block_height
		   OR payments.signals_rbf <> excluded.signals_rbf
		   OR payments.state <> excluded.state
		   OR excluded.seen_at < payments.seen_at`)
	selectPaymentsSQL = storeQuery(`SELECT invoice_id, txid, vout, amount, confirmations,
		block_hash, block_height, signals_rbf, state, seen_at, updated_at
		FROM payments WHERE invoice_id = $1 ORDER BY seen_at, txid, vout`)
	allocateIndexSQL = storeQuery(`INSERT INTO derivation_indexes (account, next_index)
		VALUES ($1, 1)
		ON CONFLICT (account) DO UPDATE SET next_index = derivation_indexes.next_index + 1
		RETURNING next_index`)
	selectDerivationUsageSQL = storeQuery(`SELECT
		(SELECT next_index FROM derivation_indexes WHERE account = $1),
		(SELECT MAX(derivation_index) FROM invoices WHERE account = $1 AND paid > 0)`)
	selectCursorSQL = storeQuery(`SELECT block_hash, height
		FROM chain_cursors WHERE name = $1`)
	upsertCursorSQL = storeQuery(`INSERT INTO chain_cursors
		(name, block_hash, height, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET block_hash = excluded.block_hash,
			height = excluded.height, updated_at = excluded.updated_at`)
	selectInvoicesByOrderSQL = storeQuery("SELECT " + invoiceColumns +
		" FROM invoices WHERE order_id = $1 ORDER BY created_at, id")
	// The states and the payment state are written out, because SQLite uses a partial
	// index only when the query repeats its condition literally.
	selectWatchedInvoicesSQL = storeQuery("SELECT " + invoiceColumns + fmt.Sprintf(`
		FROM invoices WHERE id IN (
			SELECT id FROM invoices WHERE state IN (%d, %d, %d, %d)
				AND monitoring_until >= $1
			UNION ALL SELECT id FROM invoices WHERE state = %d
			UNION ALL SELECT id FROM invoices WHERE settlement_reverted = 1
			UNION ALL SELECT invoice_id FROM payments WHERE state = %d
				AND confirmations < $2)
		AND status <> %d AND state <> %d
		ORDER BY created_at, id`, StateNew, StateProcessing, StateSettled, StateExpired,
		StateProcessing, PaymentSeen, StatusMarked, StateInvalid))
)

// storeQueries implements Queries over a pool or a transaction.
type storeQueries struct {
	conn storeConn
	now  func() time.Time
}

func (q storeQueries) InsertOrder(ctx context.Context, order *Order) error {
	p := order.Payload
	_, err := q.conn.exec(ctx, insertOrderSQL,
		order.ID, order.Customer, p.Nonce, p.Plan, p.ExtendsLease, string(order.RawPayload),
		unixMicros(order.ReceivedAt))
	if detail, ok := uniqueViolation(err); ok {
		if strings.Contains(detail, "nonce") {
			return fmt.Errorf("order %s from %s: %w", order.ID, order.Customer, ErrNonceReused)
		}
		return fmt.Errorf("order %s: %w (%s)", order.ID, ErrDuplicate, detail)
	}
	if err != nil {
		return fmt.Errorf("unable to insert order %s: %w", order.ID, err)
	}
	return nil
}

func (q storeQueries) Order(ctx context.Context, id string) (*Order, error) {
	var (
		order      Order
		payload    string
		receivedAt int64
	)
	err := q.conn.queryRow(ctx,
		selectOrderSQL, id).
		Scan(&order.ID, &order.Customer, &payload, &receivedAt)
	if errors.Is(err, errStoreNoRows) {
		return nil, fmt.Errorf("order %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("unable to read order %s: %w", id, err)
	}
	order.RawPayload = []byte(payload)
	order.ReceivedAt = timeFromMicros(receivedAt)
	// The payload was checked when the order was accepted; it is decoded again without the
	// time window, which has passed by now.
	if err := json.Unmarshal(order.RawPayload, &order.Payload); err != nil {
		return nil, fmt.Errorf("unable to decode stored order %s: %w", id, err)
	}
	return &order, nil
}

const invoiceColumns = `id, order_id, amount, price_currency, price_amount, rate_currency,
	rate_minor_per_btc, rate_source, rate_fetched_at, method, destination, payment_uri,
	account, derivation_index, policy_depth, policy_high_value_threshold,
	policy_high_value_depth, policy_zero_conf, policy_zero_conf_max, tolerance_basis_points,
	created_at, expires_at, monitoring_until, state, status, settlement_reverted, paid,
	confirmed, updated_at, version`

func (q storeQueries) InsertInvoice(ctx context.Context, inv *Invoice) error {
	if err := checkInvoiceForInsert(inv); err != nil {
		return err
	}
	now := q.now()
	_, err := q.conn.exec(ctx, insertInvoiceSQL,
		inv.ID, inv.OrderID, int64(inv.Amount), inv.Price.Currency, inv.Price.Amount,
		inv.Rate.Currency, inv.Rate.MinorPerBTC, inv.Rate.Source,
		unixMicros(inv.Rate.FetchedAt), inv.Method, inv.Destination, inv.PaymentURI,
		inv.Account, int64(inv.DerivationIndex), int64(inv.Policy.Depth),
		int64(inv.Policy.HighValueThreshold), int64(inv.Policy.HighValueDepth),
		boolToInt(inv.Policy.ZeroConf), int64(inv.Policy.ZeroConfMax),
		int64(inv.ToleranceBasisPoints), unixMicros(inv.CreatedAt), unixMicros(inv.ExpiresAt),
		unixMicros(inv.MonitoringUntil), int64(inv.State), int64(inv.Status),
		boolToInt(inv.SettlementReverted), int64(inv.Paid), int64(inv.Confirmed),
		unixMicros(now))
	if detail, ok := uniqueViolation(err); ok {
		return fmt.Errorf("invoice %s (destination %s, %s index %d): %w (%s)", inv.ID,
			inv.Destination, inv.Account, inv.DerivationIndex, ErrDuplicate, detail)
	}
	if err != nil {
		return fmt.Errorf("unable to insert invoice %s: %w", inv.ID, err)
	}
	inv.Version = 1
	inv.UpdatedAt = timeFromMicros(unixMicros(now))
	return nil
}

func checkInvoiceForInsert(inv *Invoice) error {
	switch {
	case inv.ID == "" || inv.OrderID == "":
		return fmt.Errorf("invoice %q for order %q: expected both ids", inv.ID, inv.OrderID)
	case inv.Amount <= 0 || inv.Amount > btcutil.MaxSatoshi:
		return fmt.Errorf("invoice %s: invalid amount %d sat: expected 1 to %d", inv.ID,
			int64(inv.Amount), int64(btcutil.MaxSatoshi))
	case inv.Destination == "":
		return fmt.Errorf("invoice %s: missing destination", inv.ID)
	case !inv.State.Valid() || !inv.Status.Valid():
		return fmt.Errorf("invoice %s: invalid state %v/%v", inv.ID, inv.State, inv.Status)
	case !inv.CreatedAt.Before(inv.ExpiresAt) || inv.MonitoringUntil.Before(inv.ExpiresAt):
		return fmt.Errorf("invoice %s: expected created_at < expires_at <= monitoring_until, "+
			"got %s, %s, %s", inv.ID, inv.CreatedAt, inv.ExpiresAt, inv.MonitoringUntil)
	}
	return inv.Policy.Validate()
}

func (q storeQueries) Invoice(ctx context.Context, id string) (*Invoice, error) {
	inv, err := scanInvoice(q.conn.queryRow(ctx,
		selectInvoiceSQL, id))
	if errors.Is(err, errStoreNoRows) {
		return nil, fmt.Errorf("invoice %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("unable to read invoice %s: %w", id, err)
	}
	return inv, nil
}

func (q storeQueries) InvoiceByDestination(ctx context.Context, destination string) (
	*Invoice, error) {
	inv, err := scanInvoice(q.conn.queryRow(ctx,
		selectInvoiceByDestinationSQL, destination))
	if errors.Is(err, errStoreNoRows) {
		return nil, fmt.Errorf("invoice for destination %s: %w", destination, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("unable to read invoice for destination %s: %w",
			destination, err)
	}
	return inv, nil
}

func (q storeQueries) InvoicesByOrder(ctx context.Context, orderID string) ([]*Invoice, error) {
	invoices, err := q.queryInvoices(ctx, selectInvoicesByOrderSQL, orderID)
	if err != nil {
		return nil, fmt.Errorf("unable to list invoices of order %s: %w", orderID, err)
	}
	return invoices, nil
}

func (q storeQueries) WatchedInvoices(ctx context.Context, now time.Time, followDepth int32) (
	[]*Invoice, error) {
	invoices, err := q.queryInvoices(ctx, selectWatchedInvoicesSQL, unixMicros(now),
		int64(followDepth))
	if err != nil {
		return nil, fmt.Errorf("unable to list watched invoices: %w", err)
	}
	return invoices, nil
}

func (q storeQueries) queryInvoices(ctx context.Context, query string, args ...any) (
	[]*Invoice, error) {
	rows, err := q.conn.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var invoices []*Invoice
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			return nil, err
		}
		invoices = append(invoices, inv)
	}
	return invoices, rows.Err()
}

func scanInvoice(row storeRow) (*Invoice, error) {
	var (
		inv                                                Invoice
		amount, index, depth, highThreshold, highDepth     int64
		zeroConf, zeroConfMax, tolerance, state, status    int64
		reverted, paid, confirmed                          int64
		rateFetched, created, expires, monitoring, updated int64
	)
	err := row.Scan(&inv.ID, &inv.OrderID, &amount, &inv.Price.Currency, &inv.Price.Amount,
		&inv.Rate.Currency, &inv.Rate.MinorPerBTC, &inv.Rate.Source, &rateFetched,
		&inv.Method, &inv.Destination, &inv.PaymentURI, &inv.Account, &index, &depth,
		&highThreshold, &highDepth, &zeroConf, &zeroConfMax, &tolerance, &created, &expires,
		&monitoring, &state, &status, &reverted, &paid, &confirmed, &updated, &inv.Version)
	if err != nil {
		return nil, err
	}
	if index < 0 || index > math.MaxUint32 || tolerance < 0 || tolerance > math.MaxUint32 {
		return nil, fmt.Errorf("invoice %s has an out-of-range derivation index %d or "+
			"tolerance %d", inv.ID, index, tolerance)
	}
	inv.Amount = btcutil.Amount(amount)
	inv.Rate.FetchedAt = timeFromMicros(rateFetched)
	inv.DerivationIndex = uint32(index)
	inv.Policy = ConfirmationPolicy{
		Depth:              int32(depth),
		HighValueThreshold: btcutil.Amount(highThreshold),
		HighValueDepth:     int32(highDepth),
		ZeroConf:           zeroConf != 0,
		ZeroConfMax:        btcutil.Amount(zeroConfMax),
	}
	inv.ToleranceBasisPoints = uint32(tolerance)
	inv.CreatedAt = timeFromMicros(created)
	inv.ExpiresAt = timeFromMicros(expires)
	inv.MonitoringUntil = timeFromMicros(monitoring)
	inv.State = InvoiceState(state)
	inv.Status = AdditionalStatus(status)
	inv.SettlementReverted = reverted != 0
	inv.Paid = btcutil.Amount(paid)
	inv.Confirmed = btcutil.Amount(confirmed)
	inv.UpdatedAt = timeFromMicros(updated)
	return &inv, nil
}

func (q storeQueries) UpdateInvoice(ctx context.Context, inv *Invoice) error {
	if !inv.State.Valid() || !inv.Status.Valid() {
		return fmt.Errorf("invoice %s: invalid state %v/%v", inv.ID, inv.State, inv.Status)
	}
	now := q.now()
	n, err := q.conn.exec(ctx, updateInvoiceSQL,
		int64(inv.State), int64(inv.Status), boolToInt(inv.SettlementReverted),
		int64(inv.Paid), int64(inv.Confirmed), unixMicros(now), inv.ID, inv.Version)
	if err != nil {
		return fmt.Errorf("unable to update invoice %s: %w", inv.ID, err)
	}
	if n == 0 {
		var version int64
		err := q.conn.queryRow(ctx, selectInvoiceVersionSQL, inv.ID).
			Scan(&version)
		if errors.Is(err, errStoreNoRows) {
			return fmt.Errorf("invoice %s: %w", inv.ID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("unable to read invoice %s: %w", inv.ID, err)
		}
		return fmt.Errorf("invoice %s at version %d, update read version %d: %w",
			inv.ID, version, inv.Version, ErrConflict)
	}
	inv.Version++
	inv.UpdatedAt = timeFromMicros(unixMicros(now))
	return nil
}

func (q storeQueries) SavePayment(ctx context.Context, p Payment) (bool, error) {
	if p.InvoiceID == "" || p.TxID == "" || p.Amount <= 0 {
		return false, fmt.Errorf("invalid payment %s:%d of %d sat to invoice %q: expected an "+
			"invoice, a transaction id and a positive amount", p.TxID, p.Vout,
			int64(p.Amount), p.InvoiceID)
	}
	if _, ok := paymentStateNames[p.State]; !ok {
		return false, fmt.Errorf("payment %s:%d: invalid state %v", p.TxID, p.Vout, p.State)
	}
	seenAt := p.SeenAt
	if seenAt.IsZero() {
		seenAt = q.now()
	}
	// The update runs only when something reported differs, so that a repeated report
	// neither rewrites the row nor counts as a change.
	n, err := q.conn.exec(ctx, upsertPaymentSQL,
		p.InvoiceID, p.TxID, int64(p.Vout), int64(p.Amount), int64(p.Confirmations),
		p.BlockHash, int64(p.BlockHeight), boolToInt(p.SignalsRBF), int64(p.State),
		unixMicros(seenAt), unixMicros(q.now()))
	if err != nil {
		return false, fmt.Errorf("unable to save payment %s:%d to invoice %s: %w",
			p.TxID, p.Vout, p.InvoiceID, err)
	}
	return n > 0, nil
}

func (q storeQueries) Payments(ctx context.Context, invoiceID string) ([]Payment, error) {
	rows, err := q.conn.query(ctx, selectPaymentsSQL, invoiceID)
	if err != nil {
		return nil, fmt.Errorf("unable to list payments of invoice %s: %w", invoiceID, err)
	}
	defer rows.Close()
	var payments []Payment
	for rows.Next() {
		var (
			p                                       Payment
			vout, amount, confs, height, rbf, state int64
			seen, updated                           int64
		)
		if err := rows.Scan(&p.InvoiceID, &p.TxID, &vout, &amount, &confs, &p.BlockHash,
			&height, &rbf, &state, &seen, &updated); err != nil {
			return nil, fmt.Errorf("unable to read payments of invoice %s: %w", invoiceID, err)
		}
		p.Vout = uint32(vout)
		p.Amount = btcutil.Amount(amount)
		p.Confirmations = int32(confs)
		p.BlockHeight = int32(height)
		p.SignalsRBF = rbf != 0
		p.State = PaymentState(state)
		p.SeenAt = timeFromMicros(seen)
		p.UpdatedAt = timeFromMicros(updated)
		payments = append(payments, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("unable to read payments of invoice %s: %w", invoiceID, err)
	}
	return payments, nil
}

func (q storeQueries) NextDerivationIndex(ctx context.Context, account string) (uint32, error) {
	if account == "" {
		return 0, errors.New("missing account for derivation index")
	}
	var next int64
	err := q.conn.queryRow(ctx, allocateIndexSQL, account).Scan(&next)
	if err != nil {
		return 0, fmt.Errorf("unable to allocate a derivation index for %s: %w", account, err)
	}
	// BIP32 non-hardened indexes end below 2^31.
	if next > 1<<31 {
		return 0, fmt.Errorf("account %s has used every non-hardened derivation index",
			account)
	}
	return uint32(next - 1), nil
}

func (q storeQueries) DerivationUsage(ctx context.Context, account string) (
	DerivationUsage, error) {
	var allocated, highestPaid *int64
	err := q.conn.queryRow(ctx, selectDerivationUsageSQL,
		account).Scan(&allocated, &highestPaid)
	if err != nil {
		return DerivationUsage{}, fmt.Errorf("unable to read derivation usage of %s: %w",
			account, err)
	}
	var usage DerivationUsage
	if allocated != nil {
		usage.Allocated = uint32(*allocated)
	}
	if highestPaid != nil {
		usage.HighestPaid, usage.AnyPaid = uint32(*highestPaid), true
	}
	return usage, nil
}

func (q storeQueries) LoadCursor(ctx context.Context, name string) (ChainCursor, error) {
	var (
		cursor ChainCursor
		height int64
	)
	err := q.conn.queryRow(ctx, selectCursorSQL,
		name).Scan(&cursor.Hash, &height)
	if errors.Is(err, errStoreNoRows) {
		return ChainCursor{}, fmt.Errorf("chain cursor %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return ChainCursor{}, fmt.Errorf("unable to read chain cursor %s: %w", name, err)
	}
	cursor.Height = int32(height)
	return cursor, nil
}

func (q storeQueries) SaveCursor(ctx context.Context, name string, cursor ChainCursor) error {
	_, err := q.conn.exec(ctx, upsertCursorSQL,
		name, cursor.Hash, int64(cursor.Height), unixMicros(q.now()))
	if err != nil {
		return fmt.Errorf("unable to save chain cursor %s: %w", name, err)
	}
	return nil
}
