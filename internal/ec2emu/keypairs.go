package ec2emu

import (
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxKeyNameLength is EC2's limit on key pair names.
const maxKeyNameLength = 255

func (s *Server) importKeyPair(p params, now time.Time) (any, *apiError) {
	name := p.get("KeyName")
	if name == "" {
		return nil, missingParameter("KeyName")
	}
	if len(name) > maxKeyNameLength {
		return nil, invalidParameter("Value for parameter KeyName is longer than %d characters",
			maxKeyNameLength)
	}

	material := p.get("PublicKeyMaterial")
	if material == "" {
		return nil, missingParameter("PublicKeyMaterial")
	}
	keyType, fingerprint, normalized, apiErr := parseImportedKey(material)
	if apiErr != nil {
		return nil, apiErr
	}

	tags, apiErr := p.tagSpecifications("key-pair")
	if apiErr != nil {
		return nil, apiErr
	}
	if apiErr := validateTags(tags, nil); apiErr != nil {
		return nil, apiErr
	}

	if s.keyPairByName(name) != nil {
		return nil, badRequest("InvalidKeyPair.Duplicate", "The keypair '%s' already exists.",
			name)
	}
	k := &KeyPair{
		ID:          "key-" + randomHex(17),
		Name:        name,
		Fingerprint: fingerprint,
		Type:        keyType,
		PublicKey:   normalized,
		CreateTime:  now,
		Tags:        tagMap(tags),
	}
	s.st.KeyPairs = append(s.st.KeyPairs, k)
	return &importKeyPairResponse{
		KeyName:        k.Name,
		KeyFingerprint: k.Fingerprint,
		KeyPairID:      k.ID,
		Tags:           tagItems(k.Tags),
	}, nil
}

// parseImportedKey decodes PublicKeyMaterial, the base64 of an OpenSSH public key line, and
// returns the key type ("rsa" or "ed25519"), its fingerprint as EC2 computes it for imported
// keys, and the key line without its comment.
//
// EC2 fingerprints an imported RSA key with the colon-separated MD5 of the DER-encoded
// SubjectPublicKeyInfo, which `openssl pkey -pubin -outform DER | openssl md5 -c` prints. It
// fingerprints an Ed25519 key with the base64 SHA-256 of the SSH wire encoding, as OpenSSH 6.8
// and later print it, but with padding and without the "SHA256:" prefix.
func parseImportedKey(material string) (keyType, fingerprint, line string, apiErr *apiError) {
	invalid := badRequest("InvalidKey.Format",
		"Key is not in valid OpenSSH public key format")
	raw, err := base64.StdEncoding.DecodeString(material)
	if err != nil {
		// The AWS command line sends the file contents base64-encoded; some clients send the
		// key line itself.
		raw = []byte(material)
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey(raw)
	if err != nil {
		return "", "", "", invalid
	}
	line = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	switch key.Type() {
	case ssh.KeyAlgoRSA:
		rsaKey, ok := key.(ssh.CryptoPublicKey).CryptoPublicKey().(*rsa.PublicKey)
		if !ok {
			return "", "", "", invalid
		}
		if bits := rsaKey.N.BitLen(); bits < 1024 || bits > 4096 {
			return "", "", "", invalidParameter("RSA key length %d is not supported; "+
				"expected 1024 to 4096 bits", bits)
		}
		der, err := x509.MarshalPKIXPublicKey(rsaKey)
		if err != nil {
			return "", "", "", invalid
		}
		sum := md5.Sum(der)
		return "rsa", colonHex(sum[:]), line, nil
	case ssh.KeyAlgoED25519:
		sum := sha256.Sum256(key.Marshal())
		return "ed25519", base64.StdEncoding.EncodeToString(sum[:]), line, nil
	default:
		return "", "", "", badRequest("InvalidKey.Format",
			"Key type %s is not supported; expected ssh-rsa or ssh-ed25519", key.Type())
	}
}

func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	parts := make([]string, 0, len(b))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func (s *Server) keyPairByName(name string) *KeyPair {
	for _, k := range s.st.KeyPairs {
		if k.Name == name {
			return k
		}
	}
	return nil
}

func (s *Server) keyPairByID(id string) *KeyPair {
	for _, k := range s.st.KeyPairs {
		if k.ID == id {
			return k
		}
	}
	return nil
}

func (s *Server) describeKeyPairs(p params, now time.Time) (any, *apiError) {
	names := p.list("KeyName")
	ids := p.list("KeyPairId")
	filters := p.filters()
	for _, f := range filters {
		known := strings.HasPrefix(f.Name, "tag:") || slices.Contains([]string{
			"key-name", "key-pair-id", "fingerprint", "key-type", "tag-key", "tag-value",
		}, f.Name)
		if !known {
			return nil, invalidParameter("The filter '%s' is invalid", f.Name)
		}
	}
	for _, name := range names {
		if s.keyPairByName(name) == nil {
			return nil, badRequest("InvalidKeyPair.NotFound", "The key pair '%s' does not exist",
				name)
		}
	}
	for _, id := range ids {
		if s.keyPairByID(id) == nil {
			return nil, badRequest("InvalidKeyPair.NotFound",
				"The key pair ID '%s' does not exist", id)
		}
	}
	withPublicKey := p.get("IncludePublicKey") == "true"
	resp := &describeKeyPairsResponse{}
	for _, k := range s.st.KeyPairs {
		if len(names) > 0 && !slices.Contains(names, k.Name) {
			continue
		}
		if len(ids) > 0 && !slices.Contains(ids, k.ID) {
			continue
		}
		if !matchKeyPair(k, filters) {
			continue
		}
		item := keyPairXML{
			KeyPairID:      k.ID,
			KeyName:        k.Name,
			KeyFingerprint: k.Fingerprint,
			KeyType:        k.Type,
			Tags:           tagItems(k.Tags),
			CreateTime:     xmlTime(k.CreateTime),
		}
		if withPublicKey {
			item.PublicKey = k.PublicKey
		}
		resp.KeyPairs = append(resp.KeyPairs, item)
	}
	return resp, nil
}

func matchKeyPair(k *KeyPair, filters []filter) bool {
	for _, f := range filters {
		if matched, ok := matchTagFilter(f, k.Tags); ok {
			if !matched {
				return false
			}
			continue
		}
		field := map[string]string{
			"key-name": k.Name, "key-pair-id": k.ID, "fingerprint": k.Fingerprint,
			"key-type": k.Type,
		}[f.Name]
		if !slices.ContainsFunc(f.Values, func(v string) bool { return matchGlob(v, field) }) {
			return false
		}
	}
	return true
}

// deleteKeyPair deletes by KeyName or KeyPairId. Deleting a name that does not exist succeeds,
// as on EC2, so a retried delete is harmless; an unknown KeyPairId is an error.
func (s *Server) deleteKeyPair(p params, _ time.Time) (any, *apiError) {
	name, id := p.get("KeyName"), p.get("KeyPairId")
	if name == "" && id == "" {
		return nil, missingParameter("KeyName or KeyPairId")
	}
	var target *KeyPair
	if id != "" {
		if target = s.keyPairByID(id); target == nil {
			return nil, badRequest("InvalidKeyPair.NotFound",
				"The key pair ID '%s' does not exist", id)
		}
		if name != "" && target.Name != name {
			return nil, invalidParameter("KeyPairId %s does not belong to the key pair %s",
				id, name)
		}
	} else {
		target = s.keyPairByName(name)
	}
	resp := &deleteKeyPairResponse{Return: true}
	if target != nil {
		resp.KeyPairID = target.ID
		s.st.KeyPairs = slices.DeleteFunc(s.st.KeyPairs, func(k *KeyPair) bool {
			return k == target
		})
	}
	return resp, nil
}

// Fingerprint returns the fingerprint EC2 gives an imported SSH public key (an
// authorized_keys line), for tests that check what a client stored.
func Fingerprint(authorizedKey string) (string, error) {
	_, fingerprint, _, apiErr := parseImportedKey(authorizedKey)
	if apiErr != nil {
		return "", fmt.Errorf("ec2emu: %s", apiErr.Message)
	}
	return fingerprint, nil
}
