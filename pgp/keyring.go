package pgp

import (
	"context"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// Keyring looks up customers' public keys for Server.OpenFromKeyring, for example in the store
// of registered customers.
type Keyring interface {
	// PublicKeysByID returns the keys whose primary key or a subkey has the 64-bit key ID (see
	// PublicKey.KeyIDs), or none. An error aborts the open and is returned as it is.
	PublicKeysByID(ctx context.Context, keyID uint64) ([]*PublicKey, error)
}

// KeyList is a Keyring held in memory.
type KeyList []*PublicKey

// PublicKeysByID returns the keys in the list that have the key ID.
func (l KeyList) PublicKeysByID(_ context.Context, keyID uint64) ([]*PublicKey, error) {
	var found []*PublicKey
	for _, key := range l {
		for _, id := range key.KeyIDs() {
			if id == keyID {
				found = append(found, key)
				break
			}
		}
	}
	return found, nil
}

// openKeyring adapts the recipient's private key and a Keyring of possible signers to the
// library's keyring, which it asks both for the decryption key and for the signer's key. It
// records which PublicKey each returned entity belongs to and the first lookup error.
type openKeyring struct {
	ctx       context.Context
	recipient *PrivateKey
	signers   Keyring
	found     map[*openpgp.Entity]*PublicKey
	err       error
}

func (r *openKeyring) EntitiesById(id uint64) []*openpgp.Entity {
	var entities []*openpgp.Entity
	if id == 0 || hasKeyID(r.recipient.entity, id) {
		entities = append(entities, r.recipient.entity)
	}
	if r.err != nil {
		return entities
	}
	keys, err := r.signers.PublicKeysByID(r.ctx, id)
	if err != nil {
		r.err = err
		return entities
	}
	for _, key := range keys {
		if key == nil {
			continue
		}
		r.found[key.entity] = key
		entities = append(entities, key.entity)
	}
	return entities
}

func (r *openKeyring) KeysById(id uint64) []openpgp.Key {
	return openpgp.EntityList(r.EntitiesById(id)).KeysById(id)
}

func hasKeyID(entity *openpgp.Entity, id uint64) bool {
	if entity.PrimaryKey.KeyId == id {
		return true
	}
	for _, subkey := range entity.Subkeys {
		if subkey.PublicKey.KeyId == id {
			return true
		}
	}
	return false
}
