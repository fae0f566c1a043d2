package pgp

import (
	"bytes"
	"io"
	"testing"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// benchCustomers are the customer key types measured; the server key is always Ed25519.
func benchCustomers(b *testing.B) []struct {
	name string
	key  *PrivateKey
} {
	return []struct {
		name string
		key  *PrivateKey
	}{
		{"ed25519", customerEd25519(b)},
		{"rsa3072", customerRSA(b)},
	}
}

// BenchmarkOpen measures Server.Open on an order of testOrder's size, next to a baseline that
// decrypts and verifies the same envelope with the library alone (no size limits, no error
// classification, no signer check).
func BenchmarkOpen(b *testing.B) {
	server := newTestServer(b, ServerOptions{})
	for _, customer := range benchCustomers(b) {
		envelope, err := SealOrder([]byte(testOrder), customer.key, server.PublicKey())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(customer.name+"/Open", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, err := server.Open(bytes.NewReader(envelope), customer.key.PublicKey())
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(customer.name+"/library-baseline", func(b *testing.B) {
			b.ReportAllocs()
			keyring := openpgp.EntityList{server.key.entity, customer.key.PublicKey().entity}
			for b.Loop() {
				block, err := dearmorOrNil(envelope)
				if err != nil {
					b.Fatal(err)
				}
				details, err := openpgp.ReadMessage(bytes.NewReader(block), keyring, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadAll(details.UnverifiedBody); err != nil {
					b.Fatal(err)
				}
				if details.SignatureError != nil {
					b.Fatal(details.SignatureError)
				}
			}
		})
	}
}

// BenchmarkSeal measures Server.SealCredentials to each customer key type and the customer's
// SealOrder signed with it.
func BenchmarkSeal(b *testing.B) {
	server := newTestServer(b, ServerOptions{})
	payload := []byte(testOrder)
	for _, customer := range benchCustomers(b) {
		b.Run(customer.name+"/SealCredentials", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := server.SealCredentials(payload, customer.key.PublicKey()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(customer.name+"/SealOrder", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SealOrder(payload, customer.key, server.PublicKey()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
