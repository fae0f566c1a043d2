package billing

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
)

// Totals are counts over every invoice, payment and lease, for monitoring. The database
// computes them, so they cost a few queries however many rows there are.
type Totals struct {
	// InvoicesByState counts invoices per state; every state is present, zero included.
	InvoicesByState map[InvoiceState]int64
	// PaidSatoshis is the sum of every invoice's paid amount.
	PaidSatoshis btcutil.Amount
	// SettledSatoshis is the sum of the settled invoices' paid amounts: the revenue.
	SettledSatoshis btcutil.Amount
	// Payments counts payments, each transaction output once per invoice.
	Payments int64
	// LeasesByStatus counts leases per provisioning status; statuses without a lease are
	// absent.
	LeasesByStatus map[LeaseStatus]int64
	// InstancesRunning counts running leases whose instance has not been terminated.
	InstancesRunning int64
}

// Totals counts the invoices, payments and leases in the store.
func (s *Service) Totals(ctx context.Context) (Totals, error) {
	totals := Totals{
		InvoicesByState: make(map[InvoiceState]int64),
		LeasesByStatus:  make(map[LeaseStatus]int64),
	}
	for _, state := range []InvoiceState{StateNew, StateProcessing, StateSettled,
		StateExpired, StateInvalid} {
		totals.InvoicesByState[state] = 0
	}
	err := s.inTx(ctx, func(tx *serviceTx) error {
		err := eachRow(ctx, tx.db, `SELECT state, COUNT(*), COALESCE(SUM(paid), 0)
			FROM invoices GROUP BY state`, func(rows sqlRows) error {
			var state, count, paid int64
			if err := rows.Scan(&state, &count, &paid); err != nil {
				return err
			}
			totals.InvoicesByState[InvoiceState(state)] = count
			totals.PaidSatoshis += btcutil.Amount(paid)
			if InvoiceState(state) == StateSettled {
				totals.SettledSatoshis = btcutil.Amount(paid)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("unable to count invoices: %w", err)
		}
		err = eachRow(ctx, tx.db, `SELECT COUNT(*) FROM payments`, func(rows sqlRows) error {
			return rows.Scan(&totals.Payments)
		})
		if err != nil {
			return fmt.Errorf("unable to count payments: %w", err)
		}
		err = eachRow(ctx, tx.db, `SELECT status, COUNT(*),
			COALESCE(SUM(CASE WHEN instance_terminated_at = 0 THEN 1 ELSE 0 END), 0)
			FROM leases GROUP BY status`, func(rows sqlRows) error {
			var (
				status      string
				count, live int64
			)
			if err := rows.Scan(&status, &count, &live); err != nil {
				return err
			}
			totals.LeasesByStatus[LeaseStatus(status)] = count
			if LeaseStatus(status) == LeaseRunning {
				totals.InstancesRunning = live
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("unable to count leases: %w", err)
		}
		return nil
	})
	return totals, err
}

// eachRow runs the query with its arguments and calls fn for each row of the result.
func eachRow(ctx context.Context, db sqlRunner, query string, fn func(rows sqlRows) error,
	args ...any,
) error {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
