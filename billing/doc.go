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
// [SharedTxStore.InSharedTx] is InTx for many concurrent callers: those who arrive while a
// transaction runs share the next one, each in a savepoint of its own, and commit together.
// SQLite has a single writer and logs every changed page at each commit, so sharing the
// commit is what lets concurrent callers make more invoices per second; [Invoicer] uses it.
// Identifiers from [NewID] start with the time, so rows made together sit together in every
// index and a shared commit writes few pages.
//
// # Service
//
// [Service] ties the parts together: it turns a paid order into a running, metered and
// finally terminated instance. [NewService] checks a [Config] (it names every problem at
// once), migrates the service's tables and River's job tables into the store's database and
// returns a stopped service. [Service.Start] runs the job workers, has the gateway watch
// every invoice that [Queries.WatchedInvoices] returns and feeds the gateway's reports to
// [Service.HandlePayment]; [Service.Stop] stops the gateway and waits for running jobs.
//
// A portal calls [Service.SubmitOrder] with a sealed order envelope and the customer's
// public key, and gets back the stored, watched [Invoice]. [Service.Extend] does the same
// for an order that names a lease to extend. [Service.Invoice], [Service.Lease] (its State
// computed at the service clock's time) and [Service.Credentials] read the results; the
// credentials (instance address, host key fingerprints, lease end) are an OpenPGP message
// signed by the server and encrypted to the customer, sealed again when an extension moves
// the end. These methods are safe for concurrent use.
//
// Work runs as River jobs: provisioning (retried up to Config.LaunchAttempts, after which
// the payment becomes a refund), termination (retried until it succeeds), the lease's
// reminders and end, invoice expiry and the end of monitoring, webhook deliveries, operator
// alerts, the paid-until tag on the instance, a periodic sweep and a periodic [Service.Reconcile]
// of cloud instances against leases. Each state change is written together with the job
// that acts on it in one transaction, and every action is idempotent (EC2's ClientToken,
// unique jobs, unique constraints), so a crash at any point repeats work at most and never
// loses or doubles it. Before expiring an invoice, the service waits until a gateway that
// implements [SyncReporter] has caught up with the chain, so that a payment made while the
// server or its node was down is found first. Several services may share one PostgreSQL
// database; each job runs once among them.
//
// Every change is stored as an [Event] and published to [Service.Subscribe] and to each
// [WebhookEndpoint]: a POST of the event as JSON with the headers X-InStaRS-Event-Id,
// X-InStaRS-Event-Type, X-InStaRS-Timestamp (Unix seconds) and X-InStaRS-Signature,
// "sha256=" followed by the lower-case hex HMAC-SHA256 of the raw body keyed with the
// endpoint's secret. The signature covers the body only. Receivers check it with
// [VerifyWebhookSignature] and drop repeats by event ID. A delivery is retried on anything
// but a 2xx status, by default over about an hour ([DefaultWebhookRetrySchedule]), and
// [Service.RedeliverWebhook] sends an event again.
//
// The server holds no keys, so a [Refund] is a request the operator pays from their own
// wallet and then records with [Service.MarkRefundPaid]. Refunds are recorded for an
// overpayment, a late payment that is declined ([LateDecline], or
// [Service.DeclineLatePayment] under [LateHold]), a lease whose instance could not be
// launched, and an extension paid after its lease ended. A refund without an address
// waits for [Service.SetRefundAddress].
//
// Time comes from Config.Clock. With a clock other than the wall clock, River cannot
// schedule jobs into the future, so timed work is enqueued only when the periodic sweep or
// [Service.Tick] finds it due: call Tick after moving a fake clock.
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
//     nothing. When the sink returns an error, report the payment again later. Set SeenAt to
//     when the payment was made as far as the method can tell, not when it is reported:
//     [NextInvoiceState] compares it with the expiry. The on-chain gateway takes the node's
//     mempool entry time or the block's timestamp when earlier, so a payment found after a
//     restart is not taken as late.
//
// A method that can fall behind (a tracker catching up after a restart) also implements
// [SyncReporter], so that the service does not expire an invoice whose payment it has not
// reported yet. A method whose payments can still be taken back after the invoice's
// window (a reorganisation) implements [PaymentFollower], so that after a restart the
// service watches those invoices again. One that reports, after a restart, the payments
// made while it was stopped implements [PaymentResumer], so that the service also watches
// the invoices whose window ended during the stop. One that can tell, after a restart, that
// an unconfirmed payment it reported before is gone (replaced or double-spent while it was
// stopped) implements [PaymentVanisher], so that the invoice stops counting it.
//
// The invoice's state then follows from the payments through [NextInvoiceState], whatever
// the method: a method without confirmations reports final payments with a Confirmations
// of at least the policy's depth.
package billing
