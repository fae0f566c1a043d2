// Package billing is the payment engine of InStaRS: orders, invoices and their states, the
// pluggable payment gateway with the on-chain bitcoin gateway, exchange rates, webhooks, the SQL
// store, and the service that turns a paid order into a running, metered and finally terminated
// instance.
//
// Billing defines the small interfaces it needs (a gateway, a provisioner, a store, a notifier);
// the lower packages bitcoin, pgp, metering and eucalyptus satisfy them without knowing billing.
package billing
