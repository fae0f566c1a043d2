package bitcoin

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
)

// addressesOfEveryType derives a P2PKH, P2SH-P2WPKH, P2WPKH (bech32) and P2TR (bech32m)
// address for the network, plus a P2WSH address built from a fixed script hash.
func addressesOfEveryType(t *testing.T, network *Network, accountKey string) []btcutil.Address {
	t.Helper()
	var addresses []btcutil.Address
	for _, script := range []ScriptType{P2PKH, P2SHP2WPKH, P2WPKH, P2TR} {
		key := mustParseAccountKey(t, accountKey, network, script)
		address, err := key.ReceiveAddress(7)
		if err != nil {
			t.Fatal(err)
		}
		addresses = append(addresses, address)
	}
	scriptHash := make([]byte, 32)
	for i := range scriptHash {
		scriptHash[i] = byte(i)
	}
	p2wsh, err := btcutil.NewAddressWitnessScriptHash(scriptHash, network.Params)
	if err != nil {
		t.Fatal(err)
	}
	return append(addresses, p2wsh)
}

// testnetXpub is the BIP86 account key re-encoded for test networks.
func testnetXpub(t *testing.T) string {
	t.Helper()
	key := mustParseAccountKey(t, bip49AccountUpub, Testnet3, ScriptTypeUnspecified)
	body, _, _ := strings.Cut(key.Descriptor(), "#")
	return strings.TrimSuffix(strings.TrimPrefix(body, "sh(wpkh("), "/<0;1>/*))")
}

func TestPaymentURIRoundTrip(t *testing.T) {
	networks := []struct {
		network *Network
		key     string
	}{
		{Mainnet, bip86AccountXpub},
		{Testnet3, testnetXpub(t)},
		{Regtest, testnetXpub(t)},
	}
	for _, entry := range networks {
		for _, address := range addressesOfEveryType(t, entry.network, entry.key) {
			uri := &PaymentURI{
				Address: address,
				Amount:  12_345,
				Label:   "InStaRS & co/order #7",
				Message: "Lease 30 days: 100% paid? ünïcode + spaces",
				Extra:   []URIParameter{{Key: "invoice", Value: "inv_01 a=b"}},
			}
			for _, text := range []string{uri.String(), uri.QRString()} {
				parsed, err := ParsePaymentURI(text, entry.network)
				if err != nil {
					t.Fatalf("ParsePaymentURI(%s): %v", text, err)
				}
				if parsed.Address.EncodeAddress() != address.EncodeAddress() {
					t.Errorf("%s: address = %s, want %s", text, parsed.Address, address)
				}
				parsed.Address = address
				if !reflect.DeepEqual(parsed, uri) {
					t.Errorf("%s: parsed %+v, want %+v", text, parsed, uri)
				}
			}
		}
	}
}

func TestPaymentURIEncoding(t *testing.T) {
	key := mustParseAccountKey(t, bip84AccountZpub, Mainnet, ScriptTypeUnspecified)
	address, err := key.ReceiveAddress(0)
	if err != nil {
		t.Fatal(err)
	}
	uri := &PaymentURI{Address: address, Amount: 12_000, Label: "Luke Jr", Message: "a+b&c=d"}
	want := "bitcoin:bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu?amount=0.00012&label=Luke%20Jr" +
		"&message=a%2Bb%26c%3Dd"
	if got := uri.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	wantQR := "BITCOIN:BC1QCR8TE4KR609GCAWUTMRZA0J4XV80JY8Z306FYU?amount=0.00012" +
		"&label=Luke%20Jr&message=a%2Bb%26c%3Dd"
	if got := uri.QRString(); got != wantQR {
		t.Errorf("QRString() = %s, want %s", got, wantQR)
	}
	bare := &PaymentURI{Address: address}
	if got := bare.String(); got != "bitcoin:bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu" {
		t.Errorf("String() without parameters = %s", got)
	}
}

func TestParsePaymentURIBIP21Examples(t *testing.T) {
	// The examples of BIP21 with a valid P2PKH address: the address BIP21 prints,
	// 175tWpb8K1S7NmH4Zx6rewF9WQrcZv245W, fails its base58 checksum.
	const address = "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA"
	tests := []struct {
		text    string
		amount  btcutil.Amount
		label   string
		message string
		extra   []URIParameter
	}{
		{text: "bitcoin:" + address},
		{text: "bitcoin:" + address + "?label=Luke-Jr", label: "Luke-Jr"},
		{text: "bitcoin:" + address + "?amount=20.3&label=Luke-Jr", amount: 2_030_000_000,
			label: "Luke-Jr"},
		{text: "bitcoin:" + address + "?amount=50&label=Luke-Jr&message=Donation%20for%20" +
			"project%20xyz", amount: 5_000_000_000, label: "Luke-Jr",
			message: "Donation for project xyz"},
		{text: "bitcoin:" + address + "?somethingyoudontunderstand=50&somethingelseyoudont" +
			"get=999", extra: []URIParameter{{"somethingyoudontunderstand", "50"},
			{"somethingelseyoudontget", "999"}}},
		{text: "BitCoin:" + address + "?AMOUNT=1", amount: 100_000_000},
		{text: "bitcoin:" + address + "?label=a+b", label: "a+b"},
		{text: "bitcoin:" + address + "?amount=0"},
		{text: "bitcoin:" + address + "?label=a%26b%3Dc%2Bd", label: "a&b=c+d"},
		{text: "bitcoin:" + address + "?lightning=lnbc1&lightning=lnbc2",
			extra: []URIParameter{{"lightning", "lnbc1"}, {"lightning", "lnbc2"}}},
	}
	for _, test := range tests {
		uri, err := ParsePaymentURI(test.text, Mainnet)
		if err != nil {
			t.Errorf("ParsePaymentURI(%s): %v", test.text, err)
			continue
		}
		if uri.Address.EncodeAddress() != address || uri.Amount != test.amount ||
			uri.Label != test.label || uri.Message != test.message ||
			!reflect.DeepEqual(uri.Extra, test.extra) {
			t.Errorf("ParsePaymentURI(%s) = %+v", test.text, uri)
		}
	}
}

func TestParsePaymentURIRejects(t *testing.T) {
	const address = "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA"
	tests := []struct {
		name    string
		text    string
		network *Network
		want    error
	}{
		{"required parameter", "bitcoin:" + address + "?req-somethingyoudontunderstand=50",
			Mainnet, ErrUnsupportedRequirement},
		{"required parameter upper case", "bitcoin:" + address + "?REQ-x=1", Mainnet,
			ErrUnsupportedRequirement},
		{"wrong scheme", "litecoin:" + address, Mainnet, ErrInvalidPaymentURI},
		{"no scheme", address, Mainnet, ErrInvalidPaymentURI},
		{"no address", "bitcoin:?amount=1", Mainnet, ErrInvalidPaymentURI},
		{"lightning only", "bitcoin:?lightning=lnbc1", Mainnet, ErrInvalidPaymentURI},
		{"mainnet address on testnet", "bitcoin:" + address, Testnet3, ErrInvalidPaymentURI},
		{"bech32 mainnet on regtest", "bitcoin:bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
			Regtest, ErrInvalidPaymentURI},
		{"mixed case bech32", "bitcoin:bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyU", Mainnet,
			ErrInvalidPaymentURI},
		{"address typo", "bitcoin:1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabB", Mainnet,
			ErrInvalidPaymentURI},
		{"BIP21 example address", "bitcoin:175tWpb8K1S7NmH4Zx6rewF9WQrcZv245W", Mainnet,
			ErrInvalidPaymentURI},
		{"public key", "bitcoin:0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98" +
			"ce600", Mainnet, ErrInvalidPaymentURI},
		{"amount with exponent", "bitcoin:" + address + "?amount=1e-3", Mainnet, ErrInvalidAmount},
		{"amount with 9 decimals", "bitcoin:" + address + "?amount=0.000000001", Mainnet,
			ErrInvalidAmount},
		{"negative amount", "bitcoin:" + address + "?amount=-1", Mainnet, ErrInvalidAmount},
		{"two amounts", "bitcoin:" + address + "?amount=1&amount=2", Mainnet,
			ErrInvalidPaymentURI},
		{"bad escape", "bitcoin:" + address + "?label=%zz", Mainnet, ErrInvalidPaymentURI},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			uri, err := ParsePaymentURI(test.text, test.network)
			if !errors.Is(err, test.want) {
				t.Fatalf("ParsePaymentURI = %+v, %v; want %v", uri, err, test.want)
			}
		})
	}
}

func FuzzParsePaymentURI(f *testing.F) {
	for _, seed := range []string{
		"bitcoin:1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA?amount=20.3&label=Luke-Jr",
		"BITCOIN:BC1QCR8TE4KR609GCAWUTMRZA0J4XV80JY8Z306FYU?amount=0.00012",
		"bitcoin:bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr?req-x=1",
		"bitcoin:3Ai1JZ8pdJb2ksieUV8FsxSNVJCpoPi8W6?message=%F0%9F%98%80&x=%",
		"bitcoin:",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		uri, err := ParsePaymentURI(text, Mainnet)
		if err != nil {
			if !errors.Is(err, ErrInvalidPaymentURI) && !errors.Is(err, ErrUnsupportedRequirement) {
				t.Fatalf("ParsePaymentURI(%q) error %v wraps no sentinel", text, err)
			}
			return
		}
		for _, encoded := range []string{uri.String(), uri.QRString()} {
			again, err := ParsePaymentURI(encoded, Mainnet)
			if err != nil {
				t.Fatalf("ParsePaymentURI(%q) of re-encoded %q: %v", encoded, text, err)
			}
			if again.String() != uri.String() {
				t.Fatalf("round trip of %q: %q, then %q", text, uri.String(), again.String())
			}
		}
	})
}

func TestPaymentURIWithoutAddress(t *testing.T) {
	uri := &PaymentURI{Amount: 1}
	if got := uri.String(); got != "bitcoin:?amount=0.00000001" {
		t.Errorf("String() without address = %s", got)
	}
	if _, err := ParsePaymentURI(uri.String(), Mainnet); !errors.Is(err, ErrInvalidPaymentURI) {
		t.Errorf("ParsePaymentURI without address: error = %v, want ErrInvalidPaymentURI", err)
	}
	if _, err := ParsePaymentURI("bitcoin:bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", nil); !errors.Is(err, ErrInvalidPaymentURI) {
		t.Errorf("ParsePaymentURI without network: error = %v, want ErrInvalidPaymentURI", err)
	}
}
