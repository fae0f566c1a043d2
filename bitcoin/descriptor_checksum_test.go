package bitcoin

import (
	"errors"
	"strings"
	"testing"
)

// The checksum examples of BIP380.
func TestDescriptorChecksumBIP380(t *testing.T) {
	got, err := DescriptorChecksum("raw(deadbeef)")
	if err != nil {
		t.Fatal(err)
	}
	if got != "89f8spxm" {
		t.Errorf("DescriptorChecksum(raw(deadbeef)) = %s, want 89f8spxm", got)
	}
	withChecksum, err := AddDescriptorChecksum("raw(deadbeef)")
	if err != nil {
		t.Fatal(err)
	}
	if withChecksum != "raw(deadbeef)#89f8spxm" {
		t.Errorf("AddDescriptorChecksum = %s, want raw(deadbeef)#89f8spxm", withChecksum)
	}
	if err := verifyDescriptorChecksum("raw(deadbeef)", "89f8spxm"); err != nil {
		t.Errorf("valid checksum: %v", err)
	}
	invalid := []struct{ name, body, checksum string }{
		{"missing checksum", "raw(deadbeef)", ""},
		{"too long checksum", "raw(deadbeef)", "89f8spxmx"},
		{"too short checksum", "raw(deadbeef)", "89f8spx"},
		{"error in payload", "raw(deedbeef)", "89f8spxm"},
		{"error in checksum", "raw(deedbeef)", "#9f8spxm"},
		{"invalid character in payload", "raw(Ü)", "00000000"},
	}
	for _, test := range invalid {
		if err := verifyDescriptorChecksum(test.body, test.checksum); err == nil {
			t.Errorf("%s: %s#%s accepted", test.name, test.body, test.checksum)
		}
	}
}

// TestDescriptorChecksumBitcoinCore checks descriptors whose checksums appear in Bitcoin
// Core's descriptor and wallet tests.
func TestDescriptorChecksumBitcoinCore(t *testing.T) {
	tests := []struct{ descriptor, checksum string }{
		{"sh(multi(2,[00000000/111'/222]xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDP" +
			"S3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc,xprv9uPDJpEQgRQfDcW7BkF7eT" +
			"ya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL" +
			"4L/0))", "ggrsrxfy"},
		{"sh(multi(2,[00000000/111'/222]xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkh" +
			"gbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL,xpub68NZiKmJWnxxS6aaHmn81b" +
			"vJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm" +
			"4Y/0))", "tjg09x5t"},
		{"wpkh([d34db33f/84h/0h/0h]xpub6DJ2dNUysrn5Vt36jH2KLBT2i1auw1tTSSomg8PhqNiUtx8QX2SvC9nr" +
			"Hu81fT41fvDUnhMjEzQgXnQjKEu3oaqMSzhSrHMxyyoEAmUHQbY/0/*)", "cjjspncu"},
	}
	for _, test := range tests {
		got, err := DescriptorChecksum(test.descriptor)
		if err != nil {
			t.Fatalf("DescriptorChecksum(%.30s…): %v", test.descriptor, err)
		}
		if got != test.checksum {
			t.Errorf("DescriptorChecksum(%.30s…) = %s, want %s", test.descriptor, got,
				test.checksum)
		}
	}
	// The wpkh descriptor parses with its checksum; the same checksum after pkh() must not.
	wpkh := tests[2].descriptor + "#" + tests[2].checksum
	if _, err := ParseAccountKey(wpkh, Mainnet, ScriptTypeUnspecified); err != nil {
		t.Errorf("ParseAccountKey(%.30s…): %v", wpkh, err)
	}
	pkh := "pkh" + strings.TrimPrefix(wpkh, "wpkh")
	if _, err := ParseAccountKey(pkh, Mainnet, ScriptTypeUnspecified); !errors.Is(err,
		ErrBadChecksum) {
		t.Errorf("pkh() with the wpkh() checksum: error = %v, want ErrBadChecksum", err)
	}
}

func TestDescriptorChecksumRoundTrip(t *testing.T) {
	key := mustParseAccountKey(t, bip84AccountZpub, Mainnet, ScriptTypeUnspecified)
	descriptor := key.Descriptor()
	body := descriptor[:len(descriptor)-9]
	if err := verifyDescriptorChecksum(body, descriptor[len(descriptor)-8:]); err != nil {
		t.Fatalf("Descriptor() checksum: %v", err)
	}
	// Every single-character substitution within the first group must be caught.
	for i := 0; i < len(body); i++ {
		changed := []byte(body)
		if changed[i] == '0' {
			changed[i] = '1'
		} else {
			changed[i] = '0'
		}
		err := verifyDescriptorChecksum(string(changed), descriptor[len(descriptor)-8:])
		if !errors.Is(err, ErrBadChecksum) {
			t.Fatalf("change at %d: error = %v, want ErrBadChecksum", i, err)
		}
	}
	if _, err := AddDescriptorChecksum(descriptor); err == nil {
		t.Error("AddDescriptorChecksum accepted a descriptor that already has a checksum")
	}
}
