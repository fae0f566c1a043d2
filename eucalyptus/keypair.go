package eucalyptus

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"golang.org/x/crypto/ssh"
)

// KeyPairName returns the name of the EC2 key pair that contains a lease's SSH key.
func KeyPairName(leaseID string) string { return "instars-" + leaseID }

// keyRejectedCodes are the ImportKeyPair error codes for key material the cloud does not
// accept, such as a key type it does not support (AWS imports only RSA and ed25519 keys) or an
// RSA key size outside its range. The key name is valid by construction, so an invalid
// parameter can only be the key.
var keyRejectedCodes = map[string]bool{
	"InvalidKey.Format":     true,
	"InvalidKeyPair.Format": true,
	"InvalidParameterValue": true,
}

// importKeyPair imports key as the lease's key pair. A key pair of that name that already
// contains the same key counts as success, which makes the call safe to repeat and to retry after
// a lost response. One that contains a different key is an ErrKeyPairConflict.
func (d *Driver) importKeyPair(ctx context.Context, leaseID string, key ssh.PublicKey) error {
	name := KeyPairName(leaseID)
	_, err := d.client.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{
		KeyName:           aws.String(name),
		PublicKeyMaterial: authorizedKeyLine(key),
	})
	if err == nil {
		d.logger.InfoContext(ctx, "imported key pair", "key_name", name, "lease", leaseID,
			"fingerprint", ssh.FingerprintSHA256(key))
		return nil
	}
	code := apiErrorCode(err)
	if keyRejectedCodes[code] {
		return fmt.Errorf("%w: the cloud rejected the %s key %s: %w", ErrInvalidSSHKey,
			key.Type(), ssh.FingerprintSHA256(key), err)
	}
	if code != "InvalidKeyPair.Duplicate" {
		return d.classify(ctx, "ImportKeyPair "+name, err)
	}
	same, err := d.keyPairHolds(ctx, name, key)
	if err != nil {
		return err
	}
	if !same {
		return fmt.Errorf("%w: key pair %s already exists and does not hold the key %s; "+
			"delete it or launch under another lease", ErrKeyPairConflict, name,
			ssh.FingerprintSHA256(key))
	}
	return nil
}

// keyPairHolds reports whether the key pair name contains key, by its public key when the cloud
// returns it and otherwise by its fingerprint.
func (d *Driver) keyPairHolds(ctx context.Context, name string, key ssh.PublicKey) (bool, error) {
	out, err := d.client.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
		KeyNames:         []string{name},
		IncludePublicKey: aws.Bool(true),
	})
	if code := apiErrorCode(err); code != "" && !authFailureCodes[code] {
		// A cloud that does not know the newer IncludePublicKey parameter may reject it, and
		// the fingerprint is enough to compare.
		// NOTE: no test covers this path because the emulator accepts the parameter.
		d.logger.InfoContext(ctx, "DescribeKeyPairs with IncludePublicKey failed; retrying "+
			"without it", "key_name", name, "error_code", code)
		out, err = d.client.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
			KeyNames: []string{name},
		})
	}
	if err != nil {
		return false, d.classify(ctx, "DescribeKeyPairs "+name, err)
	}
	if len(out.KeyPairs) != 1 {
		return false, fmt.Errorf("eucalyptus: DescribeKeyPairs %s returned %d key pairs after "+
			"ImportKeyPair reported a duplicate; expected 1", name, len(out.KeyPairs))
	}
	pair := out.KeyPairs[0]
	if stored := aws.ToString(pair.PublicKey); stored != "" {
		storedKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(stored))
		if err == nil {
			return bytes.Equal(storedKey.Marshal(), key.Marshal()), nil
		}
	}
	return fingerprintMatches(aws.ToString(pair.KeyFingerprint), key), nil
}

// fingerprintMatches compares an EC2 key pair fingerprint with key. For an imported RSA key,
// AWS documents an MD5 fingerprint computed over the DER public key (openssl md5 -c). Other
// clouds may use the MD5 of the SSH wire form (RFC 4716), so both are accepted. For ed25519,
// AWS gives the base64 SHA-256 fingerprint, compared with or without the "SHA256:" prefix and
// the base64 padding.
func fingerprintMatches(fingerprint string, key ssh.PublicKey) bool {
	fingerprint = strings.TrimSpace(fingerprint)
	if fingerprint == "" {
		return false
	}
	if strings.EqualFold(fingerprint, ssh.FingerprintLegacyMD5(key)) {
		return true
	}
	if der, ok := publicKeyDER(key); ok {
		sum := md5.Sum(der)
		if strings.EqualFold(strings.ReplaceAll(fingerprint, ":", ""), hex.EncodeToString(sum[:])) {
			return true
		}
	}
	normalize := func(s string) string {
		return strings.TrimRight(strings.TrimPrefix(s, "SHA256:"), "=")
	}
	return normalize(fingerprint) == normalize(ssh.FingerprintSHA256(key))
}

// publicKeyDER returns the DER SubjectPublicKeyInfo of an RSA key.
func publicKeyDER(key ssh.PublicKey) ([]byte, bool) {
	cryptoKey, ok := key.(ssh.CryptoPublicKey)
	if !ok || key.Type() != ssh.KeyAlgoRSA {
		return nil, false
	}
	der, err := x509.MarshalPKIXPublicKey(cryptoKey.CryptoPublicKey())
	return der, err == nil
}

// DeleteKeyPair deletes the lease's key pair. A key pair that does not exist counts as
// deleted, so the call can be repeated.
func (d *Driver) DeleteKeyPair(ctx context.Context, leaseID string) error {
	if err := validateLeaseID(leaseID); err != nil {
		return err
	}
	name := KeyPairName(leaseID)
	_, err := d.client.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String(name)})
	if err != nil && apiErrorCode(err) != "InvalidKeyPair.NotFound" {
		return d.classify(ctx, "DeleteKeyPair "+name, err)
	}
	d.logger.InfoContext(ctx, "deleted key pair", "key_name", name, "lease", leaseID)
	return nil
}
