package pgp

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

const testOrder = `{"plan":"m1.small","hours":24,"ssh_key":"ssh-ed25519 AAAA test"}`

func TestOrderRoundTrip(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	customers := map[string]*PrivateKey{
		"ed25519 v4": customerEd25519(t),
		"rsa3072 v4": customerRSA(t),
		"ed25519 v6": customerV6(t),
	}
	for name, customer := range customers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			envelope, err := SealOrder([]byte(testOrder), customer, server.PublicKey())
			if err != nil {
				t.Fatalf("SealOrder: %v", err)
			}
			if !bytes.HasPrefix(envelope, []byte("-----BEGIN PGP MESSAGE-----")) {
				t.Fatalf("envelope is not armored: %.40q", envelope)
			}

			message, err := server.Open(bytes.NewReader(envelope), customer.PublicKey())
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if string(message.Payload) != testOrder {
				t.Errorf("payload = %q, want %q", message.Payload, testOrder)
			}
			if message.SignerFingerprint != customer.Fingerprint() {
				t.Errorf("signer = %s, want %s", message.SignerFingerprint, customer.Fingerprint())
			}
			if message.Signer != customer.PublicKey() {
				t.Errorf("Signer is not the attached key")
			}
			if age := time.Since(message.SignedAt); age < 0 || age > time.Minute {
				t.Errorf("SignedAt = %v, want about now", message.SignedAt)
			}

			keyring := KeyList{customerEd25519(t).PublicKey(), customer.PublicKey()}
			fromKeyring, err := server.OpenFromKeyring(context.Background(),
				bytes.NewReader(envelope), keyring)
			if err != nil {
				t.Fatalf("OpenFromKeyring: %v", err)
			}
			if fromKeyring.SignerFingerprint != customer.Fingerprint() {
				t.Errorf("keyring signer = %s, want %s",
					fromKeyring.SignerFingerprint, customer.Fingerprint())
			}
		})
	}
}

func TestCredentialsRoundTrip(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	for _, customer := range []*PrivateKey{customerEd25519(t), customerRSA(t), customerV6(t)} {
		credentials := []byte("ip=192.0.2.10 hostkey=SHA256:abc for " + customer.Fingerprint())
		envelope, err := server.SealCredentials(credentials, customer.PublicKey())
		if err != nil {
			t.Fatalf("SealCredentials to %s: %v", customer, err)
		}
		message, err := OpenCredentials(bytes.NewReader(envelope), customer, server.PublicKey())
		if err != nil {
			t.Fatalf("OpenCredentials for %s: %v", customer, err)
		}
		if !bytes.Equal(message.Payload, credentials) {
			t.Errorf("payload = %q, want %q", message.Payload, credentials)
		}
		if message.SignerFingerprint != server.Fingerprint() {
			t.Errorf("signer = %s, want server %s", message.SignerFingerprint, server.Fingerprint())
		}

		// A customer must not accept credentials that another customer's key signed.
		other := customerEd25519(t)
		if other == customer {
			other = customerRSA(t)
		}
		forged, err := seal(credentials, other, customer.PublicKey(), packetConfig(nil, 0))
		if err != nil {
			t.Fatal(err)
		}
		_, err = OpenCredentials(bytes.NewReader(forged), customer, server.PublicKey())
		requireErrorIs(t, err, ErrWrongSigner)
	}
}

func TestOpenRejections(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	customer := customerEd25519(t)
	other := customerRSA(t)
	otherServer := testKey(t, "other server", GenerateOptions{Algorithm: Ed25519})
	payload := []byte(testOrder)

	sealed := func(t *testing.T, signer *PrivateKey, recipient *PublicKey) []byte {
		t.Helper()
		envelope, err := seal(payload, signer, recipient, packetConfig(nil, 0))
		if err != nil {
			t.Fatal(err)
		}
		return envelope
	}
	encryptedUnsigned := func(t *testing.T) []byte {
		t.Helper()
		var out bytes.Buffer
		writer, err := openpgp.EncryptWithParams(&out, []*openpgp.Entity{server.PublicKey().entity},
			nil, &openpgp.EncryptParams{})
		if err != nil {
			t.Fatal(err)
		}
		writer.Write(payload)
		writer.Close()
		return armorMessage(t, out.Bytes())
	}
	tamperedSignature := func(t *testing.T) []byte {
		t.Helper()
		inner := signedPackets(t, []byte(`{"hours":24}`), customer)
		changed := bytes.Replace(inner, []byte(`"hours":24`), []byte(`"hours":99`), 1)
		if bytes.Equal(changed, inner) {
			t.Fatal("payload not found in the signed packets")
		}
		return encryptPackets(t, changed, server.PublicKey())
	}
	tamperedCiphertext := func(t *testing.T) []byte {
		t.Helper()
		raw := dearmor(t, sealed(t, customer, server.PublicKey()))
		raw[len(raw)-30] ^= 0x01
		return armorMessage(t, raw)
	}

	cases := []struct {
		name     string
		envelope func(t *testing.T) []byte
		sender   *PublicKey
		want     error
	}{
		{"empty input", func(*testing.T) []byte { return nil }, customer.PublicKey(), ErrMalformed},
		{"not armored", func(*testing.T) []byte { return []byte("hello") }, customer.PublicKey(),
			ErrMalformed},
		{"public key block", func(*testing.T) []byte { return customer.PublicKey().Armored() },
			customer.PublicKey(), ErrMalformed},
		{"truncated armor", func(t *testing.T) []byte {
			envelope := sealed(t, customer, server.PublicKey())
			return envelope[:len(envelope)/2]
		}, customer.PublicKey(), ErrMalformed},
		{"garbage packets", func(t *testing.T) []byte {
			return armorMessage(t, []byte("\xff\x00garbage that is no packet"))
		}, customer.PublicKey(), ErrMalformed},
		{"to another server", func(t *testing.T) []byte {
			return sealed(t, customer, otherServer.PublicKey())
		}, customer.PublicKey(), ErrWrongRecipient},
		{"signed only", func(t *testing.T) []byte {
			return armorMessage(t, signedPackets(t, payload, customer))
		}, customer.PublicKey(), ErrNotEncrypted},
		{"encrypted only", encryptedUnsigned, customer.PublicKey(), ErrNotSigned},
		{"signed by another customer", func(t *testing.T) []byte {
			return sealed(t, other, server.PublicKey())
		}, customer.PublicKey(), ErrWrongSigner},
		{"signed by the server itself", func(t *testing.T) []byte {
			return sealed(t, server.key, server.PublicKey())
		}, customer.PublicKey(), ErrWrongSigner},
		{"altered signed data", tamperedSignature, customer.PublicKey(), ErrBadSignature},
		{"altered ciphertext", tamperedCiphertext, customer.PublicKey(), ErrBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			message, err := server.Open(bytes.NewReader(tc.envelope(t)), tc.sender)
			if message != nil {
				t.Errorf("message = %+v, want nil", message)
			}
			requireErrorIs(t, err, tc.want)
		})
	}
}

func TestOpenSignedForAnotherRecipient(t *testing.T) {
	t.Parallel()
	// The other server receives a genuine order and re-encrypts its signed content to us; the
	// intended recipient in the signature names the other server, so we reject it.
	server := newTestServer(t, ServerOptions{})
	otherServer := testKey(t, "other server", GenerateOptions{Algorithm: Ed25519})
	customer := customerEd25519(t)
	envelope, err := SealOrder([]byte(testOrder), customer, otherServer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	inner := decryptedPackets(t, dearmor(t, envelope), otherServer)
	_, err = server.Open(bytes.NewReader(encryptPackets(t, inner, server.PublicKey())),
		customer.PublicKey())
	requireErrorIs(t, err, ErrBadSignature)
}

func TestOpenFromKeyringUnknownSigner(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	envelope, err := SealOrder([]byte(testOrder), customerEd25519(t), server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	_, err = server.OpenFromKeyring(context.Background(), bytes.NewReader(envelope),
		KeyList{customerRSA(t).PublicKey()})
	requireErrorIs(t, err, ErrUnknownSigner)
	if !strings.Contains(err.Error(), "issuer key ID") {
		t.Errorf("error %q does not name the issuer", err)
	}
}

type failingKeyring struct{ err error }

func (k failingKeyring) PublicKeysByID(context.Context, uint64) ([]*PublicKey, error) {
	return nil, k.err
}

func TestOpenFromKeyringLookupError(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	envelope, err := SealOrder([]byte(testOrder), customerEd25519(t), server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	lookupErr := errors.New("database is down")
	_, err = server.OpenFromKeyring(context.Background(), bytes.NewReader(envelope),
		failingKeyring{lookupErr})
	requireErrorIs(t, err, lookupErr)
}

func TestOpenPayloadLimit(t *testing.T) {
	t.Parallel()
	const limit = 100
	server := newTestServer(t, ServerOptions{MaxPayloadBytes: limit})
	customer := customerEd25519(t)

	atLimit, err := SealOrder(bytes.Repeat([]byte("a"), limit), customer, server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Open(bytes.NewReader(atLimit), customer.PublicKey()); err != nil {
		t.Fatalf("payload of exactly %d bytes: %v", limit, err)
	}

	overLimit, err := SealOrder(bytes.Repeat([]byte("a"), limit+1), customer, server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	_, err = server.Open(bytes.NewReader(overLimit), customer.PublicKey())
	requireErrorIs(t, err, ErrTooLarge)
}

func TestOpenEnvelopeLimit(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{MaxPayloadBytes: 1 << 10})
	customer := customerEd25519(t)
	// The padding is an armor header line, so the reader meets the limit before any packet.
	padding := "Comment: " + strings.Repeat("x", 200<<10) + "\n"
	envelope, err := SealOrder([]byte(testOrder), customer, server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	padded := strings.Replace(string(envelope), "-----\n", "-----\n"+padding, 1)
	_, err = server.Open(strings.NewReader(padded), customer.PublicKey())
	requireErrorIs(t, err, ErrTooLarge)
}

func TestOpenCompressionBomb(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	customer := customerEd25519(t)
	signed := signedPackets(t, make([]byte, 16<<20), customer)
	var compressed bytes.Buffer
	writer, err := packet.SerializeCompressed(nopCloser{&compressed}, packet.CompressionZLIB,
		&packet.CompressionConfig{Level: 9})
	if err != nil {
		t.Fatal(err)
	}
	writer.Write(signed)
	writer.Close()
	envelope := encryptPackets(t, compressed.Bytes(), server.PublicKey())
	if int64(len(envelope)) > maxEnvelopeBytes(DefaultMaxPayloadBytes) {
		t.Fatalf("compressed envelope of %d bytes does not test decompression", len(envelope))
	}
	_, err = server.Open(bytes.NewReader(envelope), customer.PublicKey())
	requireErrorIs(t, err, ErrTooLarge)
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

func TestOpenExpiredSigner(t *testing.T) {
	t.Parallel()
	created := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	customer, err := GenerateKey(GenerateOptions{Name: "short-lived", Lifetime: time.Hour,
		Now: func() time.Time { return created }})
	if err != nil {
		t.Fatal(err)
	}
	serverKey, err := GenerateKey(GenerateOptions{
		Name: "server",
		Now:  func() time.Time { return created },
	})
	if err != nil {
		t.Fatal(err)
	}
	signedAt := func() time.Time { return created.Add(10 * time.Minute) }
	envelope, err := seal([]byte(testOrder), customer, serverKey.PublicKey(),
		packetConfig(signedAt, 0))
	if err != nil {
		t.Fatal(err)
	}

	// Opened while the key was valid, the order is accepted; opened now, it is not.
	early, err := NewServer(serverKey, ServerOptions{
		Now: func() time.Time { return created.Add(20 * time.Minute) },
	})
	if err != nil {
		t.Fatal(err)
	}
	server, err := NewServer(serverKey, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := early.Open(bytes.NewReader(envelope), customer.PublicKey()); err != nil {
		t.Fatalf("opening while the key is valid: %v", err)
	}
	_, err = server.Open(bytes.NewReader(envelope), customer.PublicKey())
	requireErrorIs(t, err, ErrKeyExpired)
}

func TestServerConcurrentUse(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	customers := []*PrivateKey{customerEd25519(t), customerV6(t)}
	var wait sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wait.Add(1)
		go func() {
			defer wait.Done()
			customer := customers[i%len(customers)]
			envelope, err := SealOrder([]byte(testOrder), customer, server.PublicKey())
			if err != nil {
				errs <- err
				return
			}
			if _, err := server.Open(bytes.NewReader(envelope), customer.PublicKey()); err != nil {
				errs <- err
				return
			}
			if _, err := server.SealCredentials([]byte("x"), customer.PublicKey()); err != nil {
				errs <- err
			}
		}()
	}
	wait.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewServerRejectsNegativeLimit(t *testing.T) {
	t.Parallel()
	_, err := NewServer(serverKey(t), ServerOptions{MaxPayloadBytes: -1})
	if err == nil || !strings.Contains(err.Error(), "MaxPayloadBytes") {
		t.Fatalf("error = %v, want one naming MaxPayloadBytes", err)
	}
}

func TestNewServerLimitTooLarge(t *testing.T) {
	t.Parallel()
	// A limit so large that the envelope limit derived from it overflows an int64 would make
	// every envelope fail to open.
	_, err := NewServer(serverKey(t), ServerOptions{MaxPayloadBytes: math.MaxInt64})
	if err == nil || !strings.Contains(err.Error(), "MaxPayloadBytes") {
		t.Fatalf("error = %v, want one naming MaxPayloadBytes", err)
	}

	server := newTestServer(t, ServerOptions{MaxPayloadBytes: maxPayloadLimit})
	customer := customerEd25519(t)
	envelope, err := SealOrder([]byte(testOrder), customer, server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	message, err := server.Open(bytes.NewReader(envelope), customer.PublicKey())
	if err != nil {
		t.Fatalf("Open with the largest limit: %v", err)
	}
	if string(message.Payload) != testOrder {
		t.Errorf("payload = %q, want %q", message.Payload, testOrder)
	}
}

func TestOpenSignatureFromClockAhead(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	customer := customerEd25519(t)
	// The customer's clock runs ahead of the server's, so the signature is dated after the
	// instant the server opens the envelope.
	sealAt := func(ahead time.Duration) []byte {
		t.Helper()
		clock := func() time.Time { return time.Now().Add(ahead) }
		envelope, err := seal([]byte(testOrder), customer, server.PublicKey(),
			packetConfig(clock, 0))
		if err != nil {
			t.Fatal(err)
		}
		return envelope
	}

	message, err := server.Open(bytes.NewReader(sealAt(time.Minute)), customer.PublicKey())
	if err != nil {
		t.Fatalf("signature one minute ahead: %v", err)
	}
	if string(message.Payload) != testOrder {
		t.Errorf("payload = %q, want %q", message.Payload, testOrder)
	}

	_, err = server.Open(bytes.NewReader(sealAt(time.Hour)), customer.PublicKey())
	requireErrorIs(t, err, ErrBadSignature)
	if !strings.Contains(err.Error(), "clock") {
		t.Errorf("signature one hour ahead: error %q does not point at the clock", err)
	}
}

func TestWrongSignerNamesExpectedKey(t *testing.T) {
	t.Parallel()
	server := newTestServer(t, ServerOptions{})
	customer := customerEd25519(t)
	other := customerRSA(t)
	for name, signer := range map[string]*PrivateKey{
		"another customer": other,
		"the server":       server.key,
	} {
		envelope, err := seal([]byte(testOrder), signer, server.PublicKey(), packetConfig(nil, 0))
		if err != nil {
			t.Fatal(err)
		}
		_, err = server.Open(bytes.NewReader(envelope), customer.PublicKey())
		requireErrorIs(t, err, ErrWrongSigner)
		if !strings.Contains(err.Error(), customer.Fingerprint()) {
			t.Errorf("signed by %s: error %q does not name the expected key %s",
				name, err, customer.Fingerprint())
		}
	}

	forged, err := seal([]byte("credentials"), other, customer.PublicKey(), packetConfig(nil, 0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenCredentials(bytes.NewReader(forged), customer, server.PublicKey())
	requireErrorIs(t, err, ErrWrongSigner)
	if !strings.Contains(err.Error(), server.Fingerprint()) {
		t.Errorf("forged credentials: error %q does not name the server key %s",
			err, server.Fingerprint())
	}
}
