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
package bitcoin
