package bitcoin

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/txscript"
)

// DerivedAddress is one address of an account key, with the output script that pays to it.
type DerivedAddress struct {
	// Change is true for an address on the change chain.
	Change bool
	// Index is the child number on its chain.
	Index uint32
	// Address is the address to show the payer.
	Address btcutil.Address
	// PkScript is the output script (scriptPubKey) a payment to Address carries, which is
	// what a chain watcher matches.
	PkScript []byte
}

// DeriveReceive derives the receive address at index, from 0 to 2^31-1.
//
// NOTE: about one index in 2^127 gives no valid key (BIP32); the error then wraps
// hdkeychain.ErrInvalidChild and the caller should move on to the next index.
func (k *AccountKey) DeriveReceive(index uint32) (DerivedAddress, error) {
	return k.derive(k.receive, false, index)
}

// DeriveChange derives the change address at index. It returns ErrNoChangeChain for a
// descriptor that names only one chain.
func (k *AccountKey) DeriveChange(index uint32) (DerivedAddress, error) {
	if k.change == nil {
		return DerivedAddress{}, fmt.Errorf("%w: the descriptor names a single chain; give a "+
			"multipath descriptor such as wpkh(xpub…/<0;1>/*) to derive change addresses",
			ErrNoChangeChain)
	}
	return k.derive(k.change, true, index)
}

// ReceiveAddress derives the receive address at index; see DeriveReceive. It skips building
// the output script.
func (k *AccountKey) ReceiveAddress(index uint32) (btcutil.Address, error) {
	return k.deriveAddress(k.receive, index)
}

// ReceiveScript derives the output script of the receive address at index; see
// DeriveReceive.
func (k *AccountKey) ReceiveScript(index uint32) ([]byte, error) {
	derived, err := k.DeriveReceive(index)
	return derived.PkScript, err
}

// ChangeAddress derives the change address at index; see DeriveChange.
func (k *AccountKey) ChangeAddress(index uint32) (btcutil.Address, error) {
	derived, err := k.DeriveChange(index)
	return derived.Address, err
}

func (k *AccountKey) derive(chain *publicChain, change bool,
	index uint32) (DerivedAddress, error) {
	address, err := k.deriveAddress(chain, index)
	if err != nil {
		return DerivedAddress{}, err
	}
	pkScript, err := txscript.PayToAddrScript(address)
	if err != nil {
		return DerivedAddress{}, fmt.Errorf("deriving address index %d: %w", index, err)
	}
	return DerivedAddress{Change: change, Index: index, Address: address, PkScript: pkScript},
		nil
}

func (k *AccountKey) deriveAddress(chain *publicChain,
	index uint32) (btcutil.Address, error) {
	if index >= hdkeychain.HardenedKeyStart {
		return nil, fmt.Errorf("%w: address index %d; expected 0 to %d",
			ErrHardenedDerivation, index, hdkeychain.HardenedKeyStart-1)
	}
	publicKey, err := chain.child(index)
	if err != nil {
		return nil, fmt.Errorf("deriving address index %d: %w", index, err)
	}
	address, err := addressForKey(publicKey, k.script, k.network)
	if err != nil {
		return nil, fmt.Errorf("deriving address index %d: %w", index, err)
	}
	return address, nil
}

// addressForKey encodes a public key as an address of the script type.
func addressForKey(publicKey *btcec.PublicKey, script ScriptType,
	network *Network) (btcutil.Address, error) {
	switch script {
	case P2PKH:
		keyHash := btcutil.Hash160(publicKey.SerializeCompressed())
		return btcutil.NewAddressPubKeyHash(keyHash, network.Params)
	case P2SHP2WPKH:
		keyHash := btcutil.Hash160(publicKey.SerializeCompressed())
		// The redeem script is the P2WPKH witness program: OP_0 <20-byte key hash>.
		redeemScript := append([]byte{txscript.OP_0, txscript.OP_DATA_20}, keyHash...)
		return btcutil.NewAddressScriptHash(redeemScript, network.Params)
	case P2WPKH:
		keyHash := btcutil.Hash160(publicKey.SerializeCompressed())
		return btcutil.NewAddressWitnessPubKeyHash(keyHash, network.Params)
	case P2TR:
		// BIP86: the output key commits to the internal key and no script tree.
		outputKey := txscript.ComputeTaprootKeyNoScript(publicKey)
		return btcutil.NewAddressTaproot(schnorr.SerializePubKey(outputKey), network.Params)
	default:
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedScript, script)
	}
}
