package bitcoin

import (
	"fmt"
	"strings"
)

// ScriptType is the kind of output script an account's addresses pay to.
type ScriptType int

// The script types an account key can derive. The zero value means "not given": a plain
// xpub or tpub then derives P2PKH addresses, and every other key form states its own type.
const (
	ScriptTypeUnspecified ScriptType = iota
	// P2PKH is legacy pay-to-public-key-hash (BIP44, addresses starting with 1, m or n).
	P2PKH
	// P2SHP2WPKH is P2WPKH nested in P2SH (BIP49, addresses starting with 3 or 2).
	P2SHP2WPKH
	// P2WPKH is native segwit version 0 (BIP84, bech32 addresses bc1q…, tb1q…).
	P2WPKH
	// P2TR is taproot with a key-path spend only (BIP86, bech32m addresses bc1p…, tb1p…).
	P2TR
)

var scriptTypeNames = map[ScriptType]string{
	P2PKH:      "p2pkh",
	P2SHP2WPKH: "p2sh-p2wpkh",
	P2WPKH:     "p2wpkh",
	P2TR:       "p2tr",
}

var scriptTypesByName = map[string]ScriptType{
	"p2pkh":         P2PKH,
	"pkh":           P2PKH,
	"legacy":        P2PKH,
	"p2sh-p2wpkh":   P2SHP2WPKH,
	"sh-wpkh":       P2SHP2WPKH,
	"nested-segwit": P2SHP2WPKH,
	"p2wpkh":        P2WPKH,
	"wpkh":          P2WPKH,
	"segwit":        P2WPKH,
	"p2tr":          P2TR,
	"tr":            P2TR,
	"taproot":       P2TR,
}

// String returns the script type's canonical name, such as "p2wpkh".
func (t ScriptType) String() string {
	if name, ok := scriptTypeNames[t]; ok {
		return name
	}
	if t == ScriptTypeUnspecified {
		return "unspecified"
	}
	return fmt.Sprintf("ScriptType(%d)", int(t))
}

// ParseScriptType returns the script type for a name: p2pkh (also pkh, legacy), p2sh-p2wpkh
// (sh-wpkh, nested-segwit), p2wpkh (wpkh, segwit) or p2tr (tr, taproot), in any case.
func ParseScriptType(name string) (ScriptType, error) {
	if t, ok := scriptTypesByName[strings.ToLower(strings.TrimSpace(name))]; ok {
		return t, nil
	}
	return ScriptTypeUnspecified, fmt.Errorf("%w: %q; expected p2pkh, p2sh-p2wpkh, p2wpkh or p2tr",
		ErrUnsupportedScript, name)
}
