package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"
)

// offsetClock is the wall clock moved forward by an offset that only grows. Dev mode's
// fast-forward adds to the offset, and the offset is kept in a file so that a restart does
// not move time backwards for the leases already metered.
type offsetClock struct {
	mu    sync.Mutex
	by    time.Duration
	path  string
	nowFn func() time.Time
}

func loadOffsetClock(path string) (*offsetClock, error) {
	c := &offsetClock{path: path, nowFn: time.Now}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c, nil
	case err != nil:
		return nil, err
	}
	by, err := time.ParseDuration(strings.TrimSpace(string(data)))
	if err != nil || by < 0 {
		return nil, fmt.Errorf("%s: invalid clock offset %q: expected a duration such as 2h0m0s",
			path, strings.TrimSpace(string(data)))
	}
	c.by = by
	return c, nil
}

// Now returns the wall clock's time plus the offset.
func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowFn().Add(c.by)
}

func (c *offsetClock) offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.by
}

// advance adds d to the offset and stores it before it takes effect.
func (c *offsetClock) advance(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("invalid advance %s: expected a positive duration", d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.by + d
	if c.path != "" {
		if err := os.WriteFile(c.path, []byte(next.String()+"\n"), 0o600); err != nil {
			return fmt.Errorf("storing the clock offset: %w", err)
		}
	}
	c.by = next
	return nil
}
