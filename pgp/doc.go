// Package pgp seals and opens the OpenPGP envelopes that carry orders from customers and
// credentials back to them. A customer's key fingerprint is their identity. Built on
// github.com/ProtonMail/go-crypto; any OpenPGP tool (GnuPG, Sequoia, Kleopatra) reads the output.
//
// # Keys
//
// The server's key comes from LoadOrGenerateServerKey, which generates an Ed25519 key with an
// X25519 encryption subkey on first start and stores it with mode 0600, or from LoadServerKey
// for a key made elsewhere, for example with gpg. Either may be protected by a passphrase.
// Customers' keys come from ParsePublicKey, customers' own private keys from ParsePrivateKey or
// GenerateKey.
//
// Keys are ASCII-armored blocks (gpg --armor --export), one key per block, version 4 or 6. When
// a key is parsed, every key and subkey in it must be strong enough (RSA of at least MinRSABits
// bits or an elliptic curve other than secp256k1, so no DSA or ElGamal), the primary key must be
// neither expired nor revoked, and it needs a valid key for signing and one for encryption. A
// key whose only signing or encryption subkey has expired is rejected as expired. A key dated up
// to MaxClockSkew after the current time is accepted, because the clock of the computer that
// made it may run ahead. When an envelope is opened, the key that signed it must have been valid
// when it signed, and its primary key must still be neither expired nor revoked.
//
// PublicKey and PrivateKey print as their fingerprint, so logging one never prints key
// material, and both are safe for concurrent use.
//
// # Envelopes
//
// SealOrder (customer side) and Server.SealCredentials (server side) sign a payload and encrypt
// it to one recipient, returning an ASCII-armored OpenPGP message. The signature names its
// recipient, so a recipient cannot forward it re-encrypted to someone else as addressed to them.
// Sealed to a key dated up to MaxClockSkew ahead, the message takes the key's date.
//
// Server.Open, Server.OpenFromKeyring and OpenCredentials accept any ASCII-armored message that
// is encrypted to the opener's key (with an integrity check: SEIPD, as gpg writes by default)
// and signed inline by the expected key, whatever the compression or cipher, as GnuPG writes
// with gpg --armor --sign --encrypt. A signature by a subkey counts as one by its primary key.
// Other recipients and other signatures may be present. Binary, clearsigned, only signed,
// only encrypted and detached-signature messages are rejected, and so is a signature made with
// SHA-1, MD5 or RIPEMD-160. A signature dated up to MaxClockSkew after the current time is
// accepted.
//
// The decrypted payload may be at most ServerOptions.MaxPayloadBytes (DefaultMaxPayloadBytes,
// 64 KiB, by default; OpenCredentials always uses the default), and the armored envelope at most
// twice that plus 64 KiB. Both limits hold while reading, so neither a long input nor a
// compression bomb is read much beyond them.
//
// Open does not detect an envelope sent twice. The payload should carry a unique order ID that
// the caller records; Message.SignedAt gives the signer's stated time.
//
// # Errors
//
// Every rejection of an envelope or a key wraps one kind, tested with errors.Is, and its
// message says what was wrong and what was expected, naming keys by fingerprint or key ID only:
//
//   - envelopes: ErrMalformed (not armored OpenPGP, truncated, or a form this package does not
//     read), ErrTooLarge, ErrNotEncrypted, ErrWrongRecipient, ErrNotSigned, ErrWrongSigner,
//     ErrUnknownSigner (OpenFromKeyring only) and ErrBadSignature;
//   - keys: ErrKeyExpired, ErrKeyRevoked, ErrWeakKey and ErrUnusableKey, which Open also
//     returns for the signer's key; ErrPassphrase and ErrKeyFilePermissions for private keys.
//
// An error from a Keyring is returned wrapped, so errors.Is finds it too.
package pgp
