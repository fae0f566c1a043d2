package pgp

import (
	"bytes"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// SealOrder signs payload with the customer's key and encrypts it to the server's public key,
// returning an ASCII-armored OpenPGP message. The customer's command line uses it to send orders.
func SealOrder(payload []byte, customer *PrivateKey, server *PublicKey) ([]byte, error) {
	return seal(payload, customer, server, packetConfig(time.Now, 0))
}

// seal signs payload with signer and encrypts it to recipient. The signature names the recipient
// (an intended recipient subpacket), so that a recipient cannot re-encrypt it to a third party
// and pass it off as addressed to them.
func seal(
	payload []byte, signer *PrivateKey, recipient *PublicKey, config *packet.Config,
) ([]byte, error) {
	if signer == nil || recipient == nil {
		return nil, fmt.Errorf("sealing: signer and recipient keys are required")
	}
	// A recipient key made by a clock that runs ahead, by at most MaxClockSkew, has no valid
	// self-signature before its own date, so the message takes that date. To the recipient,
	// whose clock made the key, the message is then not dated in the future.
	if at := validityInstant(recipient.entity, config.Now()); at.After(config.Now()) {
		shifted := *config
		shifted.Time = func() time.Time { return at }
		config = &shifted
	}

	var out bytes.Buffer
	armored, err := armor.Encode(&out, openpgp.MessageType, nil)
	if err != nil {
		return nil, fmt.Errorf("sealing: armoring: %w", err)
	}
	plaintext, err := openpgp.EncryptWithParams(armored, []*openpgp.Entity{recipient.entity}, nil,
		&openpgp.EncryptParams{Signers: []*openpgp.Entity{signer.entity}, Config: config})
	if err != nil {
		return nil, fmt.Errorf("sealing to %s: %w", recipient.fingerprint, keySelectionError(err))
	}
	if _, err := plaintext.Write(payload); err != nil {
		return nil, fmt.Errorf("sealing: writing payload: %w", err)
	}
	if err := plaintext.Close(); err != nil {
		return nil, fmt.Errorf("sealing: finishing message: %w", err)
	}
	if err := armored.Close(); err != nil {
		return nil, fmt.Errorf("sealing: finishing armor: %w", err)
	}
	return out.Bytes(), nil
}

// keySelectionError adds this package's kind to a key selection error from the library, such as
// a recipient key that expired after it was parsed.
func keySelectionError(err error) error {
	return fmt.Errorf("%w: %v", unusableKind(err), err)
}
