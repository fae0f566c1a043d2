package pgp

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// KeyAlgorithm selects the algorithms of a generated key.
type KeyAlgorithm int

const (
	// Ed25519 makes an Ed25519 primary key for signing and an X25519 subkey for encryption. A v4
	// key uses the EdDSA and Curve25519 ECDH encodings that GnuPG 2.2 reads.
	Ed25519 KeyAlgorithm = iota
	// RSA3072 makes an RSA-3072 primary key and an RSA-3072 encryption subkey.
	RSA3072
	// RSA4096 makes an RSA-4096 primary key and an RSA-4096 encryption subkey.
	RSA4096
)

// String returns the algorithm's name as GnuPG's --quick-gen-key spells it.
func (a KeyAlgorithm) String() string {
	switch a {
	case Ed25519:
		return "ed25519"
	case RSA3072:
		return "rsa3072"
	case RSA4096:
		return "rsa4096"
	}
	return fmt.Sprintf("KeyAlgorithm(%d)", int(a))
}

// GenerateOptions describes a key to generate. The zero value with a Name makes a v4 Ed25519 key
// that never expires.
type GenerateOptions struct {
	// Name is the user ID. A v4 key requires one; a v6 key may have none. Customers have no
	// e-mail address here, so the name is free text such as "instars customer".
	Name string
	// Algorithm defaults to Ed25519.
	Algorithm KeyAlgorithm
	// V6 makes an RFC 9580 version 6 key, which GnuPG 2.2 cannot read.
	V6 bool
	// Lifetime is how long after creation the key expires; zero means never. It is stored in whole
	// seconds.
	Lifetime time.Duration
	// Now returns the creation time; nil means time.Now.
	Now func() time.Time
}

// GenerateKey makes a new key pair. The library this package builds on defaults to RSA, so the
// algorithm is always set explicitly.
func GenerateKey(options GenerateOptions) (*PrivateKey, error) {
	now := options.Now
	if now == nil {
		now = time.Now
	}
	config := packetConfig(now, 0)
	config.V6Keys = options.V6
	switch options.Algorithm {
	case Ed25519:
		if options.V6 {
			config.Algorithm = packet.PubKeyAlgoEd25519
		} else {
			config.Algorithm = packet.PubKeyAlgoEdDSA
			config.Curve = packet.Curve25519
		}
	case RSA3072:
		config.Algorithm = packet.PubKeyAlgoRSA
		config.RSABits = 3072
	case RSA4096:
		config.Algorithm = packet.PubKeyAlgoRSA
		config.RSABits = 4096
	default:
		return nil, fmt.Errorf(
			"generating key: unknown algorithm %v; expected Ed25519, RSA3072 or RSA4096",
			options.Algorithm)
	}
	if options.Lifetime < 0 || options.Lifetime.Seconds() > math.MaxUint32 {
		return nil, fmt.Errorf("generating key: lifetime %v out of range; expected 0 to %d seconds",
			options.Lifetime, uint32(math.MaxUint32))
	}
	if options.Lifetime > 0 && options.Lifetime < time.Second {
		return nil, fmt.Errorf("generating key: lifetime %v is under one second", options.Lifetime)
	}
	config.KeyLifetimeSecs = uint32(options.Lifetime / time.Second)

	var entity *openpgp.Entity
	var err error
	switch {
	case options.Name != "":
		entity, err = openpgp.NewEntity(options.Name, "", "", config)
	case options.V6:
		entity, err = openpgp.NewEntityWithoutId(config)
	default:
		err = errors.New("a v4 key needs a name for its user ID")
	}
	if err != nil {
		return nil, fmt.Errorf("generating %v key: %w", options.Algorithm, err)
	}
	return newPrivateKey(entity, now())
}
