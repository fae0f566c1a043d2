package pgp

import (
	"bytes"
	"errors"
	"testing"
)

// openErrorKinds are the kinds every rejection of an envelope must wrap.
var openErrorKinds = []error{
	ErrMalformed, ErrNotEncrypted, ErrWrongRecipient, ErrNotSigned, ErrWrongSigner,
	ErrUnknownSigner, ErrBadSignature, ErrTooLarge, ErrKeyExpired, ErrKeyRevoked, ErrWeakKey,
	ErrUnusableKey,
}

// fuzzSeeds returns envelopes that reach each stage of Open: valid, unsigned, signed only,
// for another key, signed by another key, altered and truncated.
func fuzzSeeds(t testing.TB, server *Server, customer *PrivateKey) [][]byte {
	other := testKey(t, "fuzz other", GenerateOptions{Algorithm: Ed25519})
	valid, err := SealOrder([]byte(testOrder), customer, server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	byOther, err := SealOrder([]byte(testOrder), other, server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	toOther, err := SealOrder([]byte(testOrder), customer, other.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Clone(valid)
	altered[len(altered)/2] ^= 0x04
	return [][]byte{
		valid,
		byOther,
		toOther,
		altered,
		valid[:len(valid)/2],
		armorMessage(t, signedPackets(t, []byte(testOrder), customer)),
		encryptPackets(t, []byte("\xcb\x0bb\x00\x00\x00\x00\x00order"), server.PublicKey()),
		customer.PublicKey().Armored(),
		[]byte("-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n"),
		nil,
	}
}

// checkOpenResult fails unless Open either returned a message signed by the customer within the
// limit or an error of a known kind.
func checkOpenResult(t *testing.T, message *Message, err error, customer *PrivateKey) {
	if err != nil {
		if message != nil {
			t.Fatalf("Open returned both a message and the error %v", err)
		}
		for _, kind := range openErrorKinds {
			if errors.Is(err, kind) {
				return
			}
		}
		t.Fatalf("Open error %q wraps none of the error kinds", err)
	}
	if message.SignerFingerprint != customer.Fingerprint() {
		t.Fatalf("opened an envelope signed by %s, want only %s",
			message.SignerFingerprint, customer)
	}
	if len(message.Payload) > DefaultMaxPayloadBytes {
		t.Fatalf("payload of %d bytes exceeds the limit", len(message.Payload))
	}
}

func FuzzOpen(f *testing.F) {
	server := newTestServer(f, ServerOptions{})
	customer := customerEd25519(f)
	for _, seed := range fuzzSeeds(f, server, customer) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, envelope []byte) {
		message, err := server.Open(bytes.NewReader(envelope), customer.PublicKey())
		checkOpenResult(t, message, err, customer)
	})
}

// FuzzOpenPackets armors its input first, so that the fuzzer spends its time on the OpenPGP
// packets rather than on the armor.
func FuzzOpenPackets(f *testing.F) {
	server := newTestServer(f, ServerOptions{})
	customer := customerEd25519(f)
	for _, seed := range fuzzSeeds(f, server, customer) {
		if raw, err := dearmorOrNil(seed); err == nil && len(raw) > 0 {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, packets []byte) {
		envelope := armorMessage(t, packets)
		message, err := server.Open(bytes.NewReader(envelope), customer.PublicKey())
		checkOpenResult(t, message, err, customer)
	})
}
