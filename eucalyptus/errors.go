package eucalyptus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/aws/smithy-go"
)

// Sentinel errors. Errors returned by the driver wrap one of these where the cause is known, so
// callers can test for it with errors.Is and still read the detail in the message.
var (
	// ErrMissingEndpoint means neither an endpoint nor a region is configured, so there is no
	// EC2 endpoint to call.
	ErrMissingEndpoint = errors.New("eucalyptus: no EC2 endpoint or region configured")
	// ErrUnreachable means the EC2 endpoint refused or dropped the connection, or did not
	// respond in time.
	ErrUnreachable = errors.New("eucalyptus: cannot reach EC2 endpoint")
	// ErrUntrustedCertificate means the TLS certificate of an HTTPS endpoint failed
	// verification: an authority the driver does not trust, another host name or an expired
	// certificate. Config.CABundlePath adds a private authority.
	ErrUntrustedCertificate = errors.New("eucalyptus: EC2 endpoint certificate not trusted")
	// ErrAuthFailure means the cloud rejected the access key or the request signature.
	ErrAuthFailure = errors.New("eucalyptus: EC2 rejected the credentials")
	// ErrUnknownRegion means the configured region is not one the cloud serves.
	ErrUnknownRegion = errors.New("eucalyptus: unknown region")
	// ErrInvalidSSHKey means the SSH public key of a launch request is not a single public key
	// in authorized_keys format, or the cloud rejected it (AWS imports only RSA and ed25519).
	ErrInvalidSSHKey = errors.New("eucalyptus: invalid SSH public key")
	// ErrKeyPairConflict means a key pair with the lease's name already exists and contains a
	// different public key.
	ErrKeyPairConflict = errors.New("eucalyptus: key pair exists with a different key")
	// ErrInstanceNotFound means the cloud has no instance with the given id.
	ErrInstanceNotFound = errors.New("eucalyptus: instance not found")
	// ErrInstanceFailed means an instance stopped or terminated before it reached running.
	ErrInstanceFailed = errors.New("eucalyptus: instance failed to start")
	// ErrLaunchTimeout means an instance did not reach running within the launch timeout.
	ErrLaunchTimeout = errors.New("eucalyptus: instance not running before the launch timeout")
	// ErrInvalidRequest means a request argument is missing or malformed; nothing was sent.
	ErrInvalidRequest = errors.New("eucalyptus: invalid request")
)

// Error codes that EC2 and Eucalyptus return for rejected credentials or signatures.
var authFailureCodes = map[string]bool{
	"AuthFailure":                 true,
	"InvalidClientTokenId":        true,
	"SignatureDoesNotMatch":       true,
	"InvalidAccessKeyId":          true,
	"UnrecognizedClientException": true,
	"MissingAuthenticationToken":  true,
	"IncompleteSignature":         true,
}

// apiErrorCode returns the EC2 error code carried by err, or "" when err is not an API error.
func apiErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// classify wraps err from an EC2 call with the sentinel that names its cause, when the cause
// is one a caller can act on: an unreachable endpoint, rejected credentials or an unknown
// region. Other errors, and any error of a call whose ctx has ended, are returned wrapped with
// the operation name only.
func (d *Driver) classify(ctx context.Context, operation string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("eucalyptus: %s: %w", operation, err)
	}
	if authFailureCodes[apiErrorCode(err)] {
		// AWS and the emulator return AuthFailure with this message for a signature scoped to a
		// region they do not serve, though the credentials may be fine.
		if strings.Contains(err.Error(), "scoped to a valid region") {
			return fmt.Errorf("%w %q at %s: %w", ErrUnknownRegion, d.region, d.endpointURL, err)
		}
		return fmt.Errorf("%w (access key %s) on %s: %w", ErrAuthFailure, d.accessKeyID,
			operation, err)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound && !d.endpointConfigured {
		return fmt.Errorf("%w %q: the default endpoint %s does not resolve: %w",
			ErrUnknownRegion, d.region, dnsErr.Name, err)
	}
	if isCertificateError(err) {
		return fmt.Errorf("%w: %s on %s; if a private authority signed it, set "+
			"Config.CABundlePath to its PEM file: %w", ErrUntrustedCertificate, d.endpointURL,
			operation, err)
	}
	// Connection errors include an attempt that timed out (Config.RequestTimeout).
	if isConnectionError(err) {
		return fmt.Errorf("%w %s: %s: %w", ErrUnreachable, d.endpointURL, operation, err)
	}
	return fmt.Errorf("eucalyptus: %s: %w", operation, err)
}

// isCertificateError reports whether err comes from verifying the endpoint's TLS certificate,
// which no retry can fix.
func isCertificateError(err error) bool {
	var verifyErr *tls.CertificateVerificationError
	return errors.As(err, &verifyErr)
}

// isConnectionError reports whether err comes from failing to connect to or talk to the
// endpoint, as opposed to an error response from it.
func isConnectionError(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var connErr interface{ ConnectionError() bool }
	return errors.As(err, &connErr) && connErr.ConnectionError()
}
