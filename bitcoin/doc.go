// Package bitcoin is the watch-only bitcoin side of InStaRS: networks, exact amounts in satoshis,
// operator account keys (extended public keys and output descriptors), per-invoice address
// derivation, BIP21 payment URIs, chain sources that read blocks and mempool transactions from a
// node, and the payment tracker that turns them into payment events.
//
// The package never holds a private key. An extended private key given where an account key is
// expected is rejected.
package bitcoin
