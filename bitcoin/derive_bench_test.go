package bitcoin

import (
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
)

// hdkeychainAddress is the baseline: bare hdkeychain doing what ReceiveAddress does, with the
// chain key derived once beforehand, then Derive(i), the public key and the address.
func hdkeychainAddress(b *testing.B, chain *hdkeychain.ExtendedKey, script ScriptType,
	index uint32) btcutil.Address {
	params := &chaincfg.MainNetParams
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
		redeemScript := append([]byte{txscript.OP_0, txscript.OP_DATA_20}, keyHash...)
		address, err = btcutil.NewAddressScriptHash(redeemScript, params)
	case P2WPKH:
		address, err = btcutil.NewAddressWitnessPubKeyHash(keyHash, params)
	case P2TR:
		outputKey := txscript.ComputeTaprootKeyNoScript(publicKey)
		address, err = btcutil.NewAddressTaproot(schnorr.SerializePubKey(outputKey), params)
	}
	if err != nil {
		b.Fatal(err)
	}
	return address
}

// BenchmarkDeriveReceiveAddress derives and encodes one receive address per iteration with
// AccountKey and one with the hdkeychain baseline, alternating, so that both see the same
// machine load. It reports each side's time per address and AccountKey's throughput as a
// percentage of the baseline's.
func BenchmarkDeriveReceiveAddress(b *testing.B) {
	for _, script := range []ScriptType{P2PKH, P2SHP2WPKH, P2WPKH, P2TR} {
		b.Run(script.String(), func(b *testing.B) {
			key, err := ParseAccountKey(bip86AccountXpub, Mainnet, script)
			if err != nil {
				b.Fatal(err)
			}
			account, err := hdkeychain.NewKeyFromString(bip86AccountXpub)
			if err != nil {
				b.Fatal(err)
			}
			chain, err := account.Derive(0)
			if err != nil {
				b.Fatal(err)
			}
			var accountKeyTime, baselineTime time.Duration
			index := uint32(0)
			for b.Loop() {
				start := time.Now()
				address, err := key.ReceiveAddress(index)
				if err != nil {
					b.Fatal(err)
				}
				ours := address.EncodeAddress()
				middle := time.Now()
				baseline := hdkeychainAddress(b, chain, script, index).EncodeAddress()
				baselineTime += time.Since(middle)
				accountKeyTime += middle.Sub(start)
				if ours != baseline {
					b.Fatalf("index %d: AccountKey %s, hdkeychain %s", index, ours, baseline)
				}
				index++
			}
			perAddress := func(total time.Duration) float64 {
				return float64(total.Microseconds()) / float64(b.N)
			}
			b.ReportMetric(perAddress(accountKeyTime), "accountkey-µs/addr")
			b.ReportMetric(perAddress(baselineTime), "hdkeychain-µs/addr")
			b.ReportMetric(100*float64(baselineTime)/float64(accountKeyTime), "throughput-%")
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
