package bitcoin

import (
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
)

// AccountKey is the public side of an operator's wallet account: it derives a new receive
// address for every invoice and holds no private key. Its chain keys are derived once when
// it is parsed, so each address costs one public child derivation. It is immutable and safe
// for concurrent use.
type AccountKey struct {
	network    *Network
	script     ScriptType
	receive    *publicChain
	change     *publicChain
	descriptor string
}

// ParseAccountKey parses an account's public key for a network. It accepts:
//
//   - an extended public key: xpub or tpub (P2PKH unless script selects another type), ypub or
//     upub (P2SH-P2WPKH), zpub or vpub (P2WPKH), with receive addresses on chain 0 and
//     change addresses on chain 1 below it, as BIP44, BIP49, BIP84 and BIP86 lay out;
//   - a BIP380 output descriptor pkh(KEY), sh(wpkh(KEY)), wpkh(KEY) or tr(KEY), where KEY
//     is an xpub or tpub with an optional [fingerprint/path] origin, unhardened steps and a
//     final /*, such as /0/* or the multipath /<0;1>/* that also names the change chain.
//     The checksum after '#' is optional and verified when present.
//
// The key is the account key a wallet exports, such as m/84'/0'/0' for BIP84. A master key
// (depth 0) given as a plain key is accepted too, but then gives m/0/i and m/1/i, which match
// only wallets that derive addresses directly below the master key.
//
// script selects the script type of a plain xpub or tpub; ScriptTypeUnspecified keeps the
// default (P2PKH for xpub and tpub, the stated type for every other form), and a type that
// contradicts the key's is an error. Errors wrap ErrPrivateKey, ErrWrongNetwork,
// ErrHardenedDerivation, ErrBadChecksum, ErrUnsupportedScript, ErrScriptTypeConflict or
// ErrInvalidAccountKey. An error about a private key never repeats it.
func ParseAccountKey(text string, network *Network, script ScriptType) (*AccountKey, error) {
	if network == nil || network.Params == nil {
		return nil, fmt.Errorf("%w: no network given", ErrInvalidAccountKey)
	}
	if script != ScriptTypeUnspecified && scriptTypeNames[script] == "" {
		return nil, fmt.Errorf("%w: script type %v", ErrUnsupportedScript, script)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("%w: empty; expected an extended public key (xpub, ypub, "+
			"zpub, tpub, upub, vpub) or a descriptor such as wpkh(xpub…/0/*)",
			ErrInvalidAccountKey)
	}
	if strings.ContainsAny(text, "()") {
		return parseDescriptorAccount(text, network, script)
	}
	return parseExtendedKeyAccount(text, network, script)
}

func parseExtendedKeyAccount(text string, network *Network, script ScriptType) (*AccountKey,
	error) {
	if looksPrivate(text) {
		return nil, fmt.Errorf("account key is a private key (%s): %w", privateKeyKind(text),
			ErrPrivateKey)
	}
	if strings.ContainsAny(text, "/[]") {
		return nil, fmt.Errorf("%w: a key with a derivation path must be written as a "+
			"descriptor, such as wpkh(xpub…/0/*); expected a bare extended public key or a "+
			"descriptor", ErrInvalidAccountKey)
	}
	decoded, err := decodeExtendedKey(text)
	if err != nil {
		return nil, err
	}
	if err := checkKeyNetwork(decoded.version, network); err != nil {
		return nil, err
	}
	keyScript := decoded.version.script
	if script != ScriptTypeUnspecified {
		if keyScript != P2PKH && keyScript != script {
			return nil, fmt.Errorf("%w: a %s key is %s, but the script type given is %s",
				ErrScriptTypeConflict, decoded.version.prefix, keyScript, script)
		}
		keyScript = script
	}
	// Chain 0 is for receiving and chain 1 for change, the BIP44 layout every standard
	// account key follows.
	key := keyExpression{
		key:   decoded,
		steps: []pathStep{{receive: 0, change: 1, multipath: true}},
	}
	return newAccountKey(network, keyScript, key)
}

func parseDescriptorAccount(text string, network *Network, script ScriptType) (*AccountKey,
	error) {
	descriptorScript, key, err := parseDescriptor(text)
	if err != nil {
		return nil, err
	}
	if err := checkKeyNetwork(key.key.version, network); err != nil {
		return nil, err
	}
	if script != ScriptTypeUnspecified && script != descriptorScript {
		return nil, fmt.Errorf("%w: the descriptor is %s, but the script type given is %s",
			ErrScriptTypeConflict, descriptorScript, script)
	}
	return newAccountKey(network, descriptorScript, key)
}

func newAccountKey(network *Network, script ScriptType, key keyExpression) (*AccountKey,
	error) {
	receive, err := deriveChain(key.key.key, key.chainPath(false))
	if err != nil {
		return nil, err
	}
	account := &AccountKey{
		network:    network,
		script:     script,
		receive:    receive,
		descriptor: renderDescriptor(script, key),
	}
	if key.hasChange() {
		account.change, err = deriveChain(key.key.key, key.chainPath(true))
		if err != nil {
			return nil, err
		}
	}
	return account, nil
}

func deriveChain(key *hdkeychain.ExtendedKey, path []uint32) (*publicChain, error) {
	for _, index := range path {
		child, err := key.Derive(index)
		if err != nil {
			return nil, fmt.Errorf("%w: deriving chain step %d: %v", ErrInvalidAccountKey,
				index, err)
		}
		key = child
	}
	return newPublicChain(key)
}

// Network returns the network the key derives addresses for.
func (k *AccountKey) Network() *Network { return k.network }

// ScriptType returns the script type of the derived addresses.
func (k *AccountKey) ScriptType() ScriptType { return k.script }

// HasChange reports whether the key names a change chain: true for plain extended keys and
// multipath descriptors, false for a descriptor with a single chain such as …/0/*.
func (k *AccountKey) HasChange() bool { return k.change != nil }

// Descriptor returns the account as a BIP380 descriptor with its checksum, with the key in
// xpub or tpub form and "h" for hardened origin steps. Plain extended keys come out as
// SCRIPT(xpub…/<0;1>/*).
func (k *AccountKey) Descriptor() string { return k.descriptor }

// String returns the script type and network, never the key.
func (k *AccountKey) String() string {
	return fmt.Sprintf("%s account key on %s", k.script, k.network)
}
