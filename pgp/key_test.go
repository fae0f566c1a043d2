package pgp

import (
	"bytes"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

var uppercaseHex = regexp.MustCompile(`^[0-9A-F]+$`)

func TestParsePublicKeyAccepts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		key            *PrivateKey
		version        int
		fingerprintLen int
	}{
		{customerEd25519(t), 4, 40},
		{customerRSA(t), 4, 40},
		{customerV6(t), 6, 64},
	}
	for _, tc := range cases {
		armored := tc.key.PublicKey().Armored()
		if !bytes.HasPrefix(armored, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
			t.Fatalf("Armored() = %.40q, want a public key block", armored)
		}
		parsed, err := ParsePublicKey(armored, time.Now())
		if err != nil {
			t.Fatalf("ParsePublicKey(%s): %v", tc.key, err)
		}
		fingerprint := parsed.Fingerprint()
		if fingerprint != tc.key.Fingerprint() {
			t.Errorf("fingerprint = %s, want %s", fingerprint, tc.key.Fingerprint())
		}
		if len(fingerprint) != tc.fingerprintLen || !uppercaseHex.MatchString(fingerprint) {
			t.Errorf("fingerprint %q is not %d uppercase hex digits",
				fingerprint, tc.fingerprintLen)
		}
		want := strings.ToUpper(hex.EncodeToString(tc.key.entity.PrimaryKey.Fingerprint))
		if fingerprint != want {
			t.Errorf("fingerprint = %s, want the primary key's %s", fingerprint, want)
		}
		if parsed.Version() != tc.version {
			t.Errorf("version = %d, want %d", parsed.Version(), tc.version)
		}
		ids := parsed.KeyIDs()
		if len(ids) != 2 || ids[0] != tc.key.entity.PrimaryKey.KeyId {
			t.Errorf("KeyIDs() = %X, want the primary key ID and one subkey ID", ids)
		}
		if strings.Contains(string(armored), "PRIVATE") {
			t.Errorf("public armor mentions private material")
		}
	}
}

// weakRSAKey returns an armored public RSA key of the given size, made with the library's floor
// lowered so that it can be generated at all.
func weakRSAKey(t *testing.T, bits int) []byte {
	t.Helper()
	config := &packet.Config{
		Algorithm:  packet.PubKeyAlgoRSA,
		RSABits:    bits,
		MinRSABits: uint16(bits),
	}
	entity, err := openpgp.NewEntity("weak", "", "", config)
	if err != nil {
		t.Fatal(err)
	}
	return armorEntity(t, entity)
}

func armorEntity(t *testing.T, entity *openpgp.Entity) []byte {
	t.Helper()
	var out bytes.Buffer
	writer, err := armor.Encode(&out, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := entity.Serialize(writer); err != nil {
		t.Fatal(err)
	}
	writer.Close()
	return out.Bytes()
}

func TestParsePublicKeyRejects(t *testing.T) {
	t.Parallel()
	created := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	expiring, err := GenerateKey(GenerateOptions{Name: "expiring", Lifetime: time.Hour,
		Now: func() time.Time { return created }})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := GenerateKey(GenerateOptions{Name: "revoked"})
	if err != nil {
		t.Fatal(err)
	}
	if err := revoked.entity.Revoke(packet.KeyCompromised, "lost laptop", nil); err != nil {
		t.Fatal(err)
	}
	twoKeys := append(dearmor(t, customerEd25519(t).PublicKey().Armored()),
		dearmor(t, customerV6(t).PublicKey().Armored())...)
	private, err := customerEd25519(t).Armored(nil)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		armored []byte
		now     time.Time
		want    error
		mention string
	}{
		{"rsa 1024", weakRSAKey(t, 1024), time.Now(), ErrWeakKey, "1024 bits"},
		{"rsa 2047", weakRSAKey(t, 2047), time.Now(), ErrWeakKey, "2047 bits"},
		{"expired", expiring.PublicKey().Armored(), created.Add(2 * time.Hour), ErrKeyExpired,
			"expired"},
		{"not yet expired", expiring.PublicKey().Armored(), created.Add(30 * time.Minute), nil, ""},
		{"revoked", armorEntity(t, revoked.entity), time.Now(), ErrKeyRevoked,
			revoked.Fingerprint()},
		{"private key", private, time.Now(), ErrUnusableKey, "private key"},
		{"two keys", armorMessage(t, twoKeys), time.Now(), ErrMalformed, "PGP MESSAGE"},
		{"not armored", []byte("mQINBF..."), time.Now(), ErrMalformed, "no armored"},
		{"too large", bytes.Repeat([]byte("a"), maxKeyBytes+1), time.Now(), ErrMalformed,
			"exceeds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParsePublicKey(tc.armored, tc.now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("ParsePublicKey: %v", err)
				}
				return
			}
			if key != nil {
				t.Errorf("key = %s, want nil", key)
			}
			requireErrorIs(t, err, tc.want)
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
}

func TestParsePublicKeyTwoKeysInOneBlock(t *testing.T) {
	t.Parallel()
	raw := append(dearmor(t, customerEd25519(t).PublicKey().Armored()),
		dearmor(t, customerRSA(t).PublicKey().Armored())...)
	var out bytes.Buffer
	writer, _ := armor.Encode(&out, openpgp.PublicKeyType, nil)
	writer.Write(raw)
	writer.Close()
	_, err := ParsePublicKey(out.Bytes(), time.Now())
	requireErrorIs(t, err, ErrMalformed)
	if !strings.Contains(err.Error(), "2 keys") {
		t.Errorf("error %q does not count the keys", err)
	}
}

func TestPrivateKeyPassphrase(t *testing.T) {
	t.Parallel()
	key := customerEd25519(t)
	passphrase := []byte("correct horse")
	protected, err := key.Armored(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrivateKey(protected, nil, time.Now()); err == nil {
		t.Fatal("protected key parsed without a passphrase")
	} else {
		requireErrorIs(t, err, ErrPassphrase)
	}
	_, err = ParsePrivateKey(protected, []byte("wrong horse"), time.Now())
	requireErrorIs(t, err, ErrPassphrase)

	parsed, err := ParsePrivateKey(protected, passphrase, time.Now())
	if err != nil {
		t.Fatalf("ParsePrivateKey with the passphrase: %v", err)
	}
	if parsed.Fingerprint() != key.Fingerprint() {
		t.Errorf("fingerprint = %s, want %s", parsed.Fingerprint(), key.Fingerprint())
	}

	// The key in memory stays usable after Armored encrypted a copy.
	server := newTestServer(t, ServerOptions{})
	if _, err := SealOrder([]byte("x"), key, server.PublicKey()); err != nil {
		t.Fatalf("SealOrder after Armored: %v", err)
	}
	plain, err := key.Armored(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrivateKey(plain, nil, time.Now()); err != nil {
		t.Fatalf("unprotected key: %v", err)
	}
	_, err = ParsePrivateKey(key.PublicKey().Armored(), nil, time.Now())
	requireErrorIs(t, err, ErrMalformed)
}

func TestGenerateKeyOptions(t *testing.T) {
	t.Parallel()
	_, err := GenerateKey(GenerateOptions{})
	if err == nil || !strings.Contains(err.Error(), "name") {
		t.Errorf("v4 key without a name: error = %v, want one asking for a name", err)
	}
	v6, err := GenerateKey(GenerateOptions{V6: true})
	if err != nil {
		t.Fatalf("v6 key without a name: %v", err)
	}
	if v6.PublicKey().Version() != 6 {
		t.Errorf("version = %d, want 6", v6.PublicKey().Version())
	}
	if _, err := GenerateKey(GenerateOptions{Name: "x", Algorithm: KeyAlgorithm(9)}); err == nil {
		t.Error("unknown algorithm accepted")
	}
	if _, err := GenerateKey(GenerateOptions{Name: "x", Lifetime: -time.Second}); err == nil {
		t.Error("negative lifetime accepted")
	}
	ed := customerEd25519(t)
	if algo := ed.entity.PrimaryKey.PubKeyAlgo; algo != packet.PubKeyAlgoEdDSA {
		t.Errorf("v4 Ed25519 primary algorithm = %v, want EdDSA", algo)
	}
	if algo := customerV6(t).entity.PrimaryKey.PubKeyAlgo; algo != packet.PubKeyAlgoEd25519 {
		t.Errorf("v6 Ed25519 primary algorithm = %v, want Ed25519", algo)
	}
	bits, err := customerRSA(t).entity.PrimaryKey.BitLength()
	if err != nil || bits != 3072 {
		t.Errorf("RSA3072 key has %d bits (%v)", bits, err)
	}
}

func TestKeyFromClockAhead(t *testing.T) {
	t.Parallel()
	// A customer whose clock runs a minute fast makes a key and orders at once: to the
	// server the key and the order's signature are dated in the future.
	ahead := func() time.Time { return time.Now().Add(time.Minute) }
	customer, err := GenerateKey(GenerateOptions{Name: "fast clock", Now: ahead})
	if err != nil {
		t.Fatal(err)
	}
	public, err := ParsePublicKey(customer.PublicKey().Armored(), time.Now())
	if err != nil {
		t.Fatalf("key made a minute ahead: %v", err)
	}
	server := newTestServer(t, ServerOptions{})
	envelope, err := seal([]byte(testOrder), customer, server.PublicKey(), packetConfig(ahead, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Open(bytes.NewReader(envelope), public); err != nil {
		t.Fatalf("order signed a minute ahead with that key: %v", err)
	}

	farAhead, err := GenerateKey(GenerateOptions{Name: "clock an hour fast",
		Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParsePublicKey(farAhead.PublicKey().Armored(), time.Now())
	requireErrorIs(t, err, ErrUnusableKey)
	if !strings.Contains(err.Error(), "clock") {
		t.Errorf("key made an hour ahead: error %q does not point at the clock", err)
	}
}

func TestSealToKeyFromClockAhead(t *testing.T) {
	t.Parallel()
	// Credentials may be sealed within a minute of the order, to a key that a customer whose
	// clock runs fast made just before it.
	ahead := func() time.Time { return time.Now().Add(time.Minute) }
	customer, err := GenerateKey(GenerateOptions{Name: "fast clock", Now: ahead})
	if err != nil {
		t.Fatal(err)
	}
	public, err := ParsePublicKey(customer.PublicKey().Armored(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	server := newTestServer(t, ServerOptions{})
	credentials := []byte("ssh root@192.0.2.7")
	envelope, err := server.SealCredentials(credentials, public)
	if err != nil {
		t.Fatalf("SealCredentials to a key made a minute ahead: %v", err)
	}
	message, err := OpenCredentials(bytes.NewReader(envelope), customer, server.PublicKey())
	if err != nil {
		t.Fatalf("OpenCredentials: %v", err)
	}
	if !bytes.Equal(message.Payload, credentials) {
		t.Errorf("payload = %q, want %q", message.Payload, credentials)
	}
}
