package pgp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// DefaultMaxPayloadBytes is the payload size limit when none is configured: 64 KiB, far more
// than an order or a set of credentials needs.
const DefaultMaxPayloadBytes = 64 << 10

// MaxClockSkew is how far after the current time a signature or a key may be dated. The
// signer's clock may run ahead of this computer's, and without this margin a signature or a
// freshly made key dated even one second in the future is rejected.
const MaxClockSkew = 5 * time.Minute

// Message is the content of an opened envelope whose signature verified.
type Message struct {
	// Payload is the decrypted content.
	Payload []byte
	// Signer is the key that signed the envelope.
	Signer *PublicKey
	// SignerFingerprint is Signer.Fingerprint(): the customer's identity on the server side.
	SignerFingerprint string
	// SignedAt is the creation time in the signature, as the signer's clock stated it.
	SignedAt time.Time
}

// OpenCredentials decrypts an envelope with the customer's key and verifies that the server's
// key signed it. The payload may be at most DefaultMaxPayloadBytes.
func OpenCredentials(
	envelope io.Reader, customer *PrivateKey, server *PublicKey,
) (*Message, error) {
	if customer == nil || server == nil {
		return nil, fmt.Errorf("opening credentials: customer and server keys are required")
	}
	return open(context.Background(), envelope, openParams{
		recipient:  customer,
		signers:    KeyList{server},
		unknown:    ErrWrongSigner,
		expected:   server.Fingerprint(),
		maxPayload: DefaultMaxPayloadBytes,
		now:        time.Now,
	})
}

// openParams says who opens an envelope, whose signature it must carry and the limits.
type openParams struct {
	recipient *PrivateKey
	signers   Keyring
	// unknown is the error kind for a signature by a key not in signers.
	unknown error
	// expected names the one key that must sign, for error messages; empty for a keyring.
	expected   string
	maxPayload int64
	now        func() time.Time
}

// maxEnvelopeBytes is the armored input limit for a payload limit. Base64 adds a third and
// line breaks add a little more; the rest covers key packets and signatures (an RSA-4096
// signature is about 550 bytes).
func maxEnvelopeBytes(maxPayload int64) int64 { return 2*maxPayload + envelopeOverhead }

const envelopeOverhead = 64 << 10

// maxPayloadLimit is the largest payload limit whose envelope limit, plus the one byte read
// beyond it to detect an excess, still fits in an int64.
const maxPayloadLimit = (math.MaxInt64 - envelopeOverhead - 1) / 2

// clearsignedType is the armor type of a cleartext signed message (gpg --clearsign).
const clearsignedType = "PGP SIGNED MESSAGE"

// open decrypts, reads at most params.maxPayload bytes and, once the body has been read to its
// end, checks the signature. Until then the library has only hashed the data, so nothing is
// returned before the end.
func open(ctx context.Context, envelope io.Reader, params openParams) (*Message, error) {
	maxEnvelope := maxEnvelopeBytes(params.maxPayload)
	armored, err := io.ReadAll(io.LimitReader(envelope, maxEnvelope+1))
	if err != nil {
		return nil, fmt.Errorf("reading envelope: %w", err)
	}
	if int64(len(armored)) > maxEnvelope {
		return nil, fmt.Errorf("%w: armored envelope exceeds %d bytes", ErrTooLarge, maxEnvelope)
	}
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, noArmorError(armored, openpgp.MessageType)
		}
		return nil, fmt.Errorf("%w: reading armor: %v", ErrMalformed, err)
	}
	if block.Type == clearsignedType {
		return nil, fmt.Errorf("%w: it is a cleartext signed message; sign it and encrypt it "+
			"to key %s", ErrNotEncrypted, params.recipient.Fingerprint())
	}
	if block.Type != openpgp.MessageType {
		return nil, fmt.Errorf("%w: armored block is %q, expected %q",
			ErrMalformed, block.Type, openpgp.MessageType)
	}
	// The armor decoder treats a missing end line as the end of the data, so a truncated
	// envelope would otherwise surface as a failed integrity check.
	if !bytes.Contains(armored, []byte("\n-----END "+openpgp.MessageType+"-----")) {
		return nil, fmt.Errorf("%w: armor end line missing; the envelope is truncated",
			ErrMalformed)
	}
	body := &errorRecorder{r: block.Body}
	message, err := readMessage(ctx, body, params)
	if err != nil && body.err != nil {
		return nil, fmt.Errorf("%w: reading armor: %v", ErrMalformed, body.err)
	}
	return message, err
}

// errorRecorder keeps the first error other than io.EOF that its reader returned, because the
// library reports a corrupt armor body as a failed integrity check.
type errorRecorder struct {
	r   io.Reader
	err error
}

func (e *errorRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// readMessage decrypts and verifies the packets of an envelope.
func readMessage(ctx context.Context, packets io.Reader, params openParams) (*Message, error) {
	keyring := &openKeyring{
		ctx:       ctx,
		recipient: params.recipient,
		signers:   params.signers,
		found:     make(map[*openpgp.Entity]*PublicKey),
	}
	// The library checks the signature's date against this clock and nothing else, so
	// moving it ahead admits a signer's clock that runs fast. Key validity is checked at the
	// signature's date and, below, at params.now.
	verifyAt := func() time.Time { return params.now().Add(MaxClockSkew) }
	// The decompressed data holds the payload plus packet headers and signatures.
	config := packetConfig(verifyAt, params.maxPayload+16<<10)
	details, err := openpgp.ReadMessage(packets, keyring, nil, config)
	if keyring.err != nil {
		return nil, fmt.Errorf("looking up signer key: %w", keyring.err)
	}
	if errors.Is(err, pgperrors.ErrKeyIncorrect) {
		return nil, fmt.Errorf("%w: expected key %s",
			ErrWrongRecipient, params.recipient.Fingerprint())
	}
	if err != nil {
		return nil, readError(err)
	}
	if !details.IsEncrypted {
		return nil, fmt.Errorf("%w: encrypt it to key %s",
			ErrNotEncrypted, params.recipient.Fingerprint())
	}
	if !details.IsSigned {
		return nil, fmt.Errorf("%w: sign it with your key", ErrNotSigned)
	}

	payload, err := io.ReadAll(io.LimitReader(details.UnverifiedBody, params.maxPayload+1))
	if err != nil {
		return nil, bodyError(err)
	}
	if int64(len(payload)) > params.maxPayload {
		return nil, fmt.Errorf("%w: payload exceeds %d bytes", ErrTooLarge, params.maxPayload)
	}
	if keyring.err != nil {
		return nil, fmt.Errorf("looking up signer key: %w", keyring.err)
	}
	if !details.IsVerified {
		return nil, fmt.Errorf("%w: the signature was not checked", ErrBadSignature)
	}
	if details.SignatureError != nil {
		return nil, signatureError(details, params, params.now())
	}

	signer := keyring.found[details.SignedBy.Entity]
	if signer == nil {
		// Only the recipient's own key can verify without being among the signers.
		return nil, fmt.Errorf("%w: signed by %s, the recipient's own key%s",
			ErrWrongSigner, fingerprintOf(details.SignedBy.Entity), expectedSigner(params))
	}
	signerNow := validityInstant(signer.entity, params.now())
	if err := checkPrimaryValid(signer.entity, signerNow, config); err != nil {
		return nil, fmt.Errorf("signer key: %w", err)
	}
	return &Message{
		Payload:           payload,
		Signer:            signer,
		SignerFingerprint: signer.fingerprint,
		SignedAt:          details.Signature.CreationTime,
	}, nil
}

// expectedSigner returns the clause of an error message that names the key that must sign.
func expectedSigner(params openParams) string {
	if params.expected == "" {
		return ""
	}
	return ", expected a signature by key " + params.expected
}

// readError classifies an error from reading the packets before the body.
func readError(err error) error {
	var decrypt pgperrors.DecryptWithSessionKeyError
	var signature pgperrors.SignatureError
	switch {
	case errors.As(err, &decrypt), errors.As(err, &signature):
		return fmt.Errorf("%w: decrypted data failed its integrity check: %v", ErrBadSignature, err)
	case errors.Is(err, pgperrors.ErrMessageTooLarge):
		return fmt.Errorf("%w: decompressed data exceeds the limit", ErrTooLarge)
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

// bodyError classifies an error from reading the body, which includes the integrity checks.
func bodyError(err error) error {
	var decrypt pgperrors.DecryptWithSessionKeyError
	var signature pgperrors.SignatureError
	switch {
	case errors.Is(err, pgperrors.ErrMessageTooLarge):
		return fmt.Errorf("%w: decompressed data exceeds the limit", ErrTooLarge)
	case errors.As(err, &decrypt), errors.As(err, &signature):
		return fmt.Errorf("%w: decrypted data failed its integrity check: %v", ErrBadSignature, err)
	}
	return fmt.Errorf("%w: reading payload: %v", ErrMalformed, err)
}

// signatureError classifies the outcome of checking the signatures after the body was read.
func signatureError(details *openpgp.MessageDetails, params openParams, now time.Time) error {
	err := details.SignatureError
	issuer := "unknown"
	var signedAt time.Time
	if candidate := details.SelectedCandidate; candidate != nil {
		issuer = fmt.Sprintf("%016X", candidate.IssuerKeyId)
		if candidate.CorrespondingSig != nil {
			signedAt = candidate.CorrespondingSig.CreationTime
		}
	}
	var weak pgperrors.WeakAlgorithmError
	switch {
	case errors.Is(err, pgperrors.ErrSignatureExpired) && signedAt.After(now.Add(MaxClockSkew)):
		return fmt.Errorf("%w: issuer key ID %s: the signature is dated %s, more than %v "+
			"after this computer's time %s; check the signer's clock", ErrBadSignature, issuer,
			signedAt.UTC().Format(time.RFC3339), MaxClockSkew, now.UTC().Format(time.RFC3339))
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return fmt.Errorf("%w: issuer key ID %s%s", params.unknown, issuer, expectedSigner(params))
	case errors.Is(err, pgperrors.ErrKeyExpired):
		return fmt.Errorf("signer key: %w: issuer key ID %s", ErrKeyExpired, issuer)
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return fmt.Errorf("signer key: %w: issuer key ID %s", ErrKeyRevoked, issuer)
	case errors.As(err, &weak):
		return fmt.Errorf("signer key: %w: %v", ErrWeakKey, err)
	}
	return fmt.Errorf("%w: issuer key ID %s: %v", ErrBadSignature, issuer, err)
}
