package bitcoin

import (
	"crypto/sha256"
	"errors"
	"hash/maphash"
	"math/bits"
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
// A fixed-size key keeps the watch set at one map entry per script.
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

const (
	// filterBitsPerScript sizes the prefilter: with two bits set per script, 16 bits per
	// script let about one unwatched output in 70 through to the map.
	filterBitsPerScript = 16
	// minFilterScripts is the smallest number of scripts the prefilter is sized for.
	minFilterScripts = 4096
)

// watchSet maps watched output scripts to the caller's identifiers.
//
// A bit-array prefilter sits in front of the map, because most outputs of a block pay
// unwatched scripts. The filter takes 2 bytes per script (about 2 MB for a million) and
// rules those outputs out from the processor cache. Without it, a lookup in a map of a
// million entries misses the cache for nearly every output, and the cost of a block grows
// with the watch set.
type watchSet struct {
	mu   sync.RWMutex
	ids  map[scriptKey]string
	seed maphash.Seed
	// filter has two bits set for each watched key; a key with either bit clear is not in
	// ids. Bits of removed keys stay set until the filter is rebuilt.
	filter []uint64
	// capacity is the number of scripts the filter is sized for.
	capacity int
	// removed counts removals since the filter was last rebuilt.
	removed int
}

func newWatchSet() *watchSet {
	w := &watchSet{ids: make(map[scriptKey]string), seed: maphash.MakeSeed()}
	w.rebuildLocked(minFilterScripts)
	return w
}

var errEmptyScript = errors.New("bitcoin: watch: empty output script: expected the " +
	"script of an address")

func (w *watchSet) add(script []byte, id string) error {
	if len(script) == 0 {
		return errEmptyScript
	}
	key := keyOfScript(script)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ids[key] = id
	if len(w.ids) > w.capacity {
		w.rebuildLocked(2 * len(w.ids))
		return nil
	}
	w.setBits(w.hash(&key))
	return nil
}

func (w *watchSet) remove(script []byte) {
	key := keyOfScript(script)
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.ids[key]; !ok {
		return
	}
	delete(w.ids, key)
	w.removed++
	// Stale bits only let more unwatched outputs through to the map; clear them once
	// they could outnumber the live ones.
	if w.removed > minFilterScripts && w.removed > len(w.ids) {
		w.rebuildLocked(max(2*len(w.ids), minFilterScripts))
	}
}

func (w *watchSet) len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.ids)
}

// lookupLocked returns the identifier watching script; the caller holds mu for reading.
func (w *watchSet) lookupLocked(script []byte) (string, bool) {
	key := keyOfScript(script)
	if !w.mayContain(w.hash(&key)) {
		return "", false
	}
	id, ok := w.ids[key]
	return id, ok
}

// rebuildLocked sizes the filter for scripts entries, rounded up to a power of two, and sets
// the bits of every watched key.
func (w *watchSet) rebuildLocked(scripts int) {
	words := 1 << bits.Len(uint(scripts*filterBitsPerScript/64-1))
	w.filter = make([]uint64, words)
	w.capacity = words * 64 / filterBitsPerScript
	w.removed = 0
	for key := range w.ids {
		w.setBits(w.hash(&key))
	}
}

func (w *watchSet) hash(key *scriptKey) uint64 {
	return maphash.Bytes(w.seed, key[:])
}

// bitPositions derives the key's two filter bits from the two halves of its hash.
func (w *watchSet) bitPositions(hash uint64) (uint64, uint64) {
	mask := uint64(len(w.filter)*64 - 1)
	return hash & mask, (hash >> 32) & mask
}

func (w *watchSet) setBits(hash uint64) {
	first, second := w.bitPositions(hash)
	w.filter[first/64] |= 1 << (first % 64)
	w.filter[second/64] |= 1 << (second % 64)
}

func (w *watchSet) mayContain(hash uint64) bool {
	first, second := w.bitPositions(hash)
	return w.filter[first/64]&(1<<(first%64)) != 0 && w.filter[second/64]&(1<<(second%64)) != 0
}
