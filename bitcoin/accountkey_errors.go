package bitcoin

import "errors"

// Errors that ParseAccountKey and the derivation methods wrap, so that callers can tell the
// cases apart with errors.Is. The wrapping error names what was given and what is expected.
var (
	// ErrPrivateKey means the text holds a private key: an extended private key (xprv, tprv,
	// yprv, …) or a WIF key. The error never repeats the key.
	ErrPrivateKey = errors.New("this is a private key; give the account's public key")

	// ErrWrongNetwork means the key belongs to another bitcoin network than the configured one.
	ErrWrongNetwork = errors.New("account key is for another network")

	// ErrHardenedDerivation means a derivation step after the key, a wildcard or an address
	// index is hardened, which needs the private key.
	ErrHardenedDerivation = errors.New("hardened derivation needs the private key")

	// ErrBadChecksum means the checksum of an extended key or of a descriptor does not match
	// its text, which usually means a typing or copying mistake.
	ErrBadChecksum = errors.New("checksum does not match")

	// ErrUnsupportedScript means the key or descriptor describes outputs the server does not
	// derive: multisig keys, sh() around anything but wpkh(), multi(), wsh(), taproot script
	// trees and other script expressions.
	ErrUnsupportedScript = errors.New("unsupported script type")

	// ErrScriptTypeConflict means an explicit script type contradicts the one the key's
	// version bytes or the descriptor state.
	ErrScriptTypeConflict = errors.New("script type conflicts with the account key")

	// ErrInvalidAccountKey means the text is not a well-formed extended public key or
	// descriptor.
	ErrInvalidAccountKey = errors.New("invalid account key")

	// ErrNoChangeChain means the account key names only one chain, so it has no change
	// addresses.
	ErrNoChangeChain = errors.New("account key has no change chain")
)
