package billing

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

// idEncoding is base32 with the digits first, so that identifiers sort as their bytes do.
var idEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// NewID returns an identifier with the given prefix, such as "inv_06f...": the creation
// time in milliseconds (48 bits) followed by 80 random bits, in lower-case base32. The
// random part keeps identifiers unguessable, so they can be shown to customers without
// revealing how many others exist. The time in front makes identifiers made one after
// another sort together. The database then adds each new row next to the last one instead
// of at a random place in its index, so a shared commit of many invoices writes few pages.
func NewID(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}
