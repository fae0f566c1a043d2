// Package pgp seals and opens the OpenPGP envelopes that carry orders from customers and
// credentials back to them. A customer's key fingerprint is their identity. Built on
// github.com/ProtonMail/go-crypto; any OpenPGP tool (GnuPG, Sequoia, Kleopatra) reads the output.
package pgp
