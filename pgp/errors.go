package pgp

import "errors"

// Errors that reject an envelope. Each is wrapped with the detail of what was wrong, so callers
// test for the kind with errors.Is and show Error() to the customer.
var (
	// ErrMalformed means the input is not valid OpenPGP armor or packets, or uses a form this
	// package does not read (for example, encryption without an integrity check).
	ErrMalformed = errors.New("pgp: malformed input")

	// ErrNotEncrypted means the envelope is a plain or only signed message.
	ErrNotEncrypted = errors.New("pgp: envelope is not encrypted")

	// ErrWrongRecipient means the envelope is encrypted, but not to the key that tried to open it.
	ErrWrongRecipient = errors.New("pgp: envelope is not encrypted to this key")

	// ErrNotSigned means the envelope carries no signature.
	ErrNotSigned = errors.New("pgp: envelope is not signed")

	// ErrWrongSigner means the envelope is signed by a key other than the expected one.
	ErrWrongSigner = errors.New("pgp: envelope is signed by another key")

	// ErrUnknownSigner means the envelope is signed by a key the keyring does not contain.
	ErrUnknownSigner = errors.New("pgp: envelope is signed by an unknown key")

	// ErrBadSignature means the signature, or the integrity check of the encrypted data, does not
	// verify: the envelope was altered after it was sealed. It also covers a signature made
	// with a hash this package rejects (SHA-1, MD5, RIPEMD-160), one addressed to another
	// recipient, and one dated more than MaxClockSkew in the future.
	ErrBadSignature = errors.New("pgp: bad signature")

	// ErrTooLarge means the envelope or its decrypted payload exceeds the configured size limit.
	ErrTooLarge = errors.New("pgp: envelope too large")
)

// Errors that reject a key.
var (
	// ErrKeyExpired means the key, or the only subkey for a required use, has expired.
	ErrKeyExpired = errors.New("pgp: key expired")

	// ErrKeyRevoked means the key has been revoked by its owner.
	ErrKeyRevoked = errors.New("pgp: key revoked")

	// ErrWeakKey means the key uses an algorithm or size this package does not accept: RSA under
	// 2048 bits, DSA, ElGamal or the secp256k1 curve.
	ErrWeakKey = errors.New("pgp: key too weak")

	// ErrUnusableKey means the key lacks a valid self-signature, a key for signing or a key for
	// encryption, or is a private key where a public key was expected.
	ErrUnusableKey = errors.New("pgp: key unusable")

	// ErrPassphrase means a private key is protected and the passphrase is missing or wrong.
	ErrPassphrase = errors.New("pgp: wrong or missing passphrase")

	// ErrKeyFilePermissions means a private key file can be read or written by other users.
	ErrKeyFilePermissions = errors.New("pgp: key file permissions too open")
)
