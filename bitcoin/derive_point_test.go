package bitcoin

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
)

// TestPublicChainMatchesHdkeychain compares the cached-point derivation with hdkeychain's
// own Derive over a range of indexes, on both chains of two accounts.
func TestPublicChainMatchesHdkeychain(t *testing.T) {
	for _, text := range []string{bip86AccountXpub, bip32Vector2Xpub} {
		account, err := hdkeychain.NewKeyFromString(text)
		if err != nil {
			t.Fatal(err)
		}
		for _, chainIndex := range []uint32{0, 1} {
			chainKey, err := account.Derive(chainIndex)
			if err != nil {
				t.Fatal(err)
			}
			chain, err := newPublicChain(chainKey)
			if err != nil {
				t.Fatal(err)
			}
			indexes := []uint32{hdkeychain.HardenedKeyStart - 1, 1_000_000_000}
			for index := uint32(0); index < 300; index++ {
				indexes = append(indexes, index)
			}
			for _, index := range indexes {
				want, err := chainKey.Derive(index)
				if err != nil {
					t.Fatal(err)
				}
				wantKey, err := want.ECPubKey()
				if err != nil {
					t.Fatal(err)
				}
				got, err := chain.child(index)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.SerializeCompressed(), wantKey.SerializeCompressed()) {
					t.Fatalf("%.12s…/%d/%d = %x, want %x", text, chainIndex, index,
						got.SerializeCompressed(), wantKey.SerializeCompressed())
				}
			}
		}
	}
}
