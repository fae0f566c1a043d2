package bitcoin

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/binary"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
)

// publicChain is a chain key (such as account/0) kept in the form BIP32 public child
// derivation needs: the parent point already decompressed, its compressed serialization and
// its chain code. hdkeychain.ExtendedKey.Derive decompresses the parent point and hashes its
// fingerprint on every call; keeping them saves that work for every address. It is
// read-only after creation and safe for concurrent use.
type publicChain struct {
	point      btcec.JacobianPoint
	compressed [33]byte
	chainCode  [32]byte
}

func newPublicChain(key *hdkeychain.ExtendedKey) (*publicChain, error) {
	publicKey, err := key.ECPubKey()
	if err != nil {
		return nil, fmt.Errorf("%w: chain key: %v", ErrInvalidAccountKey, err)
	}
	chain := &publicChain{}
	publicKey.AsJacobian(&chain.point)
	copy(chain.compressed[:], publicKey.SerializeCompressed())
	copy(chain.chainCode[:], key.ChainCode())
	return chain, nil
}

// child derives the public key of the unhardened child at index, as BIP32's CKDpub does:
// I = HMAC-SHA512(chain code, compressed parent || index), child = I_L·G + parent.
func (c *publicChain) child(index uint32) (*btcec.PublicKey, error) {
	var data [37]byte
	copy(data[:33], c.compressed[:])
	binary.BigEndian.PutUint32(data[33:], index)
	mac := hmac.New(sha512.New, c.chainCode[:])
	mac.Write(data[:])
	digest := mac.Sum(nil)

	var tweak btcec.ModNScalar
	if overflow := tweak.SetByteSlice(digest[:32]); overflow {
		return nil, fmt.Errorf("child %d: %w", index, hdkeychain.ErrInvalidChild)
	}
	var tweakPoint, sum btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(&tweak, &tweakPoint)
	btcec.AddNonConst(&tweakPoint, &c.point, &sum)
	if (sum.X.IsZero() && sum.Y.IsZero()) || sum.Z.IsZero() {
		return nil, fmt.Errorf("child %d: %w", index, hdkeychain.ErrInvalidChild)
	}
	sum.ToAffine()
	return btcec.NewPublicKey(&sum.X, &sum.Y), nil
}
