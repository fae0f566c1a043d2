// Package bitcoin is the watch-only bitcoin side of InStaRS: networks, exact amounts in satoshis,
// operator account keys (extended public keys and output descriptors), per-invoice address
// derivation, BIP21 payment URIs, chain sources that read blocks and mempool transactions from a
// node, and the payment tracker that turns them into payment events.
//
// The package never holds a private key. An extended private key or a WIF key given where an
// account key is expected is rejected, and the error does not repeat it.
//
// # Account keys
//
// ParseAccountKey takes the public side of the operator's wallet account in any common form:
//
//   - an extended public key: xpub or tpub (P2PKH, or the script type the caller names),
//     ypub or upub (P2SH-P2WPKH), zpub or vpub (P2WPKH), with receive addresses on chain 0
//     and change on chain 1;
//   - a BIP380 output descriptor pkh(KEY), sh(wpkh(KEY)), wpkh(KEY) or tr(KEY) (BIP86
//     key-path taproot), where KEY is an xpub or tpub with an optional [fingerprint/path]
//     origin and a /0/* or /<0;1>/* range; a checksum after '#' is verified when present.
//
// The resulting AccountKey derives the address and output script for an index with one
// public child derivation each. Errors wrap sentinels such as ErrPrivateKey, ErrWrongNetwork
// and ErrBadChecksum for errors.Is.
//
// # Amounts and payment URIs
//
// Amounts are btcutil.Amount satoshis. ParseBTC and FormatBTC convert BTC decimal strings
// exactly, without floating point. PaymentURI builds and ParsePaymentURI reads BIP21
// bitcoin: URIs.
//
// # Chain sources
//
// A ChainSource is a read-only view of a node. DialRPC connects to bitcoind, which it polls
// over HTTP, or to btcd, whose websocket pushes blocks and transactions; NewEsploraSource
// reads an Esplora HTTP server. A source that can also report when a transaction entered
// its node's mempool implements MempoolEntryTimer. The RPC source does, through
// getmempoolentry or, on btcd, which lacks that call, verbose getrawmempool. The Esplora
// source does not.
//
// # Payment tracker
//
// NewTracker takes a source, a CursorStore and an EventHandler. Watch the output script of
// every open invoice, then call Run. The handler receives one PaymentEvent per output that
// pays a watched script, keyed by its OutPoint:
//
//   - EventMempool when the transaction is seen unconfirmed;
//   - EventConfirmed at each new depth up to the tracker's Depth, the last with Final set,
//     after which the payment is no longer followed;
//   - EventReorged when its block leaves the best chain, followed by EventConfirmed again if
//     the transaction is mined in another block. A reorganisation deeper than Depth reports
//     Final payments too, as long as the node still has the blocks that left the chain;
//   - EventReplaced or EventDoubleSpent when a conflicting transaction enters the mempool or
//     a block;
//   - EventDropped when an unconfirmed payment leaves the mempool in any other way.
//
// Delivery is at least once. Each event carries the payment's full state, so a handler
// stores it by OutPoint. Repeats replay a payment's history: after a restart its
// confirmation count climbs again from the rescanned block, so a lower count in the same
// block is no news. The tracker saves its cursor right after the events of a block were
// handled, so the handler must make its effects durable before it returns. If the handler
// fails, Run returns the error, and the next call of Run on the same Tracker sends the
// failed event again (see EventHandler). If the process stops before the cursor is saved,
// the block is processed again at the next start.
//
// At start, Run rescans the Depth blocks below the saved cursor (below the tip if none was
// saved), walking back first if the cursor's block left the best chain, and scans the
// mempool, so events are repeated. Tracker.Synced turns true once that catch-up reached the
// node's tip, and false again while the tracker catches up after a lost connection; a
// consumer that acts on a payment's absence (expiring an invoice) waits for it. A saved
// cursor whose block the node never had (another network, or a reset regtest chain) stops
// Run with a ForeignCursorError rather than guessing where the chains part. Watch the open
// invoices' scripts before Run: a payment that is already in the mempool when its script is
// watched is reported only once it is mined, or at the next start.
//
// A payment found by the mempool scan at start or after a reconnection, rather than notified
// as it arrives, carries FirstSeen, when the node accepted it, if the source implements
// MempoolEntryTimer. A payment broadcast while the tracker was down is thus dated by its
// arrival at the node, not by the restart. The tracker makes one request per newly found
// paying transaction, never one per mempool transaction. When the request fails, it logs at
// debug level and leaves FirstSeen zero.
//
// NOTE: the tracker keeps unconfirmed payments in memory. An unconfirmed payment that left
// the mempool while the process was stopped is not reported again, so a consumer that still
// holds one after a restart hears of it again only if it is mined.
package bitcoin
