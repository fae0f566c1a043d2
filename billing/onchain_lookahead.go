package billing

import (
	"sync"

	"github.com/btcsuite/btcd/btcutil"
)

// lookaheadSize is how many addresses past the last one given out are derived in advance.
const lookaheadSize = 64

// addressLookahead derives the addresses after the last index given out in a background
// goroutine, so that an invoice's transaction, which holds the store's write lock on
// SQLite, does not wait for an elliptic-curve derivation. Indexes are allocated in order,
// so the next ones are known in advance. An index not derived yet (the first, or one given
// out again after a rollback) is derived on the spot.
type addressLookahead struct {
	derive func(index uint32) (btcutil.Address, error)

	mu      sync.Mutex
	ready   map[uint32]btcutil.Address
	next    uint32 // the first index the background derivation has not reached
	asked   uint32 // the highest index asked for
	running bool
}

func newAddressLookahead(derive func(uint32) (btcutil.Address, error)) *addressLookahead {
	return &addressLookahead{derive: derive, ready: make(map[uint32]btcutil.Address)}
}

// address returns the address at index and starts deriving the ones after it.
func (l *addressLookahead) address(index uint32) (btcutil.Address, error) {
	l.mu.Lock()
	address, ok := l.ready[index]
	delete(l.ready, index)
	l.asked = max(l.asked, index)
	if index >= l.next || index+lookaheadSize < l.next {
		// Out of the derived window: restart it after this index.
		clear(l.ready)
		l.next = index + 1
	}
	if !l.running && l.next < index+lookaheadSize/2 {
		l.running = true
		go l.fill(index + lookaheadSize)
	}
	l.mu.Unlock()
	if ok {
		return address, nil
	}
	return l.derive(index)
}

// fill derives addresses from l.next up to end, then stops.
func (l *addressLookahead) fill(end uint32) {
	for {
		l.mu.Lock()
		index := l.next
		if index >= end || index >= 1<<31 {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.next++
		l.mu.Unlock()

		address, err := l.derive(index)
		if err != nil {
			// The index is derived again, and its error returned, when it is asked for.
			continue
		}
		l.mu.Lock()
		if index > l.asked {
			// An index asked for meanwhile was derived on the spot; keeping it would
			// only hold memory.
			l.ready[index] = address
		}
		l.mu.Unlock()
	}
}
