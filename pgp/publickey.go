package pgp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// maxKeyBytes caps the size of an armored key read by ParsePublicKey and ParsePrivateKey. An
// RSA-4096 key with a few user IDs and signatures is under 16 KiB.
const maxKeyBytes = 1 << 20

// PublicKey is an OpenPGP certificate (public key) that passed the checks of ParsePublicKey. Its
// methods are safe for concurrent use.
type PublicKey struct {
	entity      *openpgp.Entity
	fingerprint string
	// armored is serialized once, because serializing caches data in the library's signature
	// packets and so is not safe to run concurrently.
	armored []byte
}

// ParsePublicKey reads one ASCII-armored OpenPGP public key and checks it at the time now: v4 and
// v6 keys are accepted when every key in them is strong enough (RSA of at least 2048 bits, or an
// elliptic curve other than secp256k1; no DSA or ElGamal), the key is neither expired nor revoked,
// and it has a valid key for signing and one for encryption. A key or self-signature dated up to
// MaxClockSkew after now moves the check to that date, because the clock that made it may run
// ahead.
func ParsePublicKey(armored []byte, now time.Time) (*PublicKey, error) {
	entity, err := readArmoredEntity(armored, openpgp.PublicKeyType)
	if err != nil {
		return nil, err
	}
	if entity.PrivateKey != nil {
		return nil, fmt.Errorf("%w: a private key was given where a public key was expected",
			ErrUnusableKey)
	}
	return newPublicKey(entity, now)
}

// newPublicKey checks the entity at now. The checks also fill the library's cache of verified
// self-signatures, which later reads only use, so that the key can be shared between goroutines.
func newPublicKey(entity *openpgp.Entity, now time.Time) (*PublicKey, error) {
	if err := checkEntity(entity, now, packetConfig(nil, 0)); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	writer, err := armor.Encode(&out, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, fmt.Errorf("armoring public key: %w", err)
	}
	if err := entity.Serialize(writer); err != nil {
		return nil, fmt.Errorf("serializing public key: %w", err)
	}
	if err := writer.Close(); err != nil {
		return nil, fmt.Errorf("armoring public key: %w", err)
	}
	return &PublicKey{entity: entity, fingerprint: fingerprintOf(entity), armored: out.Bytes()}, nil
}

// Fingerprint returns the fingerprint of the primary key in uppercase hex, 40 digits for a v4
// key and 64 for a v6 key. It is the customer's identity.
func (k *PublicKey) Fingerprint() string { return k.fingerprint }

// Version returns the OpenPGP key version, 4 or 6.
func (k *PublicKey) Version() int { return k.entity.PrimaryKey.Version }

// KeyIDs returns the 64-bit key IDs of the primary key and every subkey. A signature names its
// issuer by one of these, so a Keyring indexes keys by them.
func (k *PublicKey) KeyIDs() []uint64 {
	ids := []uint64{k.entity.PrimaryKey.KeyId}
	for _, subkey := range k.entity.Subkeys {
		ids = append(ids, subkey.PublicKey.KeyId)
	}
	return ids
}

// Armored returns the key as an ASCII-armored public key block, without any private material.
func (k *PublicKey) Armored() []byte { return bytes.Clone(k.armored) }

// String returns the fingerprint, so that logging a key never prints the key itself.
func (k *PublicKey) String() string { return k.fingerprint }

// readArmoredEntity reads exactly one key from an armored block of the given type.
func readArmoredEntity(armored []byte, blockType string) (*openpgp.Entity, error) {
	if len(armored) > maxKeyBytes {
		return nil, fmt.Errorf("%w: armored key of %d bytes exceeds %d bytes",
			ErrMalformed, len(armored), maxKeyBytes)
	}
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, noArmorError(armored, blockType)
		}
		return nil, fmt.Errorf("%w: reading armor: %v", ErrMalformed, err)
	}
	if block.Type == openpgp.PrivateKeyType && blockType == openpgp.PublicKeyType {
		return nil, fmt.Errorf("%w: a private key was given where a public key was expected; "+
			"export the public key only", ErrUnusableKey)
	}
	if block.Type != blockType {
		return nil, fmt.Errorf("%w: armored block is %q, expected %q",
			ErrMalformed, block.Type, blockType)
	}
	entities, err := openpgp.ReadKeyRing(block.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: reading key: %v", ErrMalformed, err)
	}
	if len(entities) != 1 {
		return nil, fmt.Errorf("%w: armored block holds %d keys, expected exactly one",
			ErrMalformed, len(entities))
	}
	return entities[0], nil
}

// noArmorError explains input in which the armor decoder found no block. Input that starts
// with a readable OpenPGP packet is binary output, as gpg writes it without --armor, so that
// case gets a hint on how to armor it.
func noArmorError(input []byte, blockType string) error {
	if _, err := packet.Read(bytes.NewReader(input)); err == nil {
		return fmt.Errorf("%w: the input is binary OpenPGP data; expected it ASCII-armored "+
			"(gpg --armor), starting with -----BEGIN %s-----", ErrMalformed, blockType)
	}
	return fmt.Errorf("%w: no armored OpenPGP block found; expected one starting with "+
		"-----BEGIN %s-----", ErrMalformed, blockType)
}
