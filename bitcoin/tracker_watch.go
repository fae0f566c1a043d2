package bitcoin

import (
	"crypto/sha256"
	"errors"
	"sync"
)

// maxInlineScript is the longest script a scriptKey stores byte for byte: every standard
// address script (P2PKH 25, P2SH 23, P2WPKH 22, P2WSH and P2TR 34 bytes) fits.
const maxInlineScript = 34

// hashedScriptMarker in a scriptKey's length byte marks a longer script, stored as its
// SHA-256 hash.
const hashedScriptMarker = 0xff

// scriptKey is a fixed-size map key for an output script: its length followed by the script
// itself, or, for scripts longer than maxInlineScript, the marker and the script's SHA-256.
// A fixed-size key keeps the watch set at one map entry per script with no pointer for the
// garbage collector to follow.
type scriptKey [1 + maxInlineScript]byte

func keyOfScript(script []byte) scriptKey {
	var key scriptKey
	if len(script) <= maxInlineScript {
		key[0] = byte(len(script))
		copy(key[1:], script)
		return key
	}
	key[0] = hashedScriptMarker
	sum := sha256.Sum256(script)
	copy(key[1:], sum[:])
	return key
}

// watchSet maps watched output scripts to the caller's identifiers.
type watchSet struct {
	mu  sync.RWMutex
	ids map[scriptKey]string
}

func newWatchSet() *watchSet {
	return &watchSet{ids: make(map[scriptKey]string)}
}

var errEmptyScript = errors.New("bitcoin: watch: empty output script: expected the " +
	"script of an address")

func (w *watchSet) add(script []byte, id string) error {
	if len(script) == 0 {
		return errEmptyScript
	}
	key := keyOfScript(script)
	w.mu.Lock()
	w.ids[key] = id
	w.mu.Unlock()
	return nil
}

func (w *watchSet) remove(script []byte) {
	key := keyOfScript(script)
	w.mu.Lock()
	delete(w.ids, key)
	w.mu.Unlock()
}

func (w *watchSet) len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.ids)
}

// lookupLocked returns the identifier watching script; the caller holds mu for reading.
func (w *watchSet) lookupLocked(script []byte) (string, bool) {
	id, ok := w.ids[keyOfScript(script)]
	return id, ok
}
