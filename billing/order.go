package billing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"golang.org/x/crypto/ssh"

	"github.com/instars/instars/metering"
)

// OrderPayload is the JSON a customer signs and encrypts to the server to order an instance
// or extend a lease. For example:
//
//	{
//	  "plan": "small-1d",
//	  "units": 3,
//	  "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... alice@laptop",
//	  "refund_address": "bc1q...",
//	  "nonce": "3q2mUOkFcIhbhA0yXQjbpg",
//	  "created_at": "2026-12-04T15:04:05Z",
//	  "extends_lease": "lease-7f3a"
//	}
//
// units, refund_address and extends_lease are optional, and so is ssh_public_key in an
// order that extends a lease. ParseOrderPayload rejects unknown or repeated fields, so a
// field a newer client adds is never silently ignored.
type OrderPayload struct {
	// Plan is the plan's identifier.
	Plan string `json:"plan"`
	// Units is how many of the plan's billing units the order buys; zero (or absent) means
	// the plan's MinUnits. UnitsFor checks it against the plan.
	Units int64 `json:"units,omitempty"`
	// SSHPublicKey is one line in OpenSSH authorized_keys format. An order that extends a
	// lease may leave it out, because the instance keeps the lease's key.
	SSHPublicKey string `json:"ssh_public_key,omitempty"`
	// RefundAddress is the address on the server's network that refunds and overpayments
	// are sent to.
	RefundAddress string `json:"refund_address,omitempty"`
	// Nonce makes each order unique; the store accepts a nonce once per customer, so a
	// replayed envelope is rejected.
	Nonce string `json:"nonce"`
	// CreatedAt is the time the customer made the order. Orders too old or too far in the
	// future are rejected, so a nonce need not be remembered beyond that window.
	CreatedAt time.Time `json:"created_at"`
	// ExtendsLease, when set, names the lease the order extends instead of starting an
	// instance.
	ExtendsLease string `json:"extends_lease,omitempty"`
}

// Limits of an order payload.
const (
	// MaxOrderPayloadSize bounds the payload; an RSA-16384 SSH key line is under 3 KiB.
	MaxOrderPayloadSize = 16 << 10
	// DefaultOrderMaxAge is how far in the past an order's created_at may be.
	DefaultOrderMaxAge = 10 * time.Minute
	// DefaultOrderMaxSkew is how far in the future created_at may be, for clock skew.
	DefaultOrderMaxSkew = 2 * time.Minute
)

var (
	identifierPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	noncePattern      = regexp.MustCompile(`^[A-Za-z0-9_-]{16,128}$`)
)

// OrderParseOptions holds the values ParseOrderPayload checks a payload against.
type OrderParseOptions struct {
	// Now is the current time, from the caller's clock.
	Now time.Time
	// Network is the network the refund address must belong to.
	Network *chaincfg.Params
	// MaxAge and MaxSkew bound created_at around Now; zero means DefaultOrderMaxAge and
	// DefaultOrderMaxSkew.
	MaxAge  time.Duration
	MaxSkew time.Duration
}

// ErrInvalidOrder is wrapped by every error ParseOrderPayload returns, so callers can tell
// a customer's mistake from a server fault with errors.Is.
var ErrInvalidOrder = errors.New("billing: invalid order")

// ParseOrderPayload decodes and checks an order payload. The payload must be one JSON object
// of at most MaxOrderPayloadSize bytes with no unknown or repeated fields. It must name a
// plan, carry a nonce of 16 to 128 base64url characters, and have a creation time within the
// allowed window. It must carry a valid SSH public key unless it extends a lease, and then a
// key it carries must still be valid. Units, when given, must be positive; whether the plan
// sells that many is checked by UnitsFor. A refund address, when given, must belong to the
// network.
func ParseOrderPayload(data []byte, opts OrderParseOptions) (OrderPayload, error) {
	var p OrderPayload
	if len(data) > MaxOrderPayloadSize {
		return p, fmt.Errorf("%w: payload is %d bytes, expected at most %d",
			ErrInvalidOrder, len(data), MaxOrderPayloadSize)
	}
	if !utf8.Valid(data) {
		return p, fmt.Errorf("%w: payload is not valid UTF-8", ErrInvalidOrder)
	}
	if err := checkObjectKeys(data); err != nil {
		return p, fmt.Errorf("%w: %w", ErrInvalidOrder, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		var timeErr *time.ParseError
		if errors.As(err, &timeErr) {
			return p, fmt.Errorf("%w: invalid created_at %q: expected an RFC 3339 time such "+
				"as 2026-12-04T15:04:05Z", ErrInvalidOrder, timeErr.Value)
		}
		return p, fmt.Errorf("%w: %w", ErrInvalidOrder, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return p, fmt.Errorf("%w: unexpected data after the JSON object", ErrInvalidOrder)
	}
	if err := p.validate(opts); err != nil {
		return OrderPayload{}, fmt.Errorf("%w: %w", ErrInvalidOrder, err)
	}
	return p, nil
}

// orderPayloadFields lists OrderPayload's JSON field names, spelled exactly.
var orderPayloadFields = map[string]bool{"plan": true, "units": true, "ssh_public_key": true,
	"refund_address": true, "nonce": true, "created_at": true, "extends_lease": true}

// checkObjectKeys rejects anything but a JSON object, a key that is not one of the payload's
// fields spelled exactly, and a repeated key. encoding/json matches keys case-insensitively
// (with Unicode folding, so "\u212aey" matches "key") and keeps the last of repeated ones,
// so otherwise {"plan":"a","Plan":"b"} would be read as plan b by the server and as plan a
// by a stricter reader of the signed payload.
func checkObjectKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return errors.New("expected a JSON object")
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("invalid JSON: %w", err)
		}
		key, _ := tok.(string)
		if !orderPayloadFields[key] {
			return fmt.Errorf("unknown field %q: expected plan, units, ssh_public_key, "+
				"refund_address, nonce, created_at or extends_lease", key)
		}
		if seen[key] {
			return fmt.Errorf("field %q appears more than once", key)
		}
		seen[key] = true
		var skipped json.RawMessage
		if err := dec.Decode(&skipped); err != nil {
			return fmt.Errorf("invalid JSON in field %q: %w", key, err)
		}
	}
	return nil
}

func (p *OrderPayload) validate(opts OrderParseOptions) error {
	if !identifierPattern.MatchString(p.Plan) {
		return fmt.Errorf("invalid plan %q: expected 1 to 64 letters, digits, '.', '_' or '-'",
			p.Plan)
	}
	if p.Units < 0 {
		return fmt.Errorf("invalid units %d: expected a positive number of the plan's "+
			"billing units, or none for the plan's minimum", p.Units)
	}
	if p.SSHPublicKey != "" || p.ExtendsLease == "" {
		if err := checkSSHPublicKey(p.SSHPublicKey); err != nil {
			return err
		}
	}
	if p.RefundAddress != "" {
		if err := checkRefundAddress(p.RefundAddress, opts.Network); err != nil {
			return err
		}
	}
	if !noncePattern.MatchString(p.Nonce) {
		return fmt.Errorf("invalid nonce %q: expected 16 to 128 base64url characters", p.Nonce)
	}
	if p.ExtendsLease != "" && !identifierPattern.MatchString(p.ExtendsLease) {
		return fmt.Errorf("invalid extends_lease %q: expected a lease identifier of 1 to 64 "+
			"letters, digits, '.', '_' or '-'", p.ExtendsLease)
	}
	return checkCreatedAt(p.CreatedAt, opts)
}

// UnitsFor returns how many billing units of plan the order buys: Units, or the plan's
// MinUnits when Units is zero. A count outside the plan's MinUnits to MaxUnits returns an
// error wrapping ErrInvalidOrder that names the range.
func (p OrderPayload) UnitsFor(plan metering.Plan) (int64, error) {
	if p.Units == 0 {
		return plan.MinUnits, nil
	}
	if p.Units < plan.MinUnits || p.Units > plan.MaxUnits {
		return 0, fmt.Errorf("%w: invalid units %d for plan %s: expected %d to %d (%s each)",
			ErrInvalidOrder, p.Units, plan.ID, plan.MinUnits, plan.MaxUnits, plan.Unit)
	}
	return p.Units, nil
}

func checkSSHPublicKey(line string) error {
	if line == "" {
		return errors.New("missing ssh_public_key: an order for a new instance needs the " +
			"SSH public key to install on it")
	}
	if strings.ContainsAny(line, "\r\n") {
		return errors.New("invalid ssh_public_key: expected a single line")
	}
	_, _, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return fmt.Errorf("invalid ssh_public_key: %w", err)
	}
	if len(options) > 0 {
		return errors.New("invalid ssh_public_key: authorized_keys options are not allowed")
	}
	if len(rest) > 0 {
		return errors.New("invalid ssh_public_key: expected one key")
	}
	return nil
}

func checkRefundAddress(address string, network *chaincfg.Params) error {
	if network == nil {
		return errors.New("refund_address given but no network configured to check it")
	}
	decoded, err := btcutil.DecodeAddress(address, network)
	if err != nil {
		return fmt.Errorf("invalid refund_address %q: %w", address, err)
	}
	if !decoded.IsForNet(network) {
		return fmt.Errorf("invalid refund_address %q: not a %s address", address, network.Name)
	}
	return nil
}

func checkCreatedAt(created time.Time, opts OrderParseOptions) error {
	if created.IsZero() {
		return errors.New("missing created_at")
	}
	maxAge, maxSkew := opts.MaxAge, opts.MaxSkew
	if maxAge == 0 {
		maxAge = DefaultOrderMaxAge
	}
	if maxSkew == 0 {
		maxSkew = DefaultOrderMaxSkew
	}
	if created.Before(opts.Now.Add(-maxAge)) {
		return fmt.Errorf("created_at %s is more than %s in the past; make a new order",
			created.Format(time.RFC3339), maxAge)
	}
	if created.After(opts.Now.Add(maxSkew)) {
		return fmt.Errorf("created_at %s is more than %s in the future; check the clock",
			created.Format(time.RFC3339), maxSkew)
	}
	return nil
}

// Order is a verified order: the payload a customer signed, and who signed it.
type Order struct {
	// ID is the order's opaque identifier, unique in the store.
	ID string
	// Customer is the fingerprint of the customer's OpenPGP key, in upper-case hex, as
	// the opened envelope reports it. It is the customer's only identity.
	Customer string
	// Payload is the parsed payload and RawPayload the exact bytes that were signed.
	Payload    OrderPayload
	RawPayload []byte
	// ReceivedAt is when the server accepted the order.
	ReceivedAt time.Time
}

var fingerprintPattern = regexp.MustCompile(`^([0-9A-F]{40}|[0-9A-F]{64})$`)

// NewOrder builds a verified order from the signer's fingerprint (v4 keys have 40 hex
// digits, v6 keys 64) and the signed payload, which it parses with opts. The ID is new.
func NewOrder(customer string, payload []byte, opts OrderParseOptions) (*Order, error) {
	customer = strings.ToUpper(customer)
	if !fingerprintPattern.MatchString(customer) {
		return nil, fmt.Errorf("%w: invalid customer fingerprint %q: expected 40 or 64 hex "+
			"digits", ErrInvalidOrder, customer)
	}
	parsed, err := ParseOrderPayload(payload, opts)
	if err != nil {
		return nil, err
	}
	return &Order{
		ID:         NewID("ord"),
		Customer:   customer,
		Payload:    parsed,
		RawPayload: bytes.Clone(payload),
		ReceivedAt: opts.Now,
	}, nil
}
