// Package billing is the payment engine of InStaRS: orders, invoices and their states, the
// pluggable payment gateway with the on-chain bitcoin gateway, exchange rates, webhooks, the SQL
// store, and the service that turns a paid order into a running, metered and finally terminated
// instance.
//
// Billing defines the small interfaces it needs (a gateway, a provisioner, a store, a notifier);
// the lower packages bitcoin, pgp, metering and eucalyptus satisfy them without knowing billing.
//
// # Orders
//
// A customer's order is a JSON [OrderPayload] signed with their OpenPGP key. [ParseOrderPayload]
// rejects unknown and repeated fields, oversized payloads and creation times outside a window
// around the server's clock; [NewOrder] pairs the payload with the signer's fingerprint. The
// store accepts each nonce once per customer, so a replayed envelope fails with
// [ErrNonceReused].
//
// # Invoices
//
// An [Invoice] follows BTCPay Server's model: the states New, Processing, Settled, Expired and
// Invalid, qualified by an [AdditionalStatus] (PaidPartial, PaidOver, PaidLate, Marked).
// [NextInvoiceState] is the only place a transition is decided, from the invoice, its
// payments and the time; its documentation lists the rules. Amounts are satoshis
// ([btcutil.Amount]); a fiat price is converted at a [Rate] locked into the invoice, with
// integer arithmetic rounded up to the next satoshi ([Price.ToSatoshis]). A
// [ConfirmationPolicy] says when a payment is final, and a tolerance in basis points accepts
// payments a wallet shaved its fee from.
//
// [Invoicer] makes invoices: it quotes the price, asks the gateway for a payment request and
// stores the invoice, in one transaction with the order.
//
// # Exchange rates
//
// A [RateSource] returns the price of a bitcoin in a fiat currency's minor units. Kraken,
// Bitstamp and Coinbase public tickers are built in ([NewKrakenRateSource] and the others),
// with a configurable base URL; [FixedRateSource] is for development. [RateProvider] caches
// rates for a refresh interval, falls back from source to source in order, applies a spread,
// and returns a [RateUnavailableError] naming every source that failed. Plans priced in BTC
// need no rate.
//
// # Store
//
// [Store] keeps orders, invoices, payments, derivation indexes and chain cursors. [SQLStore]
// implements it on SQLite (modernc.org/sqlite, pure Go; the default) and on PostgreSQL (pgx,
// for several server replicas). The schema is versioned by embedded migrations and
// constrained so that nothing is counted twice: an output once per invoice, an address and a
// derivation index once, a nonce once per customer.
//
// [Store.InTx] runs several writes in one transaction. The [StoreTx] it passes also gives the
// engine's own transaction (SQLTx on SQLite, PgxTx on PostgreSQL), so other writes, such as
// enqueuing a River job with InsertTx, commit or roll back together with the store's:
//
//	err := store.InTx(ctx, func(tx billing.StoreTx) error {
//		if err := tx.UpdateInvoice(ctx, inv); err != nil {
//			return err
//		}
//		_, err := riverClient.InsertTx(ctx, tx.SQLTx(), provisionArgs, nil)
//		return err
//	})
//
// # Writing a gateway
//
// A [Gateway] is a payment method. The on-chain bitcoin one, [OnChainGateway], derives one
// address per invoice from the operator's account key and follows payments with the bitcoin
// package's tracker. Another method (Lightning, a custodial processor) implements the same
// four methods:
//
//   - Method returns a stable name, stored with each invoice.
//   - CreatePaymentRequest returns the destination the customer pays and a URI for their
//     wallet. It runs inside the transaction that inserts the invoice: allocate anything
//     unique through that transaction (the store rejects a destination used twice), and
//     create nothing outside the store that a rollback would leave behind, or make it
//     harmless if it is left behind (an unpaid Lightning invoice expires by itself).
//   - Watch starts reporting payments to a destination. It is called after the commit and
//     again for every open invoice at start-up, so it must be idempotent.
//   - Run sends a [PaymentUpdate] for each payment to the sink until its context ends. Each
//     update carries the payment's whole current state ([Payment]: amount, confirmations,
//     RBF signalling, seen, replaced or removed) under a key that is stable for the payment
//     (TxID and Vout, or the method's own payment id in TxID), so a repeated update changes
//     nothing. When the sink returns an error, report the payment again later.
//
// The invoice's state then follows from the payments through [NextInvoiceState], whatever
// the method: a method without confirmations reports final payments with a Confirmations
// of at least the policy's depth.
package billing
