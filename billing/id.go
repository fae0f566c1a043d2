package billing

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns a random identifier with the given prefix, such as "inv_3kq...": 128 random
// bits in lower-case base32, so identifiers can be shown to customers without revealing how
// many others exist.
func NewID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}
