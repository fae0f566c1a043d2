package bitcoin

import (
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
)

// Published vectors: BIP49, BIP84 and BIP86 all use the mnemonic "abandon abandon … about".
const (
	bip84AccountZpub = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSd" +
		"VCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
	bip84AccountZprv = "zprvAdG4iTXWBoARxkkzNpNh8r6Qag3irQB8PzEMkAFeTRXxHpbF9z4QgEvBRmfvqWvGp42" +
		"t42nvgGpNgYSJA9iefm1yYNZKEm7z6qUWCroSQnE"
	bip49AccountUpub = "upub5EFU65HtV5TeiSHmZZm7FUffBGy8UKeqp7vw43jYbvZPpoVsgU93oac7Wk3u6moKegA" +
		"EWtGNF8DehrnHtv21XXEMYRUocHqguyjknFHYfgY"
	bip49AccountUprv = "uprv91G7gZkzehuMVxDJTYE6tLivdF8e4rvzSu1LFfKw3b2Qx1Aj8vpoFnHdfUZ3hmi9jsv" +
		"PifmZ24RTN2KhwB8BfMLTVqaBReibyaFFcTP1s9n"
	bip86AccountXpub = "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3U" +
		"KDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ"
	bip86AccountXprv = "xprv9xgqHN7yz9MwCkxsBPN5qetuNdQSUttZNKw1dcYTV4mkaAFiBVGQziHs3NRSWMkCzvg" +
		"jEe3n9xV8oYywvM8at9yRqyaZVz6TYYhX98VjsUk"
)

// BIP32 test vector 2, chain m/0/2147483647H/1/2147483646H, also used by BIP380's examples.
const (
	bip32Vector2Xpub = "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4kox" +
		"b5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL"
	bip32Vector2Xprv = "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njG" +
		"VyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc"
	bip380WIF = "L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1"
)

func mustParseAccountKey(t *testing.T, text string, network *Network,
	script ScriptType) *AccountKey {
	t.Helper()
	key, err := ParseAccountKey(text, network, script)
	if err != nil {
		t.Fatalf("ParseAccountKey(%.30q…): %v", text, err)
	}
	return key
}

func checkAddress(t *testing.T, name string, derive func(uint32) (DerivedAddress, error),
	index uint32, want string) {
	t.Helper()
	derived, err := derive(index)
	if err != nil {
		t.Fatalf("%s %d: %v", name, index, err)
	}
	if got := derived.Address.EncodeAddress(); got != want {
		t.Errorf("%s %d = %s, want %s", name, index, got, want)
	}
}

func TestAccountKeyBIP84Vectors(t *testing.T) {
	key := mustParseAccountKey(t, bip84AccountZpub, Mainnet, ScriptTypeUnspecified)
	if key.ScriptType() != P2WPKH {
		t.Fatalf("script type = %v, want p2wpkh", key.ScriptType())
	}
	checkAddress(t, "receive", key.DeriveReceive, 0, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu")
	checkAddress(t, "receive", key.DeriveReceive, 1, "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g")
	checkAddress(t, "change", key.DeriveChange, 0, "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el")
}

// TestBIP84AccountZpubMatchesXprv checks that the account zpub above is the public side of
// the account zprv that BIP84 publishes.
func TestBIP84AccountZpubMatchesXprv(t *testing.T) {
	private, err := hdkeychain.NewKeyFromString(bip84AccountZprv)
	if err != nil {
		t.Fatal(err)
	}
	private, err = private.CloneWithVersion(chaincfg.MainNetParams.HDPrivateKeyID[:])
	if err != nil {
		t.Fatal(err)
	}
	public, err := private.Neuter()
	if err != nil {
		t.Fatal(err)
	}
	public, err = public.CloneWithVersion([]byte{0x04, 0xb2, 0x47, 0x46})
	if err != nil {
		t.Fatal(err)
	}
	if public.String() != bip84AccountZpub {
		t.Errorf("neutered BIP84 zprv = %s, want %s", public, bip84AccountZpub)
	}
}

func TestAccountKeyBIP49Vector(t *testing.T) {
	for _, network := range []*Network{Testnet3, Signet} {
		key := mustParseAccountKey(t, bip49AccountUpub, network, ScriptTypeUnspecified)
		if key.ScriptType() != P2SHP2WPKH {
			t.Fatalf("script type = %v, want p2sh-p2wpkh", key.ScriptType())
		}
		checkAddress(t, "receive", key.DeriveReceive, 0, "2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2")
	}
}

// TestAccountKeyMainnetWalletVectors checks the mainnet BIP44 and BIP49 account keys of the
// mnemonic "abandon abandon … about" (m/44'/0'/0' and m/49'/0'/0') against the addresses
// that wallet libraries publish for them.
func TestAccountKeyMainnetWalletVectors(t *testing.T) {
	const (
		bip44AccountXpub = "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8" +
			"Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj"
		bip49AccountYpub = "ypub6Ww3ibxVfGzLrAH1PNcjyAWenMTbbAosGNB6VvmSEgytSER9azLDWCxoJwW7K" +
			"e7icmizBMXrzBx9979FfaHxHcrArf3zbeJJJUZPf663zsP"
	)
	tests := []struct {
		name     string
		text     string
		script   ScriptType
		receive  []string
		change0  string
		wantType ScriptType
	}{
		{"bip44 xpub", bip44AccountXpub, ScriptTypeUnspecified,
			[]string{"1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA", "1Ak8PffB2meyfYnbXZR9EGfLfFZVpzJvQP"},
			"1J3J6EvPrv8q6AC3VCjWV45Uf3nssNMRtH", P2PKH},
		{"bip44 pkh descriptor", "pkh([73c5da0a/44H/0H/0H]" + bip44AccountXpub + "/<0;1>/*)",
			ScriptTypeUnspecified,
			[]string{"1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA", "1Ak8PffB2meyfYnbXZR9EGfLfFZVpzJvQP"},
			"1J3J6EvPrv8q6AC3VCjWV45Uf3nssNMRtH", P2PKH},
		{"bip49 ypub", bip49AccountYpub, ScriptTypeUnspecified,
			[]string{"37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf", "3LtMnn87fqUeHBUG414p9CWwnoV6E2pNKS"},
			"34K56kSjgUCUSD8GTtuF7c9Zzwokbs6uZ7", P2SHP2WPKH},
		{"bip49 ypub with its own type", bip49AccountYpub, P2SHP2WPKH,
			[]string{"37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf", "3LtMnn87fqUeHBUG414p9CWwnoV6E2pNKS"},
			"34K56kSjgUCUSD8GTtuF7c9Zzwokbs6uZ7", P2SHP2WPKH},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			key := mustParseAccountKey(t, test.text, Mainnet, test.script)
			if key.ScriptType() != test.wantType {
				t.Errorf("script type = %v, want %v", key.ScriptType(), test.wantType)
			}
			for index, want := range test.receive {
				checkAddress(t, "receive", key.DeriveReceive, uint32(index), want)
			}
			checkAddress(t, "change", key.DeriveChange, 0, test.change0)
		})
	}
}

func TestAccountKeyBIP86Vectors(t *testing.T) {
	forms := []string{
		bip86AccountXpub,
		"tr([73c5da0a/86h/0h/0h]" + bip86AccountXpub + "/<0;1>/*)",
		"tr([73c5da0a/86'/0'/0']" + bip86AccountXpub + "/<0;1>/*)",
	}
	for _, form := range forms {
		key := mustParseAccountKey(t, form, Mainnet, P2TR)
		checkAddress(t, "receive", key.DeriveReceive, 0,
			"bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr")
		checkAddress(t, "receive", key.DeriveReceive, 1,
			"bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh")
		checkAddress(t, "change", key.DeriveChange, 0,
			"bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7")
		script, err := key.ReceiveScript(0)
		if err != nil {
			t.Fatal(err)
		}
		want := "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c"
		if got := hex.EncodeToString(script); got != want {
			t.Errorf("receive script 0 = %s, want %s", got, want)
		}
	}
}

// TestAccountKeyBIP32PublicDerivation checks the unhardened public derivation steps of the
// BIP32 test vectors: the child at the index, derived from the parent's xpub, must have the
// public key of the child xpub that BIP32 publishes.
func TestAccountKeyBIP32PublicDerivation(t *testing.T) {
	vectors := []struct {
		parent string
		index  uint32
		child  string
	}{
		{ // Vector 1: m/0H -> m/0H/1.
			"xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
			1,
			"xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ",
		},
		{ // Vector 1: m/0H/1/2H -> m/0H/1/2H/2.
			"xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
			2,
			"xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
		},
		{ // Vector 1: m/0H/1/2H/2 -> m/0H/1/2H/2/1000000000.
			"xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
			1000000000,
			"xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy",
		},
		{ // Vector 2: m -> m/0.
			"xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB",
			0,
			"xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH",
		},
		{ // Vector 2: m/0/2147483647H -> m/0/2147483647H/1.
			"xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a",
			1,
			"xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon",
		},
		{ // Vector 2: m/0/2147483647H/1/2147483646H -> …/2.
			bip32Vector2Xpub,
			2,
			"xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt",
		},
	}
	for _, vector := range vectors {
		key := mustParseAccountKey(t, "pkh("+vector.parent+"/*)", Mainnet, ScriptTypeUnspecified)
		child, err := hdkeychain.NewKeyFromString(vector.child)
		if err != nil {
			t.Fatal(err)
		}
		want, err := child.Address(&chaincfg.MainNetParams)
		if err != nil {
			t.Fatal(err)
		}
		checkAddress(t, vector.parent[:12]+"… child", key.DeriveReceive, vector.index,
			want.EncodeAddress())
	}
}

// TestAccountKeyBIP32InvalidKeys checks the extended public keys of BIP32 test vector 5,
// which every implementation must reject.
func TestAccountKeyBIP32InvalidKeys(t *testing.T) {
	tests := []struct {
		name string
		text string
		want error
	}{
		{"public version with private key data", "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZni" +
			"ngWLdN3zgtU6LBpB85b3D2yc8sfvZU521AAwdZafEz7mnzBBsz4wKY5fTtTQBm", ErrPrivateKey},
		{"public key prefix 04", "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6" +
			"Txnt3siSujt9RCVYsx4qHZGc62TG4McvMGcAUjeuwZdduYEvFn", ErrInvalidAccountKey},
		{"public key prefix 01", "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6" +
			"N8ZMMXctdiCjxTNq964yKkwrkBJJwpzZS4HS2fxvyYUA4q2Xe4", ErrInvalidAccountKey},
		{"zero depth with parent fingerprint", "xpub661no6RGEX3uJkY4bNnPcw4URcQTrSibUZ4NqJEw5eBk" +
			"v7ovTwgiT91XX27VbEXGENhYRCf7hyEbWrR3FewATdCEebj6znwMfQkhRYHRLpJ", ErrInvalidAccountKey},
		{"zero depth with child number", "xpub661MyMwAuDcm6CRQ5N4qiHKrJ39Xe1R1NyfouMKTTWcguwVcf" +
			"rZJaNvhpebzGerh7gucBvzEQWRugZDuDXjNDRmXzSZe4c7mnTK97pTvGS8", ErrInvalidAccountKey},
		{"unknown version with private key data", "DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAt" +
			"CX8CvYzgPcn8XnmdfHGMQzT7ayAmfo4z3gY5KfbrZWZ6St24UVf2Qgo6oujFktLHdHY4", ErrPrivateKey},
		{"unknown version", "DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHPmHJi" +
			"EDXkTiJTVV9rHEBUem2mwVbbNfvT2MTcAqj3nesx8uBf9", ErrInvalidAccountKey},
		{"public key not on the curve", "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLd" +
			"N3zgtU6Q5JXayek4PRsn35jii4veMimro1xefsM58PgBMrvdYre8QyULY", ErrInvalidAccountKey},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			for _, text := range []string{test.text, "pkh(" + test.text + "/*)"} {
				key, err := ParseAccountKey(text, Mainnet, ScriptTypeUnspecified)
				if !errors.Is(err, test.want) {
					t.Errorf("ParseAccountKey(%.20s…) error = %v (key %v), want %v", text, err,
						key, test.want)
				}
			}
		})
	}
}

func TestAccountKeyForms(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		script ScriptType
		want   ScriptType
		change bool
	}{
		{"xpub defaults to p2pkh", bip86AccountXpub, ScriptTypeUnspecified, P2PKH, true},
		{"xpub with p2wpkh", bip86AccountXpub, P2WPKH, P2WPKH, true},
		{"zpub", bip84AccountZpub, ScriptTypeUnspecified, P2WPKH, true},
		{"zpub with its own type", bip84AccountZpub, P2WPKH, P2WPKH, true},
		{"pkh descriptor", "pkh(" + bip86AccountXpub + "/0/*)", ScriptTypeUnspecified, P2PKH,
			false},
		{"sh wpkh descriptor", "sh(wpkh(" + bip86AccountXpub + "/0/*))", ScriptTypeUnspecified,
			P2SHP2WPKH, false},
		{"wpkh multipath", "wpkh(" + bip86AccountXpub + "/<0;1>/*)", P2WPKH, P2WPKH, true},
		{"surrounding spaces", "  " + bip84AccountZpub + "\n", ScriptTypeUnspecified, P2WPKH,
			true},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			key := mustParseAccountKey(t, test.text, Mainnet, test.script)
			if key.ScriptType() != test.want {
				t.Errorf("script type = %v, want %v", key.ScriptType(), test.want)
			}
			if key.HasChange() != test.change {
				t.Errorf("HasChange = %v, want %v", key.HasChange(), test.change)
			}
			if _, err := key.DeriveChange(0); (err == nil) != test.change {
				t.Errorf("DeriveChange error = %v, want change chain %v", err, test.change)
			}
		})
	}
}

// TestAccountKeyFormsAgree checks that a zpub, the same key as an xpub with a script type,
// and its descriptors derive the same addresses.
func TestAccountKeyFormsAgree(t *testing.T) {
	zpub := mustParseAccountKey(t, bip84AccountZpub, Mainnet, ScriptTypeUnspecified)
	descriptor := zpub.Descriptor()
	if !strings.HasPrefix(descriptor, "wpkh(xpub") || !strings.HasSuffix(descriptor[:len(
		descriptor)-9], "/<0;1>/*)") {
		t.Fatalf("Descriptor() = %s, want wpkh(xpub…/<0;1>/*)#checksum", descriptor)
	}
	body, _, _ := strings.Cut(descriptor, "#")
	xpub := strings.TrimSuffix(strings.TrimPrefix(body, "wpkh("), "/<0;1>/*)")
	others := []*AccountKey{
		mustParseAccountKey(t, descriptor, Mainnet, ScriptTypeUnspecified),
		mustParseAccountKey(t, xpub, Mainnet, P2WPKH),
		mustParseAccountKey(t, "wpkh("+xpub+"/0/*)", Mainnet, ScriptTypeUnspecified),
	}
	for i, other := range others {
		for index := uint32(0); index < 5; index++ {
			want, err := zpub.ReceiveAddress(index)
			if err != nil {
				t.Fatal(err)
			}
			got, err := other.ReceiveAddress(index)
			if err != nil {
				t.Fatal(err)
			}
			if got.EncodeAddress() != want.EncodeAddress() {
				t.Errorf("form %d index %d = %s, want %s", i, index, got, want)
			}
		}
	}
}

func TestAccountKeyRegtestAddresses(t *testing.T) {
	tpub := mustParseAccountKey(t, bip49AccountUpub, Regtest, P2SHP2WPKH)
	descriptor := tpub.Descriptor()
	body, _, _ := strings.Cut(descriptor, "#")
	tpubText := strings.TrimSuffix(strings.TrimPrefix(body, "sh(wpkh("), "/<0;1>/*))")
	wants := map[ScriptType]string{P2PKH: "m", P2WPKH: "bcrt1q", P2TR: "bcrt1p",
		P2SHP2WPKH: "2"}
	for script, prefix := range wants {
		key := mustParseAccountKey(t, tpubText, Regtest, script)
		address, err := key.ReceiveAddress(0)
		if err != nil {
			t.Fatal(err)
		}
		if text := address.EncodeAddress(); !strings.HasPrefix(text, prefix) {
			t.Errorf("%v regtest address = %s, want prefix %s", script, text, prefix)
		}
		if !address.IsForNet(Regtest.Params) {
			t.Errorf("%v address %s is not for regtest", script, address)
		}
	}
}

func TestAccountKeyRejects(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		network *Network
		script  ScriptType
		want    error
		secret  string
	}{
		{"xprv", bip86AccountXprv, Mainnet, 0, ErrPrivateKey, bip86AccountXprv[4:]},
		{"zprv", bip84AccountZprv, Mainnet, 0, ErrPrivateKey, bip84AccountZprv[4:]},
		{"uprv", bip49AccountUprv, Testnet3, 0, ErrPrivateKey, bip49AccountUprv[4:]},
		{"xprv with typo", bip86AccountXprv[:50] + "x" + bip86AccountXprv[51:], Mainnet, 0,
			ErrPrivateKey, bip86AccountXprv[10:40]},
		{"xprv in descriptor", "wpkh([deadbeef/0h/1h/2h]" + bip32Vector2Xprv + "/3/4/5/*)",
			Mainnet, 0, ErrPrivateKey, bip32Vector2Xprv[4:]},
		{"xprv in descriptor with bad checksum", "wpkh(" + bip32Vector2Xprv + "/*)#qqqqqqqq",
			Mainnet, 0, ErrPrivateKey, bip32Vector2Xprv[4:]},
		{"WIF in descriptor", "wpkh(" + bip380WIF + ")", Mainnet, 0, ErrPrivateKey,
			bip380WIF[4:]},
		{"bare WIF", bip380WIF, Mainnet, 0, ErrPrivateKey, bip380WIF[4:]},
		{"WIF with typo", bip380WIF[:30] + "x" + bip380WIF[31:], Mainnet, 0, ErrPrivateKey,
			bip380WIF[:8]},
		{"WIF with typo in descriptor", "wpkh(" + bip380WIF[:30] + "x" + bip380WIF[31:] + ")",
			Mainnet, 0, ErrPrivateKey, bip380WIF[:8]},
		{"xpub on testnet", bip86AccountXpub, Testnet3, 0, ErrWrongNetwork, ""},
		{"upub on mainnet", bip49AccountUpub, Mainnet, 0, ErrWrongNetwork, ""},
		{"xpub descriptor on regtest", "wpkh(" + bip86AccountXpub + "/0/*)", Regtest, 0,
			ErrWrongNetwork, ""},
		{"hardened wildcard", "wpkh(" + bip32Vector2Xpub + "/3h/4h/5h/*h)", Mainnet, 0,
			ErrHardenedDerivation, ""},
		{"hardened wildcard after unhardened", "wpkh(" + bip32Vector2Xpub + "/0/*')", Mainnet,
			0, ErrHardenedDerivation, ""},
		{"hardened step", "wpkh(" + bip32Vector2Xpub + "/3h/4h/5h/*)", Mainnet, 0,
			ErrHardenedDerivation, ""},
		{"hardened multipath", "wpkh(" + bip32Vector2Xpub + "/<0h;1h>/*)", Mainnet, 0,
			ErrHardenedDerivation, ""},
		{"bad descriptor checksum", "wpkh(" + bip32Vector2Xpub + "/0/*)#qqqqqqqq", Mainnet, 0,
			ErrBadChecksum, ""},
		{"short descriptor checksum", "wpkh(" + bip32Vector2Xpub + "/0/*)#qqqq", Mainnet, 0,
			ErrBadChecksum, ""},
		{"extended key typo", bip86AccountXpub[:60] + "Q" + bip86AccountXpub[61:], Mainnet, 0,
			ErrBadChecksum, ""},
		{"raw", "raw(deadbeef)#89f8spxm", Mainnet, 0, ErrUnsupportedScript, ""},
		{"multi", "multi(1," + bip32Vector2Xpub + "/*)", Mainnet, 0, ErrUnsupportedScript, ""},
		{"sh multi", "sh(multi(1," + bip32Vector2Xpub + "/*))", Mainnet, 0,
			ErrUnsupportedScript, ""},
		{"wsh", "wsh(pkh(" + bip32Vector2Xpub + "/*))", Mainnet, 0, ErrUnsupportedScript, ""},
		{"tr script tree", "tr(" + bip32Vector2Xpub + "/0/*,pk(" + bip86AccountXpub + "/0/*))",
			Mainnet, 0, ErrUnsupportedScript, ""},
		{"zpub as p2tr", bip84AccountZpub, Mainnet, P2TR, ErrScriptTypeConflict, ""},
		{"wpkh descriptor as p2pkh", "wpkh(" + bip32Vector2Xpub + "/*)", Mainnet, P2PKH,
			ErrScriptTypeConflict, ""},
		{"empty", "   ", Mainnet, 0, ErrInvalidAccountKey, ""},
		{"garbage", "hello", Mainnet, 0, ErrInvalidAccountKey, ""},
		{"no range", "wpkh(" + bip32Vector2Xpub + "/0)", Mainnet, 0, ErrInvalidAccountKey, ""},
		{"no derivation", "wpkh(" + bip32Vector2Xpub + ")", Mainnet, 0, ErrInvalidAccountKey,
			""},
		{"single public key", "wpkh(0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a93" +
			"46ea98ce600)", Mainnet, 0, ErrInvalidAccountKey, ""},
		{"zpub in descriptor", "wpkh(" + bip84AccountZpub + "/0/*)", Mainnet, 0,
			ErrInvalidAccountKey, ""},
		{"xpub with path", bip86AccountXpub + "/0/*", Mainnet, 0, ErrInvalidAccountKey, ""},
		{"short fingerprint", "wpkh([deadbef/0h]" + bip32Vector2Xpub + "/*)", Mainnet, 0,
			ErrInvalidAccountKey, ""},
		{"bad origin step", "wpkh([deadbeef/0f]" + bip32Vector2Xpub + "/*)", Mainnet, 0,
			ErrInvalidAccountKey, ""},
		{"index out of range", "wpkh(" + bip32Vector2Xpub + "/2147483648/*)", Mainnet, 0,
			ErrInvalidAccountKey, ""},
		{"invalid index", "wpkh(" + bip32Vector2Xpub + "/1aa/*)", Mainnet, 0,
			ErrInvalidAccountKey, ""},
		{"two multipath steps", "wpkh(" + bip32Vector2Xpub + "/<0;1>/<2;3>/*)", Mainnet, 0,
			ErrInvalidAccountKey, ""},
		{"unknown script type", bip86AccountXpub, Mainnet, ScriptType(42),
			ErrUnsupportedScript, ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			key, err := ParseAccountKey(test.text, test.network, test.script)
			if !errors.Is(err, test.want) {
				t.Fatalf("error = %v (key %v), want %v", err, key, test.want)
			}
			if test.secret != "" && strings.Contains(err.Error(), test.secret) {
				t.Errorf("error %q repeats the private key", err)
			}
		})
	}
}

// TestAccountKeyRejectsMultisigVersions checks that SLIP-0132 multisig versions (Ypub, Zpub,
// Upub, Vpub) of a valid key are rejected as unsupported rather than read as single-key.
func TestAccountKeyRejectsMultisigVersions(t *testing.T) {
	xpub, err := hdkeychain.NewKeyFromString(bip86AccountXpub)
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]struct {
		bytes   []byte
		network *Network
	}{
		"Ypub": {[]byte{0x02, 0x95, 0xb4, 0x3f}, Mainnet},
		"Zpub": {[]byte{0x02, 0xaa, 0x7e, 0xd3}, Mainnet},
		"Upub": {[]byte{0x02, 0x42, 0x89, 0xef}, Testnet3},
		"Vpub": {[]byte{0x02, 0x57, 0x54, 0x83}, Testnet3},
	}
	for prefix, version := range versions {
		multisig, err := xpub.CloneWithVersion(version.bytes)
		if err != nil {
			t.Fatal(err)
		}
		text := multisig.String()
		if !strings.HasPrefix(text, prefix) {
			t.Fatalf("re-encoded key %.8s…, want prefix %s", text, prefix)
		}
		_, err = ParseAccountKey(text, version.network, ScriptTypeUnspecified)
		if !errors.Is(err, ErrUnsupportedScript) {
			t.Errorf("%s: error = %v, want ErrUnsupportedScript", prefix, err)
		}
	}
}

// TestAccountKeyNamesInvalidCharacter checks that a character outside the base58 alphabet,
// such as a zero typed for the letter O, is named in the error.
func TestAccountKeyNamesInvalidCharacter(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string
	}{
		{"zero for O", bip84AccountZpub[:20] + "0" + bip84AccountZpub[21:], `'0' at position 21`},
		{"letter l", bip84AccountZpub[:30] + "l" + bip84AccountZpub[31:], `'l' at position 31`},
		{"space in descriptor", "wpkh( " + bip32Vector2Xpub + "/0/*)", `' ' at position 1`},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, err := ParseAccountKey(test.text, Mainnet, ScriptTypeUnspecified)
			if !errors.Is(err, ErrInvalidAccountKey) {
				t.Fatalf("error = %v, want ErrInvalidAccountKey", err)
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("error %q does not contain %q", err, test.want)
			}
		})
	}
}

func TestDeriveRejectsHardenedIndex(t *testing.T) {
	key := mustParseAccountKey(t, bip84AccountZpub, Mainnet, ScriptTypeUnspecified)
	if _, err := key.DeriveReceive(hdkeychain.HardenedKeyStart); !errors.Is(err,
		ErrHardenedDerivation) {
		t.Errorf("DeriveReceive(2^31) error = %v, want ErrHardenedDerivation", err)
	}
	if _, err := key.DeriveReceive(hdkeychain.HardenedKeyStart - 1); err != nil {
		t.Errorf("DeriveReceive(2^31-1): %v", err)
	}
}

func TestAccountKeyConcurrentDerivation(t *testing.T) {
	key := mustParseAccountKey(t, bip84AccountZpub, Mainnet, ScriptTypeUnspecified)
	want := make([]string, 64)
	for i := range want {
		address, err := key.ReceiveAddress(uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		want[i] = address.EncodeAddress()
	}
	var wait sync.WaitGroup
	for worker := 0; worker < 8; worker++ {
		wait.Go(func() {
			for i := range want {
				address, err := key.ReceiveAddress(uint32(i))
				if err != nil {
					t.Error(err)
					return
				}
				if address.EncodeAddress() != want[i] {
					t.Errorf("index %d = %s, want %s", i, address, want[i])
				}
			}
		})
	}
	wait.Wait()
}
