package pgp

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Server opens order envelopes and seals credential envelopes with the server's key. Its methods
// are safe for concurrent use.
type Server struct {
	key        *PrivateKey
	maxPayload int64
	now        func() time.Time
}

// ServerOptions configures a Server. The zero value is ready to use.
type ServerOptions struct {
	// MaxPayloadBytes is the largest decrypted order accepted; zero means DefaultMaxPayloadBytes.
	// The armored envelope may be at most twice this plus 64 KiB, and Open holds it in memory
	// whole. NewServer rejects a value so large that this bound overflows an int64.
	MaxPayloadBytes int64
	// Now returns the time at which keys must be valid; nil means time.Now.
	Now func() time.Time
}

// NewServer returns a Server that uses key, typically from LoadOrGenerateServerKey.
func NewServer(key *PrivateKey, options ServerOptions) (*Server, error) {
	if key == nil {
		return nil, fmt.Errorf("pgp: server key is required")
	}
	if options.MaxPayloadBytes < 0 || options.MaxPayloadBytes > maxPayloadLimit {
		return nil, fmt.Errorf("pgp: MaxPayloadBytes is %d; expected zero (default %d) "+
			"or more, up to %d", options.MaxPayloadBytes, DefaultMaxPayloadBytes, maxPayloadLimit)
	}
	server := &Server{key: key, maxPayload: options.MaxPayloadBytes, now: options.Now}
	if server.maxPayload == 0 {
		server.maxPayload = DefaultMaxPayloadBytes
	}
	if server.now == nil {
		server.now = time.Now
	}
	return server, nil
}

// Fingerprint returns the server key's fingerprint in uppercase hex, to publish next to its
// public key.
func (s *Server) Fingerprint() string { return s.key.Fingerprint() }

// PublicKey returns the server's public key; PublicKey().Armored() is the block to publish.
func (s *Server) PublicKey() *PublicKey { return s.key.PublicKey() }

// Open decrypts an order envelope and verifies that sender's key signed it. sender is the
// customer's public key as sent with the order or as found by the fingerprint the customer
// claims; a signature by any other key is rejected with ErrWrongSigner.
//
// Each rejection wraps one of ErrMalformed, ErrTooLarge, ErrNotEncrypted, ErrWrongRecipient,
// ErrNotSigned, ErrWrongSigner, ErrBadSignature or, for the sender's key, ErrKeyExpired,
// ErrKeyRevoked and ErrWeakKey.
//
// NOTE: Open does not detect an envelope sent twice; the payload should carry a unique order ID
// that the caller records.
func (s *Server) Open(envelope io.Reader, sender *PublicKey) (*Message, error) {
	if sender == nil {
		return nil, fmt.Errorf("opening order: the sender's public key is required")
	}
	return open(context.Background(), envelope, openParams{
		recipient:  s.key,
		signers:    KeyList{sender},
		unknown:    ErrWrongSigner,
		expected:   sender.Fingerprint(),
		maxPayload: s.maxPayload,
		now:        s.now,
	})
}

// OpenFromKeyring decrypts an order envelope and verifies its signature with the key that
// keyring returns for the signature's issuer key ID. A signature by a key the keyring does not
// return is rejected with ErrUnknownSigner; a keyring error is returned wrapped. Other
// rejections are those of Open.
func (s *Server) OpenFromKeyring(
	ctx context.Context, envelope io.Reader, keyring Keyring,
) (*Message, error) {
	if keyring == nil {
		return nil, fmt.Errorf("opening order: a keyring is required")
	}
	return open(ctx, envelope, openParams{
		recipient:  s.key,
		signers:    keyring,
		unknown:    ErrUnknownSigner,
		maxPayload: s.maxPayload,
		now:        s.now,
	})
}

// SealCredentials signs payload with the server's key and encrypts it to the customer's key,
// returning an ASCII-armored OpenPGP message that any OpenPGP tool decrypts.
func (s *Server) SealCredentials(payload []byte, customer *PublicKey) ([]byte, error) {
	return seal(payload, s.key, customer, packetConfig(s.now, 0))
}
