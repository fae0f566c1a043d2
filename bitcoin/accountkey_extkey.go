package bitcoin

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// keyVersion describes one set of BIP32 version bytes, as registered in BIP32, BIP49, BIP84
// and SLIP-0132.
type keyVersion struct {
	prefix   string
	bytes    [4]byte
	private  bool
	mainnet  bool
	script   ScriptType
	multisig bool
}

var keyVersions = []keyVersion{
	{prefix: "xpub", bytes: [4]byte{0x04, 0x88, 0xb2, 0x1e}, mainnet: true, script: P2PKH},
	{prefix: "xprv", bytes: [4]byte{0x04, 0x88, 0xad, 0xe4}, mainnet: true, private: true},
	{prefix: "ypub", bytes: [4]byte{0x04, 0x9d, 0x7c, 0xb2}, mainnet: true, script: P2SHP2WPKH},
	{prefix: "yprv", bytes: [4]byte{0x04, 0x9d, 0x78, 0x78}, mainnet: true, private: true},
	{prefix: "zpub", bytes: [4]byte{0x04, 0xb2, 0x47, 0x46}, mainnet: true, script: P2WPKH},
	{prefix: "zprv", bytes: [4]byte{0x04, 0xb2, 0x43, 0x0c}, mainnet: true, private: true},
	{prefix: "Ypub", bytes: [4]byte{0x02, 0x95, 0xb4, 0x3f}, mainnet: true, multisig: true},
	{prefix: "Yprv", bytes: [4]byte{0x02, 0x95, 0xb0, 0x05}, mainnet: true, private: true},
	{prefix: "Zpub", bytes: [4]byte{0x02, 0xaa, 0x7e, 0xd3}, mainnet: true, multisig: true},
	{prefix: "Zprv", bytes: [4]byte{0x02, 0xaa, 0x7a, 0x99}, mainnet: true, private: true},
	{prefix: "tpub", bytes: [4]byte{0x04, 0x35, 0x87, 0xcf}, script: P2PKH},
	{prefix: "tprv", bytes: [4]byte{0x04, 0x35, 0x83, 0x94}, private: true},
	{prefix: "upub", bytes: [4]byte{0x04, 0x4a, 0x52, 0x62}, script: P2SHP2WPKH},
	{prefix: "uprv", bytes: [4]byte{0x04, 0x4a, 0x4e, 0x28}, private: true},
	{prefix: "vpub", bytes: [4]byte{0x04, 0x5f, 0x1c, 0xf6}, script: P2WPKH},
	{prefix: "vprv", bytes: [4]byte{0x04, 0x5f, 0x18, 0xbc}, private: true},
	{prefix: "Upub", bytes: [4]byte{0x02, 0x42, 0x89, 0xef}, multisig: true},
	{prefix: "Uprv", bytes: [4]byte{0x02, 0x42, 0x85, 0xb5}, private: true},
	{prefix: "Vpub", bytes: [4]byte{0x02, 0x57, 0x54, 0x83}, multisig: true},
	{prefix: "Vprv", bytes: [4]byte{0x02, 0x57, 0x50, 0x48}, private: true},
}

// serializedExtendedKeyLen is the BIP32 serialization: version (4), depth (1), parent
// fingerprint (4), child number (4), chain code (32), key (33), then a 4-byte checksum.
const serializedExtendedKeyLen = 78 + 4

// decodedExtendedKey is a public extended key re-encoded with the plain xpub or tpub version,
// which is what hdkeychain derives from, and the version it was given with.
type decodedExtendedKey struct {
	key     *hdkeychain.ExtendedKey
	version keyVersion
}

// looksPrivate reports whether a token is visibly a private key by its prefix, even when a
// typing mistake keeps it from decoding, so that errors about it never repeat it.
func looksPrivate(token string) bool {
	if len(token) < 4 {
		return false
	}
	for _, v := range keyVersions {
		if v.private && token[:4] == v.prefix {
			return true
		}
	}
	return isWIF(token)
}

// isWIF reports whether a token has the shape of a wallet import format private key: a
// version byte, 32 key bytes, an optional compression flag and a checksum. Neither the flag
// nor the checksum is checked, because a typing mistake in base58 text changes every byte
// below it and the key must still be recognised, so that no error repeats it.
func isWIF(token string) bool {
	if len(token) < 50 || len(token) > 53 {
		return false
	}
	decoded := base58.Decode(token)
	if len(decoded) != 1+32+4 && len(decoded) != 1+32+1+4 {
		return false
	}
	return decoded[0] == chaincfg.MainNetParams.PrivateKeyID ||
		decoded[0] == chaincfg.TestNet3Params.PrivateKeyID
}

// decodeExtendedKey decodes a base58 BIP32 extended public key of any registered version.
// Errors never contain the token when it may be a private key.
func decodeExtendedKey(token string) (decodedExtendedKey, error) {
	if looksPrivate(token) {
		return decodedExtendedKey{}, fmt.Errorf("account key is a private key (%s): %w",
			privateKeyKind(token), ErrPrivateKey)
	}
	decoded := base58.Decode(token)
	if len(decoded) == 0 && token != "" {
		return decodedExtendedKey{}, errNotBase58(token)
	}
	if len(decoded) != serializedExtendedKeyLen {
		return decodedExtendedKey{}, fmt.Errorf("%w: %s is not a BIP32 extended key "+
			"(decodes to %d bytes, expected %d); expected an xpub, ypub, zpub, tpub, upub "+
			"or vpub", ErrInvalidAccountKey, redactKey(token), len(decoded),
			serializedExtendedKeyLen)
	}

	payload := decoded[:78]
	// A private key's 33-byte key field starts with a zero byte, whatever the version bytes claim.
	if payload[45] == 0x00 {
		return decodedExtendedKey{}, fmt.Errorf("account key is an extended private key: %w",
			ErrPrivateKey)
	}
	checksum := chainhash.DoubleHashB(payload)[:4]
	if !bytes.Equal(checksum, decoded[78:]) {
		return decodedExtendedKey{}, fmt.Errorf("extended key %s: %w; check it for a typing "+
			"or copying mistake", redactKey(token), ErrBadChecksum)
	}

	version, ok := lookupKeyVersion(payload[:4])
	if !ok {
		return decodedExtendedKey{}, fmt.Errorf("%w: %s has unknown version bytes %x; "+
			"expected an xpub, ypub, zpub, tpub, upub or vpub", ErrInvalidAccountKey,
			redactKey(token), payload[:4])
	}
	if version.private {
		return decodedExtendedKey{}, fmt.Errorf("account key is an %s: %w",
			version.prefix, ErrPrivateKey)
	}
	if version.multisig {
		return decodedExtendedKey{}, fmt.Errorf("%w: %s is a multisig key; expected a "+
			"single-signature xpub, ypub, zpub, tpub, upub or vpub",
			ErrUnsupportedScript, version.prefix)
	}

	// BIP32 gives a master key (depth 0) no parent, so its parent fingerprint and child
	// number must be zero. hdkeychain does not check this.
	depth, parentFingerprint := payload[4], payload[5:9]
	childNumber := payload[9:13]
	if depth == 0 && (!bytes.Equal(parentFingerprint, make([]byte, 4)) ||
		!bytes.Equal(childNumber, make([]byte, 4))) {
		return decodedExtendedKey{}, fmt.Errorf("%w: %s has depth 0, which marks a master "+
			"key, but a non-zero parent fingerprint %x or child number %x; expected both "+
			"zero, as BIP32 requires", ErrInvalidAccountKey, redactKey(token),
			parentFingerprint, childNumber)
	}

	hdVersion := chaincfg.TestNet3Params.HDPublicKeyID
	if version.mainnet {
		hdVersion = chaincfg.MainNetParams.HDPublicKeyID
	}
	// NewKeyFromString also checks that the public key is a point on the curve.
	parsed, err := hdkeychain.NewKeyFromString(token)
	if err != nil {
		return decodedExtendedKey{}, fmt.Errorf("%w: %s: %v", ErrInvalidAccountKey,
			redactKey(token), err)
	}
	publicKey, err := parsed.ECPubKey()
	if err != nil {
		return decodedExtendedKey{}, fmt.Errorf("%w: %s: %v", ErrInvalidAccountKey,
			redactKey(token), err)
	}
	key := hdkeychain.NewExtendedKey(hdVersion[:], publicKey.SerializeCompressed(),
		parsed.ChainCode(), parentFingerprint, parsed.Depth(), parsed.ChildIndex(), false)
	return decodedExtendedKey{key: key, version: version}, nil
}

// base58Alphabet is the alphabet of base58 text, which leaves out 0, O, I and l.
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// errNotBase58 names the first character of a key that base58 does not use, so that the
// operator can find a mistyped or pasted-in character.
func errNotBase58(token string) error {
	for position, character := range token {
		if !strings.ContainsRune(base58Alphabet, character) {
			return fmt.Errorf("%w: %s contains %q at position %d, which is not a base58 "+
				"character (base58 leaves out 0, O, I and l); expected an xpub, ypub, zpub, "+
				"tpub, upub or vpub", ErrInvalidAccountKey, redactKey(token), character,
				utf8.RuneCountInString(token[:position])+1)
		}
	}
	return fmt.Errorf("%w: %s is not base58 text", ErrInvalidAccountKey, redactKey(token))
}

func lookupKeyVersion(versionBytes []byte) (keyVersion, bool) {
	for _, v := range keyVersions {
		if bytes.Equal(v.bytes[:], versionBytes) {
			return v, true
		}
	}
	return keyVersion{}, false
}

// isMainnetFamily reports whether a network uses the mainnet BIP32 version bytes; testnet3,
// signet and regtest all share tpub.
func isMainnetFamily(network *Network) bool {
	return network.Params.HDPublicKeyID == chaincfg.MainNetParams.HDPublicKeyID
}

func checkKeyNetwork(version keyVersion, network *Network) error {
	if version.mainnet == isMainnetFamily(network) {
		return nil
	}
	if version.mainnet {
		return fmt.Errorf("%w: %s is a mainnet key, but the network is %s; expected a "+
			"tpub, upub or vpub (or a descriptor with a tpub)", ErrWrongNetwork,
			version.prefix, network.Name)
	}
	return fmt.Errorf("%w: %s is a test network key, but the network is %s; expected an "+
		"xpub, ypub or zpub (or a descriptor with an xpub)", ErrWrongNetwork,
		version.prefix, network.Name)
}

// redactKey shortens a public key for error messages, so that logs never carry whole keys
// while the operator can still recognise which key was meant.
func redactKey(token string) string {
	if len(token) <= 16 {
		return fmt.Sprintf("%q", token)
	}
	return fmt.Sprintf("%q", token[:8]+"…"+token[len(token)-4:])
}

// privateKeyKind names the kind of a private key by its version prefix alone, which
// reveals nothing about the key itself.
func privateKeyKind(token string) string {
	if isWIF(token) {
		return "WIF"
	}
	return strings.Clone(token[:4])
}
