package pgp

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// PrivateKey is an OpenPGP key with its secret material decrypted in memory: the server's key or
// a customer's. Its methods are safe for concurrent use.
type PrivateKey struct {
	entity *openpgp.Entity
	public *PublicKey
	// packets is the unprotected serialized key, made once for the reason given on
	// PublicKey.armored.
	packets []byte
}

// ParsePrivateKey reads one ASCII-armored OpenPGP private key, decrypts its secret material with
// passphrase when it is protected (passphrase is ignored otherwise), and checks it at the time now
// as ParsePublicKey does.
func ParsePrivateKey(armored, passphrase []byte, now time.Time) (*PrivateKey, error) {
	entity, err := readArmoredEntity(armored, openpgp.PrivateKeyType)
	if err != nil {
		return nil, err
	}
	if entity.PrivateKey == nil {
		return nil, fmt.Errorf("%w: the block holds no private key material", ErrUnusableKey)
	}
	if entity.PrivateKey.Dummy() {
		return nil, fmt.Errorf("%w: the primary secret key is a stub (kept offline or on a card)",
			ErrUnusableKey)
	}
	if err := decryptEntity(entity, passphrase); err != nil {
		return nil, err
	}
	return newPrivateKey(entity, now)
}

// decryptEntity decrypts every protected secret key in the entity.
func decryptEntity(entity *openpgp.Entity, passphrase []byte) error {
	encrypted := entity.PrivateKey.Encrypted
	for _, subkey := range entity.Subkeys {
		encrypted = encrypted || (subkey.PrivateKey != nil && subkey.PrivateKey.Encrypted)
	}
	if !encrypted {
		return nil
	}
	if len(passphrase) == 0 {
		return fmt.Errorf("%w: the private key is protected and no passphrase was given",
			ErrPassphrase)
	}
	err := entity.DecryptPrivateKeys(passphrase)
	var keyInvalid pgperrors.KeyInvalidError
	var structural pgperrors.StructuralError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgperrors.ErrKeyIncorrect), errors.As(err, &keyInvalid),
		errors.As(err, &structural):
		return fmt.Errorf("%w: decrypting the private key failed: %v", ErrPassphrase, err)
	default:
		return fmt.Errorf("%w: decrypting the private key: %v", ErrUnusableKey, err)
	}
}

// newPrivateKey checks the entity at now and derives its public half.
func newPrivateKey(entity *openpgp.Entity, now time.Time) (*PrivateKey, error) {
	var public bytes.Buffer
	if err := entity.Serialize(&public); err != nil {
		return nil, fmt.Errorf("serializing public key: %w", err)
	}
	publicEntity, err := openpgp.ReadEntity(packet.NewReader(&public))
	if err != nil {
		return nil, fmt.Errorf("%w: rereading public key: %v", ErrMalformed, err)
	}
	publicKey, err := newPublicKey(publicEntity, now)
	if err != nil {
		return nil, err
	}
	// The private entity needs its own pass, which fills its cache of verified signatures.
	if err := checkEntity(entity, now, packetConfig(nil, 0)); err != nil {
		return nil, err
	}
	var packets bytes.Buffer
	if err := entity.SerializePrivateWithoutSigning(&packets, nil); err != nil {
		return nil, fmt.Errorf("serializing private key: %w", err)
	}
	return &PrivateKey{entity: entity, public: publicKey, packets: packets.Bytes()}, nil
}

// PublicKey returns the public half, to publish or to send along with an order.
func (k *PrivateKey) PublicKey() *PublicKey { return k.public }

// Fingerprint returns the primary key fingerprint in uppercase hex.
func (k *PrivateKey) Fingerprint() string { return k.public.fingerprint }

// String returns the fingerprint, so that logging a key never prints secret material.
func (k *PrivateKey) String() string { return k.public.fingerprint }

// Armored returns the key as an ASCII-armored private key block. With a non-empty passphrase the
// secret material is encrypted with it (iterated and salted S2K, AES-256); with none it is stored
// in the clear. The key in memory stays decrypted.
func (k *PrivateKey) Armored(passphrase []byte) ([]byte, error) {
	// Work on a copy, because EncryptPrivateKeys changes the entity in place.
	entity, err := openpgp.ReadEntity(packet.NewReader(bytes.NewReader(k.packets)))
	if err != nil {
		return nil, fmt.Errorf("copying private key: %w", err)
	}
	if len(passphrase) > 0 {
		if err := entity.EncryptPrivateKeys(passphrase, packetConfig(nil, 0)); err != nil {
			return nil, fmt.Errorf("encrypting private key: %w", err)
		}
	}
	var out bytes.Buffer
	writer, err := armor.Encode(&out, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, fmt.Errorf("armoring private key: %w", err)
	}
	if err := entity.SerializePrivateWithoutSigning(writer, nil); err != nil {
		return nil, fmt.Errorf("serializing private key: %w", err)
	}
	if err := writer.Close(); err != nil {
		return nil, fmt.Errorf("armoring private key: %w", err)
	}
	return out.Bytes(), nil
}
