package bitcoin

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseAccountKey checks that any text either parses to a key that derives and whose
// descriptor parses back to the same addresses, or fails with one of the package's
// sentinels and without repeating a private key.
func FuzzParseAccountKey(f *testing.F) {
	seeds := []string{
		bip84AccountZpub,
		bip86AccountXpub,
		bip84AccountZprv,
		bip32Vector2Xprv,
		"tr([73c5da0a/86h/0h/0h]" + bip86AccountXpub + "/<0;1>/*)",
		"sh(wpkh(" + bip32Vector2Xpub + "/0/*))#qqqqqqqq",
		"wpkh(" + bip32Vector2Xpub + "/3h/*h)",
		"wpkh(" + bip380WIF + ")",
		"raw(deadbeef)#89f8spxm",
		"wpkh([deadbeef/0'/1H/2h]" + bip32Vector2Xpub + "/1/<2;3>/*)",
	}
	for _, seed := range seeds {
		f.Add(seed)
	}
	sentinels := []error{ErrPrivateKey, ErrWrongNetwork, ErrHardenedDerivation, ErrBadChecksum,
		ErrUnsupportedScript, ErrScriptTypeConflict, ErrInvalidAccountKey}
	f.Fuzz(func(t *testing.T, text string) {
		key, err := ParseAccountKey(text, Mainnet, ScriptTypeUnspecified)
		if err != nil {
			wrapsSentinel := false
			for _, sentinel := range sentinels {
				wrapsSentinel = wrapsSentinel || errors.Is(err, sentinel)
			}
			if !wrapsSentinel {
				t.Fatalf("ParseAccountKey(%q) error %v wraps no sentinel", text, err)
			}
			for _, token := range strings.FieldsFunc(text, isDescriptorDelimiter) {
				if looksPrivate(token) && len(token) > 8 && strings.Contains(err.Error(), token) {
					t.Fatalf("error %q repeats the private key %q", err, token)
				}
			}
			return
		}
		again, err := ParseAccountKey(key.Descriptor(), Mainnet, ScriptTypeUnspecified)
		if err != nil {
			t.Fatalf("Descriptor() %q of %q does not parse: %v", key.Descriptor(), text, err)
		}
		want, err := key.ReceiveAddress(3)
		if err != nil {
			t.Fatal(err)
		}
		got, err := again.ReceiveAddress(3)
		if err != nil {
			t.Fatal(err)
		}
		if got.EncodeAddress() != want.EncodeAddress() {
			t.Fatalf("descriptor of %q derives %s, want %s", text, got, want)
		}
	})
}
