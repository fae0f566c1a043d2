package billing

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
)

// indexAddress is a fake address that encodes its derivation index, so a test can tell
// which index an address came from.
type indexAddress struct {
	btcutil.Address
	index uint32
}

func (a indexAddress) EncodeAddress() string { return fmt.Sprintf("index-%d", a.index) }

func TestAddressLookahead(t *testing.T) {
	var derivations atomic.Int64
	lookahead := newAddressLookahead(func(index uint32) (btcutil.Address, error) {
		derivations.Add(1)
		if index == 7 {
			return nil, fmt.Errorf("no valid key at index %d", index)
		}
		return indexAddress{index: index}, nil
	})
	check := func(index uint32) {
		t.Helper()
		address, err := lookahead.address(index)
		if index == 7 {
			if err == nil {
				t.Errorf("index 7: got no error")
			}
			return
		}
		if err != nil {
			t.Fatalf("index %d: %v", index, err)
		}
		if got := address.EncodeAddress(); got != fmt.Sprintf("index-%d", index) {
			t.Errorf("index %d: address %s", index, got)
		}
	}
	for index := uint32(0); index < 500; index++ {
		check(index)
	}
	check(499) // given out again after a rollback
	check(10_000)
	check(3)

	var wg sync.WaitGroup
	var next atomic.Uint32
	next.Store(20_000)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				check(next.Add(1))
			}
		}()
	}
	wg.Wait()
	lookahead.mu.Lock()
	held := len(lookahead.ready)
	lookahead.mu.Unlock()
	if held > 2*lookaheadSize {
		t.Errorf("lookahead holds %d addresses, want at most %d", held, 2*lookaheadSize)
	}
}
