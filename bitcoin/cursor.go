package bitcoin

import (
	"context"
	"sync"
)

// CursorStore keeps the last block the Tracker processed, so that it resumes there after a
// restart. Save is called after every processed block, once the events for that block have
// been handled.
type CursorStore interface {
	// LoadCursor returns the saved block, or found false if none was saved yet.
	LoadCursor(ctx context.Context) (cursor BlockID, found bool, err error)
	// SaveCursor replaces the saved block.
	SaveCursor(ctx context.Context, cursor BlockID) error
}

// MemoryCursorStore is a CursorStore in memory, for tests and for programs that rescan from
// the chain tip at every start. The zero value is ready to use.
type MemoryCursorStore struct {
	mu     sync.Mutex
	cursor BlockID
	found  bool
}

// LoadCursor returns the last saved block.
func (m *MemoryCursorStore) LoadCursor(context.Context) (BlockID, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cursor, m.found, nil
}

// SaveCursor stores the block.
func (m *MemoryCursorStore) SaveCursor(_ context.Context, cursor BlockID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cursor, m.found = cursor, true
	return nil
}
