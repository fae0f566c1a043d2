package bitcoin

import (
	"errors"
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
