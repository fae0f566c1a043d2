package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
)

// removeVanishedPayments checks with the gateway, once after each start, the unconfirmed
// payments on record from before the start, and records as removed those it reports gone
// (see PaymentVanisher). A fee bump or a double spend made while the server was down would
// otherwise leave the original counted: an invoice paid twice, or a lease running on a
// payment that never confirms. It keeps the check pending, for the next sweep, while the
// gateway is catching up.
func (s *Service) removeVanishedPayments(ctx context.Context) error {
	vanisher, ok := s.cfg.Gateway.(PaymentVanisher)
	if !ok {
		return nil
	}
	s.catchUpMu.Lock()
	pending, since := s.vanishPending, s.startedAt
	s.catchUpMu.Unlock()
	if !pending {
		return nil
	}

	type stale struct {
		destination string
		payment     Payment
	}
	var candidates []stale
	err := s.inTx(ctx, func(tx *serviceTx) error {
		return eachRow(ctx, tx.db, `SELECT i.destination, p.txid, p.vout, p.amount,
				p.signals_rbf, p.seen_at
			FROM payments p JOIN invoices i ON i.id = p.invoice_id
			WHERE p.state = $1 AND p.confirmations = 0 AND p.seen_at < $2`,
			func(rows sqlRows) error {
				var (
					c                         stale
					amount, rbf, seenAt, vout int64
				)
				if err := rows.Scan(&c.destination, &c.payment.TxID, &vout, &amount, &rbf,
					&seenAt); err != nil {
					return err
				}
				c.payment.Vout, c.payment.Amount = uint32(vout), btcutil.Amount(amount)
				c.payment.SignalsRBF, c.payment.SeenAt = rbf == 1, timeFromMicros(seenAt)
				candidates = append(candidates, c)
				return nil
			}, int64(PaymentSeen), micros(since))
	})
	if err != nil {
		return fmt.Errorf("billing: listing unconfirmed payments: %w", err)
	}

	for _, c := range candidates {
		gone, err := vanisher.PaymentVanished(ctx, c.destination, c.payment)
		if errors.Is(err, ErrGatewayCatchingUp) {
			return nil
		}
		if err != nil {
			// The node may be unreachable: the next sweep checks again.
			s.logger.Warn("unable to check an unconfirmed payment from before the start; "+
				"the sweep retries", "txid", c.payment.TxID, "vout", c.payment.Vout,
				"error", err)
			return nil
		}
		if !gone {
			continue
		}
		s.logger.Warn("unconfirmed payment gone while the server was stopped; recording it "+
			"as removed", "txid", c.payment.TxID, "vout", c.payment.Vout,
			"destination", c.destination)
		c.payment.State, c.payment.UpdatedAt = PaymentRemoved, s.clock.Now()
		err = s.HandlePayment(ctx, PaymentUpdate{Destination: c.destination,
			Payment: c.payment})
		if err != nil {
			return err
		}
	}
	s.catchUpMu.Lock()
	s.vanishPending = false
	s.catchUpMu.Unlock()
	return nil
}
