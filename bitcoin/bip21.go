package bitcoin

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
)

// Errors that ParsePaymentURI wraps.
var (
	// ErrInvalidPaymentURI means the text is not a valid BIP21 URI for the network.
	ErrInvalidPaymentURI = errors.New("bitcoin: invalid payment URI")

	// ErrUnsupportedRequirement means the URI has a "req-" parameter this package does not
	// understand. BIP21 requires such a URI to be treated as invalid.
	ErrUnsupportedRequirement = errors.New("bitcoin: payment URI has an unsupported " +
		"required parameter")
)

const paymentURIScheme = "bitcoin"

// URIParameter is a BIP21 query parameter other than amount, label and message.
type URIParameter struct {
	Key   string
	Value string
}

// PaymentURI is a BIP21 payment request: bitcoin:ADDRESS?amount=…&label=…&message=….
type PaymentURI struct {
	// Address is the address to pay.
	Address btcutil.Address
	// Amount is the requested amount; zero means the URI has no amount.
	Amount btcutil.Amount
	// Label names the recipient.
	Label string
	// Message describes the payment.
	Message string
	// Extra holds any other parameters in their order. It must not repeat amount, label or
	// message. Parsed URIs never carry a "req-" parameter here, because ParsePaymentURI
	// rejects them.
	Extra []URIParameter
}

// String encodes the URI. The amount uses FormatBTC's trimmed form, and every character of a
// parameter other than letters, digits and "-._~" is percent-encoded, so a space becomes %20.
func (u *PaymentURI) String() string {
	return u.encode(u.addressText())
}

func (u *PaymentURI) addressText() string {
	if u.Address == nil {
		return ""
	}
	return u.Address.EncodeAddress()
}

// QRString encodes the URI like String, but with the scheme and a bech32 or bech32m address
// in upper case, which QR codes store in their denser alphanumeric mode. BIP173 allows
// bech32 in either case; base58 addresses are case-sensitive and stay as they are.
func (u *PaymentURI) QRString() string {
	address := u.addressText()
	if isBech32Address(address) {
		address = strings.ToUpper(address)
	}
	return strings.ToUpper(paymentURIScheme) + u.encode(address)[len(paymentURIScheme):]
}

// encode writes the URI with the given address text; a URI without an address encodes as
// "bitcoin:" followed by the parameters, which ParsePaymentURI rejects.
func (u *PaymentURI) encode(address string) string {
	var text strings.Builder
	text.WriteString(paymentURIScheme + ":" + address)
	separator := "?"
	add := func(key, value string) {
		text.WriteString(separator + percentEncode(key) + "=" + percentEncode(value))
		separator = "&"
	}
	if u.Amount != 0 {
		add("amount", FormatBTC(u.Amount))
	}
	if u.Label != "" {
		add("label", u.Label)
	}
	if u.Message != "" {
		add("message", u.Message)
	}
	for _, parameter := range u.Extra {
		add(parameter.Key, parameter.Value)
	}
	return text.String()
}

// percentEncode escapes every byte except RFC 3986 unreserved characters.
func percentEncode(text string) string {
	const hexDigits = "0123456789ABCDEF"
	var encoded strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			encoded.WriteByte(c)
			continue
		}
		encoded.WriteByte('%')
		encoded.WriteByte(hexDigits[c>>4])
		encoded.WriteByte(hexDigits[c&15])
	}
	return encoded.String()
}

// ParsePaymentURI parses a BIP21 URI and checks its address against the network.
//
// The scheme is matched in any case, and a bech32 address may be all upper case. Parameter
// names are matched in any case too. The amount must be an exact BTC decimal (see ParseBTC);
// amount, label and message may appear once each. Values are percent-decoded with "+" kept
// as a plus sign, as RFC 3986 has it. A "req-" parameter makes the URI invalid, as BIP21
// requires; any other unknown parameter is kept in Extra.
//
// An "amount=0" parameter reads as no amount, because the zero Amount means none. A URI
// without an address, such as one that carries only a lightning parameter, is rejected.
func ParsePaymentURI(text string, network *Network) (*PaymentURI, error) {
	if network == nil || network.Params == nil {
		return nil, fmt.Errorf("%w: no network given", ErrInvalidPaymentURI)
	}
	scheme, rest, ok := strings.Cut(text, ":")
	if !ok || !strings.EqualFold(scheme, paymentURIScheme) {
		return nil, fmt.Errorf("%w: expected a URI starting with bitcoin:", ErrInvalidPaymentURI)
	}
	addressText, query, _ := strings.Cut(rest, "?")
	address, err := decodePaymentAddress(addressText, network)
	if err != nil {
		return nil, err
	}
	uri := &PaymentURI{Address: address}
	seen := map[string]bool{}
	for _, field := range strings.Split(query, "&") {
		if field == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(field, "=")
		key, err := url.PathUnescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("%w: parameter name %q: %v", ErrInvalidPaymentURI, rawKey, err)
		}
		value, err := url.PathUnescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("%w: parameter %q: %v", ErrInvalidPaymentURI, key, err)
		}
		name := strings.ToLower(key)
		switch name {
		case "amount", "label", "message":
			if seen[name] {
				return nil, fmt.Errorf("%w: parameter %q appears more than once",
					ErrInvalidPaymentURI, name)
			}
			seen[name] = true
		}
		switch {
		case name == "amount":
			amount, err := ParseBTC(value)
			if err != nil {
				return nil, fmt.Errorf("%w: amount: %w", ErrInvalidPaymentURI, err)
			}
			uri.Amount = amount
		case name == "label":
			uri.Label = value
		case name == "message":
			uri.Message = value
		case strings.HasPrefix(name, "req-"):
			return nil, fmt.Errorf("%w: %q; the payer's wallet must not pay a request it "+
				"does not understand", ErrUnsupportedRequirement, key)
		default:
			uri.Extra = append(uri.Extra, URIParameter{Key: key, Value: value})
		}
	}
	return uri, nil
}

// decodePaymentAddress decodes an address for the network, accepting upper-case bech32.
func decodePaymentAddress(text string, network *Network) (btcutil.Address, error) {
	if text == "" {
		return nil, fmt.Errorf("%w: no address after bitcoin:", ErrInvalidPaymentURI)
	}
	if isBech32Address(text) && text == strings.ToUpper(text) {
		// btcutil keeps the case of the human-readable part, and an upper-case one would
		// not match the network's; BIP173 defines the lower-case form as canonical.
		text = strings.ToLower(text)
	}
	address, err := btcutil.DecodeAddress(text, network.Params)
	if err != nil {
		return nil, fmt.Errorf("%w: address %q: %v", ErrInvalidPaymentURI, text, err)
	}
	switch address.(type) {
	case *btcutil.AddressPubKeyHash, *btcutil.AddressScriptHash,
		*btcutil.AddressWitnessPubKeyHash, *btcutil.AddressWitnessScriptHash,
		*btcutil.AddressTaproot:
	default:
		return nil, fmt.Errorf("%w: %q is not a payable address; expected a P2PKH, P2SH, "+
			"P2WPKH, P2WSH or P2TR address", ErrInvalidPaymentURI, text)
	}
	if !address.IsForNet(network.Params) {
		return nil, fmt.Errorf("%w: address %q is not a %s address", ErrInvalidPaymentURI,
			text, network.Name)
	}
	return address, nil
}

// isBech32Address reports whether an address starts with a known segwit human-readable part
// and its separator, in either case.
func isBech32Address(text string) bool {
	separator := strings.LastIndexByte(text, '1')
	if separator < 1 {
		return false
	}
	return chaincfg.IsBech32SegwitPrefix(strings.ToLower(text[:separator+1]))
}
