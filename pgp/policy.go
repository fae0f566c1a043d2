package pgp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// MinRSABits is the smallest RSA modulus accepted in any key.
const MinRSABits = 2048

// packetConfig returns the library configuration every operation here uses: the clock, the RSA
// floor and a cap on decompressed data (zero means no cap).
func packetConfig(now func() time.Time, maxDecompressed int64) *packet.Config {
	config := &packet.Config{
		Time:       now,
		MinRSABits: MinRSABits,
		// AES-256 is what GnuPG 2.2 lists first in the preferences of the keys it makes.
		DefaultCipher: packet.CipherAES256,
	}
	if maxDecompressed > 0 {
		config.MaxDecompressedMessageSize = &maxDecompressed
	}
	return config
}

// checkStrength rejects a primary key or subkey whose algorithm or size is too weak.
func checkStrength(key *packet.PublicKey) error {
	switch key.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoRSASignOnly:
		bits, err := key.BitLength()
		if err != nil {
			return fmt.Errorf("%w: key %s: unreadable RSA modulus: %v",
				ErrMalformed, key.KeyIdString(), err)
		}
		if bits < MinRSABits {
			return fmt.Errorf("%w: key %s is RSA with %d bits, at least %d required",
				ErrWeakKey, key.KeyIdString(), bits, MinRSABits)
		}
	case packet.PubKeyAlgoDSA:
		return fmt.Errorf("%w: key %s is DSA; use Ed25519 or RSA of at least %d bits",
			ErrWeakKey, key.KeyIdString(), MinRSABits)
	case packet.PubKeyAlgoElGamal:
		return fmt.Errorf("%w: key %s is ElGamal; use X25519 (cv25519) or RSA of at least %d bits",
			ErrWeakKey, key.KeyIdString(), MinRSABits)
	case packet.PubKeyAlgoECDSA, packet.PubKeyAlgoECDH, packet.PubKeyAlgoEdDSA:
		curve, err := key.Curve()
		if err != nil {
			return fmt.Errorf("%w: key %s: unknown elliptic curve: %v",
				ErrUnusableKey, key.KeyIdString(), err)
		}
		if curve == packet.CurveSecP256k1 {
			return fmt.Errorf("%w: key %s uses the curve secp256k1; use Ed25519",
				ErrWeakKey, key.KeyIdString())
		}
	}
	return nil
}

// checkEntity checks that every key in the entity is strong enough and that, at now, the entity
// is neither expired nor revoked and has a key for signing and a key for encryption.
//
// NOTE: a weak subkey rejects the whole certificate even when it is revoked or unused, because
// the message names the subkey and a customer can remove it with their OpenPGP tool.
func checkEntity(entity *openpgp.Entity, now time.Time, config *packet.Config) error {
	if err := checkStrength(entity.PrimaryKey); err != nil {
		return err
	}
	for _, subkey := range entity.Subkeys {
		if err := checkStrength(subkey.PublicKey); err != nil {
			return err
		}
	}
	if created := entity.PrimaryKey.CreationTime; created.After(now.Add(MaxClockSkew)) {
		return fmt.Errorf("%w: key %s was created at %s, more than %v after this computer's "+
			"time %s; check the clock of the computer that made it", ErrUnusableKey,
			fingerprintOf(entity), created.UTC().Format(time.RFC3339), MaxClockSkew,
			now.UTC().Format(time.RFC3339))
	}
	now = validityInstant(entity, now)
	if err := checkPrimaryValid(entity, now, config); err != nil {
		return err
	}
	if _, ok := entity.SigningKey(now, config); !ok {
		return signingKeyError(entity, now, config)
	}
	if _, err := entity.EncryptionKeyWithError(now, config); err != nil {
		return fmt.Errorf("%w: key %s has no valid key for encryption at %s: %v",
			unusableKind(err), fingerprintOf(entity), now.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// validityInstant returns the instant at which to check the entity: now, or the creation of
// its newest key or self-signature when that lies in the future by at most MaxClockSkew. The
// clock of the computer that made or updated the key may run ahead, and the library ignores a
// self-signature before the instant it was made. The dates come from unverified packets, so a
// forged one can move the instant by at most MaxClockSkew.
func validityInstant(entity *openpgp.Entity, now time.Time) time.Time {
	at := now
	latest := now.Add(MaxClockSkew)
	consider := func(created time.Time) {
		if created.After(at) && !created.After(latest) {
			at = created
		}
	}
	considerSignatures := func(signatures []*packet.VerifiableSignature) {
		for _, signature := range signatures {
			consider(signature.Packet.CreationTime)
		}
	}
	consider(entity.PrimaryKey.CreationTime)
	considerSignatures(entity.DirectSignatures)
	for _, identity := range entity.Identities {
		considerSignatures(identity.SelfCertifications)
	}
	for _, subkey := range entity.Subkeys {
		consider(subkey.PublicKey.CreationTime)
		considerSignatures(subkey.Bindings)
	}
	return at
}

// signingKeyError explains why an entity whose primary key is valid has no key for signing.
// The library reports only that none was found, so when a subkey that was bound for signing is
// expired or revoked, the error takes that kind and names the subkey.
func signingKeyError(entity *openpgp.Entity, now time.Time, config *packet.Config) error {
	at := now.UTC().Format(time.RFC3339)
	for _, subkey := range entity.Subkeys {
		if !boundForSigning(subkey) {
			continue
		}
		_, err := subkey.Verify(now, config)
		if kind := unusableKind(err); err != nil && kind != ErrUnusableKey {
			return fmt.Errorf("%w: key %s has no valid key for signing at %s: "+
				"signing subkey %s: %v", kind, fingerprintOf(entity), at,
				subkey.PublicKey.KeyIdString(), err)
		}
	}
	return fmt.Errorf("%w: key %s has no valid key for signing at %s",
		ErrUnusableKey, fingerprintOf(entity), at)
}

// boundForSigning reports whether any binding signature of the subkey, verified or not, gives
// it the signing flag. It reads the packets only, so it leaves the library's cache of verified
// signatures alone.
func boundForSigning(subkey openpgp.Subkey) bool {
	for _, binding := range subkey.Bindings {
		if binding.Packet.FlagsValid && binding.Packet.FlagSign {
			return true
		}
	}
	return false
}

// checkPrimaryValid checks that the primary key has a valid self-signature and is neither
// revoked nor expired at now.
func checkPrimaryValid(entity *openpgp.Entity, now time.Time, config *packet.Config) error {
	_, err := entity.VerifyPrimaryKey(now, config)
	if err == nil {
		return nil
	}
	at := now.UTC().Format(time.RFC3339)
	switch kind := unusableKind(err); kind {
	case ErrKeyRevoked:
		return fmt.Errorf("%w: key %s", ErrKeyRevoked, fingerprintOf(entity))
	case ErrKeyExpired:
		return fmt.Errorf("%w: key %s is expired at %s", ErrKeyExpired, fingerprintOf(entity), at)
	default:
		return fmt.Errorf("%w: key %s has no valid self-signature at %s: %v",
			kind, fingerprintOf(entity), at, err)
	}
}

// unusableKind maps a key selection error from the library to this package's kind.
func unusableKind(err error) error {
	var weak pgperrors.WeakAlgorithmError
	var selection pgperrors.ErrEncryptionKeySelection
	var selectionPointer *pgperrors.ErrEncryptionKeySelection
	switch {
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return ErrKeyRevoked
	case errors.Is(err, pgperrors.ErrKeyExpired):
		return ErrKeyExpired
	case errors.As(err, &weak):
		return ErrWeakKey
	case errors.As(err, &selection):
		return unusableKind(firstNonNil(selection.PrimaryKeyErr, selection.EncSelectionErr))
	case errors.As(err, &selectionPointer):
		return unusableKind(firstNonNil(selectionPointer.PrimaryKeyErr,
			selectionPointer.EncSelectionErr))
	}
	return ErrUnusableKey
}

func firstNonNil(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fingerprintOf returns the primary key fingerprint in uppercase hex, as GnuPG prints it.
func fingerprintOf(entity *openpgp.Entity) string {
	return strings.ToUpper(hex.EncodeToString(entity.PrimaryKey.Fingerprint))
}
