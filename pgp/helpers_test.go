package pgp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// testKeys caches generated keys by name, because RSA-3072 generation takes about a second.
var testKeys sync.Map

type cachedKey struct {
	once sync.Once
	key  *PrivateKey
	err  error
}

// testKey returns a key generated once per test binary for the name.
func testKey(t testing.TB, name string, options GenerateOptions) *PrivateKey {
	t.Helper()
	value, _ := testKeys.LoadOrStore(name, &cachedKey{})
	cached := value.(*cachedKey)
	cached.once.Do(func() {
		options.Name = name
		cached.key, cached.err = GenerateKey(options)
	})
	if cached.err != nil {
		t.Fatalf("generating key %q: %v", name, cached.err)
	}
	return cached.key
}

func serverKey(t testing.TB) *PrivateKey {
	return testKey(t, "test server", GenerateOptions{Algorithm: Ed25519})
}

func customerEd25519(t testing.TB) *PrivateKey {
	return testKey(t, "customer ed25519", GenerateOptions{Algorithm: Ed25519})
}

func customerRSA(t testing.TB) *PrivateKey {
	return testKey(t, "customer rsa3072", GenerateOptions{Algorithm: RSA3072})
}

func customerV6(t testing.TB) *PrivateKey {
	return testKey(t, "customer v6", GenerateOptions{Algorithm: Ed25519, V6: true})
}

func newTestServer(t testing.TB, options ServerOptions) *Server {
	t.Helper()
	server, err := NewServer(serverKey(t), options)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return server
}

func requireErrorIs(t *testing.T, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want errors.Is(%v)", err, want)
	}
}

// armorMessage wraps raw OpenPGP packets in a PGP MESSAGE armor block.
func armorMessage(t testing.TB, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	writer, err := armor.Encode(&out, openpgp.MessageType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// dearmor returns the packets inside an armored block.
func dearmor(t testing.TB, armored []byte) []byte {
	t.Helper()
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(block.Body)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// signedPackets returns an inline-signed, unencrypted message (one-pass signature, literal data,
// signature) over payload.
func signedPackets(t testing.TB, payload []byte, signer *PrivateKey) []byte {
	t.Helper()
	var out bytes.Buffer
	writer, err := openpgp.Sign(&out, []*openpgp.Entity{signer.entity}, nil, packetConfig(nil, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// encryptPackets encrypts arbitrary inner packets to the recipient's encryption key, so that a
// test can seal content that SealOrder would never produce.
func encryptPackets(t testing.TB, inner []byte, recipient *PublicKey) []byte {
	t.Helper()
	config := packetConfig(nil, 0)
	encryptionKey, ok := recipient.entity.EncryptionKey(time.Now(), config)
	if !ok {
		t.Fatal("recipient has no encryption key")
	}
	sessionKey := make([]byte, packet.CipherAES256.KeySize())
	if _, err := rand.Read(sessionKey); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := packet.SerializeEncryptedKey(&out, encryptionKey.PublicKey, packet.CipherAES256,
		sessionKey, config)
	if err != nil {
		t.Fatal(err)
	}
	contents, err := packet.SerializeSymmetricallyEncrypted(&out, packet.CipherAES256, false,
		packet.CipherSuite{}, sessionKey, config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := contents.Write(inner); err != nil {
		t.Fatal(err)
	}
	if err := contents.Close(); err != nil {
		t.Fatal(err)
	}
	return armorMessage(t, out.Bytes())
}

// decryptedPackets decrypts a message with the recipient's key and returns the packets inside
// the encryption, unverified.
func decryptedPackets(t testing.TB, raw []byte, recipient *PrivateKey) []byte {
	t.Helper()
	config := packetConfig(nil, 0)
	config.CacheSessionKey = true
	details, err := openpgp.ReadMessage(bytes.NewReader(raw),
		openpgp.EntityList{recipient.entity}, nil, config)
	if err != nil {
		t.Fatal(err)
	}
	packets := packet.NewReader(bytes.NewReader(raw))
	for {
		next, err := packets.Next()
		if err != nil {
			t.Fatalf("no encrypted data packet: %v", err)
		}
		encrypted, ok := next.(*packet.SymmetricallyEncrypted)
		if !ok {
			continue
		}
		contents, err := encrypted.Decrypt(details.DecryptedWithAlgorithm, details.SessionKey)
		if err != nil {
			t.Fatal(err)
		}
		inner, err := io.ReadAll(contents)
		if err != nil {
			t.Fatal(err)
		}
		return inner
	}
}

// dearmorOrNil returns the packets inside an armored block, or an error for input that is not
// a complete one.
func dearmorOrNil(armored []byte) ([]byte, error) {
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(block.Body)
}
