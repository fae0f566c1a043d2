package bitcoin

import (
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
)

// BenchmarkDeriveReceiveAddress measures one receive address per iteration, encoded to its
// string, through AccountKey and through bare hdkeychain doing the same work: the chain key
// derived once beforehand, then Derive(i), the public key, the address and its encoding.
func BenchmarkDeriveReceiveAddress(b *testing.B) {
	for _, script := range []ScriptType{P2PKH, P2SHP2WPKH, P2WPKH, P2TR} {
		b.Run(script.String()+"/AccountKey", func(b *testing.B) {
			key, err := ParseAccountKey(bip86AccountXpub, Mainnet, script)
			if err != nil {
				b.Fatal(err)
			}
			index := uint32(0)
			for b.Loop() {
				address, err := key.ReceiveAddress(index)
				if err != nil {
					b.Fatal(err)
				}
				_ = address.EncodeAddress()
				index++
			}
		})
		b.Run(script.String()+"/hdkeychain", func(b *testing.B) {
			account, err := hdkeychain.NewKeyFromString(bip86AccountXpub)
			if err != nil {
				b.Fatal(err)
			}
			chain, err := account.Derive(0)
			if err != nil {
				b.Fatal(err)
			}
			params := &chaincfg.MainNetParams
			index := uint32(0)
			for b.Loop() {
				child, err := chain.Derive(index)
				if err != nil {
					b.Fatal(err)
				}
				publicKey, err := child.ECPubKey()
				if err != nil {
					b.Fatal(err)
				}
				var address btcutil.Address
				keyHash := btcutil.Hash160(publicKey.SerializeCompressed())
				switch script {
				case P2PKH:
					address, err = btcutil.NewAddressPubKeyHash(keyHash, params)
				case P2SHP2WPKH:
					redeemScript := append([]byte{txscript.OP_0, txscript.OP_DATA_20},
						keyHash...)
					address, err = btcutil.NewAddressScriptHash(redeemScript, params)
				case P2WPKH:
					address, err = btcutil.NewAddressWitnessPubKeyHash(keyHash, params)
				case P2TR:
					outputKey := txscript.ComputeTaprootKeyNoScript(publicKey)
					address, err = btcutil.NewAddressTaproot(schnorr.SerializePubKey(outputKey),
						params)
				}
				if err != nil {
					b.Fatal(err)
				}
				_ = address.EncodeAddress()
				index++
			}
		})
	}
}

// BenchmarkDeriveReceive measures DeriveReceive, which also builds the output script.
func BenchmarkDeriveReceive(b *testing.B) {
	key, err := ParseAccountKey(bip84AccountZpub, Mainnet, ScriptTypeUnspecified)
	if err != nil {
		b.Fatal(err)
	}
	index := uint32(0)
	for b.Loop() {
		if _, err := key.DeriveReceive(index); err != nil {
			b.Fatal(err)
		}
		index++
	}
}
