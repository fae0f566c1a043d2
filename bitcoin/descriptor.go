package bitcoin

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
)

// pathStep is one unhardened derivation step after the extended key. A multipath step
// (BIP389 "<0;1>") names the receive and the change chain at once.
type pathStep struct {
	receive   uint32
	change    uint32
	multipath bool
}

// keyExpression is a parsed descriptor key: optional origin, the extended public key, and
// the steps between the key and the final wildcard.
type keyExpression struct {
	origin string
	key    decodedExtendedKey
	steps  []pathStep
}

// hasChange reports whether the steps include a multipath step, the only way a descriptor
// names a change chain.
func (k keyExpression) hasChange() bool {
	for _, step := range k.steps {
		if step.multipath {
			return true
		}
	}
	return false
}

// chainPath returns the derivation steps to the receive chain, or to the change chain.
func (k keyExpression) chainPath(change bool) []uint32 {
	path := make([]uint32, len(k.steps))
	for i, step := range k.steps {
		path[i] = step.receive
		if change && step.multipath {
			path[i] = step.change
		}
	}
	return path
}

// String renders the key expression with "h" for hardened origin steps.
func (k keyExpression) String() string {
	var text strings.Builder
	text.WriteString(k.origin)
	text.WriteString(k.key.key.String())
	for _, step := range k.steps {
		if step.multipath {
			fmt.Fprintf(&text, "/<%d;%d>", step.receive, step.change)
		} else {
			fmt.Fprintf(&text, "/%d", step.receive)
		}
	}
	text.WriteString("/*")
	return text.String()
}

// renderDescriptor returns the descriptor of a script type and key, with its checksum.
func renderDescriptor(script ScriptType, key keyExpression) string {
	var body string
	switch script {
	case P2PKH:
		body = "pkh(" + key.String() + ")"
	case P2SHP2WPKH:
		body = "sh(wpkh(" + key.String() + "))"
	case P2WPKH:
		body = "wpkh(" + key.String() + ")"
	case P2TR:
		body = "tr(" + key.String() + ")"
	}
	// The body is built from the descriptor alphabet only, so the checksum cannot fail.
	withChecksum, err := AddDescriptorChecksum(body)
	if err != nil {
		return body
	}
	return withChecksum
}

// isDescriptorDelimiter reports the characters that separate tokens in a descriptor.
func isDescriptorDelimiter(r rune) bool {
	return strings.ContainsRune("()[],/<>;*#' \t\r\n", r)
}

// parseDescriptor parses a BIP380 output descriptor of one of the forms pkh(KEY),
// sh(wpkh(KEY)), wpkh(KEY) and tr(KEY), where KEY is an extended public key with an
// optional origin, unhardened steps with at most one multipath step, and a final /*.
func parseDescriptor(text string) (ScriptType, keyExpression, error) {
	// Look for private keys before anything else, so that no later error can quote one.
	for _, token := range strings.FieldsFunc(text, isDescriptorDelimiter) {
		if looksPrivate(token) {
			return 0, keyExpression{}, fmt.Errorf("descriptor contains a private key (%s): %w",
				privateKeyKind(token), ErrPrivateKey)
		}
	}

	body := text
	if hashAt := strings.LastIndexByte(text, '#'); hashAt >= 0 {
		body = text[:hashAt]
		if err := verifyDescriptorChecksum(body, text[hashAt+1:]); err != nil {
			return 0, keyExpression{}, err
		}
	}
	name, inner, err := splitScriptExpression(body)
	if err != nil {
		return 0, keyExpression{}, err
	}

	var script ScriptType
	switch name {
	case "pkh":
		script = P2PKH
	case "wpkh":
		script = P2WPKH
	case "tr":
		if strings.Contains(inner, ",") {
			return 0, keyExpression{}, fmt.Errorf("%w: tr() with a script tree; expected "+
				"tr(KEY) with a key-path spend only (BIP86)", ErrUnsupportedScript)
		}
		script = P2TR
	case "sh":
		innerName, innerKey, err := splitScriptExpression(inner)
		if err != nil {
			return 0, keyExpression{}, err
		}
		if innerName != "wpkh" {
			return 0, keyExpression{}, fmt.Errorf("%w: sh(%s(…)); the only sh() form "+
				"supported is sh(wpkh(KEY))", ErrUnsupportedScript, innerName)
		}
		script, inner = P2SHP2WPKH, innerKey
	default:
		return 0, keyExpression{}, fmt.Errorf("%w: %s(…); expected pkh(KEY), sh(wpkh(KEY)), "+
			"wpkh(KEY) or tr(KEY)", ErrUnsupportedScript, name)
	}

	key, err := parseKeyExpression(inner)
	if err != nil {
		return 0, keyExpression{}, err
	}
	return script, key, nil
}

// splitScriptExpression splits "name(arguments)" into its name and arguments.
func splitScriptExpression(text string) (name, arguments string, err error) {
	open := strings.IndexByte(text, '(')
	if open <= 0 || !strings.HasSuffix(text, ")") {
		return "", "", fmt.Errorf("%w: descriptor is not of the form SCRIPT(KEY); expected "+
			"for example wpkh([fingerprint/84h/0h/0h]xpub…/0/*)", ErrInvalidAccountKey)
	}
	name = text[:open]
	for _, r := range name {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_') {
			return "", "", fmt.Errorf("%w: script expression name %q is not a lowercase "+
				"identifier", ErrInvalidAccountKey, name)
		}
	}
	return name, text[open+1 : len(text)-1], nil
}

// parseKeyExpression parses "[origin]xpub/steps/*".
func parseKeyExpression(text string) (keyExpression, error) {
	var key keyExpression
	if strings.HasPrefix(text, "[") {
		closing := strings.IndexByte(text, ']')
		if closing < 0 {
			return keyExpression{}, fmt.Errorf("%w: key origin has no closing ']'",
				ErrInvalidAccountKey)
		}
		origin, err := parseKeyOrigin(text[1:closing])
		if err != nil {
			return keyExpression{}, err
		}
		key.origin = origin
		text = text[closing+1:]
	}

	keyText, pathText, _ := strings.Cut(text, "/")
	if err := rejectSingleKey(keyText); err != nil {
		return keyExpression{}, err
	}
	decoded, err := decodeExtendedKey(keyText)
	if err != nil {
		return keyExpression{}, err
	}
	if decoded.version.script != P2PKH {
		return keyExpression{}, fmt.Errorf("%w: descriptor key is a %s; descriptors take "+
			"xpub or tpub keys because the script expression states the script type",
			ErrInvalidAccountKey, decoded.version.prefix)
	}
	key.key = decoded

	steps, err := parseDerivationSteps(pathText)
	if err != nil {
		return keyExpression{}, err
	}
	key.steps = steps
	return key, nil
}

// rejectSingleKey explains why a hex public key, which gives one address only, is not
// accepted.
func rejectSingleKey(keyText string) error {
	if len(keyText) != 66 && len(keyText) != 130 && len(keyText) != 64 {
		return nil
	}
	if _, err := hex.DecodeString(keyText); err != nil {
		return nil
	}
	return fmt.Errorf("%w: descriptor contains a single public key, which gives one address "+
		"for every invoice; expected an extended public key (xpub or tpub) followed by /0/*",
		ErrInvalidAccountKey)
}

// parseKeyOrigin checks "fingerprint/step/…" and returns it bracketed, with "h" as the
// hardened marker.
func parseKeyOrigin(text string) (string, error) {
	parts := strings.Split(text, "/")
	fingerprint := parts[0]
	if _, err := hex.DecodeString(fingerprint); err != nil || len(fingerprint) != 8 {
		return "", fmt.Errorf("%w: key origin fingerprint %q; expected 8 hex digits",
			ErrInvalidAccountKey, fingerprint)
	}
	var origin strings.Builder
	origin.WriteString("[" + strings.ToLower(fingerprint))
	for _, part := range parts[1:] {
		number, hardened := strings.CutSuffix(part, "h")
		if !hardened {
			number, hardened = strings.CutSuffix(part, "H")
		}
		if !hardened {
			number, hardened = strings.CutSuffix(part, "'")
		}
		index, err := parseChildNumber(number)
		if err != nil {
			return "", fmt.Errorf("key origin step %q: %w", part, err)
		}
		fmt.Fprintf(&origin, "/%d", index)
		if hardened {
			origin.WriteString("h")
		}
	}
	origin.WriteString("]")
	return origin.String(), nil
}

// parseDerivationSteps parses the steps after the extended key, which must end with "*".
func parseDerivationSteps(text string) ([]pathStep, error) {
	if text == "" {
		return nil, fmt.Errorf("%w: descriptor key has no /* range, so it describes one "+
			"address; expected a range such as xpub…/0/* or xpub…/<0;1>/*",
			ErrInvalidAccountKey)
	}
	parts := strings.Split(text, "/")
	var steps []pathStep
	multipathSeen := false
	for i, part := range parts {
		last := i == len(parts)-1
		switch {
		case part == "*":
			if !last {
				return nil, fmt.Errorf("%w: /* must be the last step of the key",
					ErrInvalidAccountKey)
			}
			return steps, nil
		case part == "*h" || part == "*H" || part == "*'":
			return nil, fmt.Errorf("%w: hardened wildcard /%s; expected an unhardened /*",
				ErrHardenedDerivation, part)
		case strings.HasPrefix(part, "<"):
			if multipathSeen {
				return nil, fmt.Errorf("%w: more than one multipath step; expected at most "+
					"one, such as /<0;1>/*", ErrInvalidAccountKey)
			}
			multipathSeen = true
			step, err := parseMultipathStep(part)
			if err != nil {
				return nil, err
			}
			steps = append(steps, step)
		default:
			if strings.HasSuffix(part, "h") || strings.HasSuffix(part, "H") ||
				strings.HasSuffix(part, "'") {
				return nil, fmt.Errorf("%w: hardened step /%s after the extended public "+
					"key; expected unhardened steps such as /0/*", ErrHardenedDerivation, part)
			}
			index, err := parseChildNumber(part)
			if err != nil {
				return nil, fmt.Errorf("derivation step %q: %w", part, err)
			}
			steps = append(steps, pathStep{receive: index, change: index})
		}
	}
	return nil, fmt.Errorf("%w: descriptor key does not end with /*, so it describes one "+
		"address; expected a range such as xpub…/0/* or xpub…/<0;1>/*", ErrInvalidAccountKey)
}

// parseMultipathStep parses "<receive;change>".
func parseMultipathStep(part string) (pathStep, error) {
	inner, ok := strings.CutPrefix(part, "<")
	if ok {
		inner, ok = strings.CutSuffix(inner, ">")
	}
	values := strings.Split(inner, ";")
	if !ok || len(values) != 2 {
		return pathStep{}, fmt.Errorf("%w: multipath step /%s; expected two chains such "+
			"as /<0;1>", ErrInvalidAccountKey, part)
	}
	var indexes [2]uint32
	for i, value := range values {
		if strings.HasSuffix(value, "h") || strings.HasSuffix(value, "H") ||
			strings.HasSuffix(value, "'") {
			return pathStep{}, fmt.Errorf("%w: hardened multipath step /%s; expected "+
				"unhardened chains such as /<0;1>", ErrHardenedDerivation, part)
		}
		index, err := parseChildNumber(value)
		if err != nil {
			return pathStep{}, fmt.Errorf("multipath step %q: %w", part, err)
		}
		indexes[i] = index
	}
	if indexes[0] == indexes[1] {
		return pathStep{}, fmt.Errorf("%w: multipath step /%s names the same chain twice",
			ErrInvalidAccountKey, part)
	}
	return pathStep{receive: indexes[0], change: indexes[1], multipath: true}, nil
}

// parseChildNumber parses a decimal BIP32 child number below 2^31.
func parseChildNumber(text string) (uint32, error) {
	if text == "" || !isDigits(text) {
		return 0, fmt.Errorf("%w: %q is not a decimal child number", ErrInvalidAccountKey, text)
	}
	value, err := strconv.ParseUint(text, 10, 32)
	if err != nil || value >= hdkeychain.HardenedKeyStart {
		return 0, fmt.Errorf("%w: child number %s is out of range; expected 0 to %d",
			ErrInvalidAccountKey, text, hdkeychain.HardenedKeyStart-1)
	}
	return uint32(value), nil
}
