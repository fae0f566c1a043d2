package metering

import (
	"context"
	"sync"
	"time"
)

// Clock returns the current time. Lease methods take instants as arguments, and callers
// obtain them from a Clock, so tests can move time instead of sleeping.
type Clock interface {
	Now() time.Time
}

// TimerClock is a Clock that can also wait, for a scheduler that sleeps until a lease's
// next change.
type TimerClock interface {
	Clock
	// After returns a channel that receives the clock's time once d has passed on it.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the system clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// FakeClock is a TimerClock for tests whose time moves only when Set or Advance is called.
// It is safe for concurrent use. The zero value reads the zero time.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []fakeTimer
	changed chan struct{} // closed and replaced whenever timers changes
}

type fakeTimer struct {
	deadline time.Time
	ch       chan time.Time
}

// NewFakeClock returns a FakeClock that reads start until it is moved.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start, changed: make(chan struct{})}
}

// Now returns the clock's current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the clock's time once the clock reaches now plus d.
// A d of zero or less fires at once.
func (c *FakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{deadline: c.now.Add(d), ch: ch})
	c.notify()
	return ch
}

// Advance moves the clock forward by d and fires the timers that are due.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

// Set moves the clock to t, forward or back, and fires the timers that are due at t.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(t)
}

func (c *FakeClock) setLocked(t time.Time) {
	c.now = t
	pending := c.timers[:0]
	fired := false
	for _, timer := range c.timers {
		if timer.deadline.After(t) {
			pending = append(pending, timer)
			continue
		}
		timer.ch <- t
		fired = true
	}
	clear(c.timers[len(pending):])
	c.timers = pending
	if fired {
		c.notify()
	}
}

// Waiters returns the number of After channels that have not fired yet.
func (c *FakeClock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// AwaitWaiters blocks until at least n After channels are waiting, so a test can advance
// the clock only once the code under test sleeps on it. It returns ctx's error if ctx ends
// first.
func (c *FakeClock) AwaitWaiters(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		count, changed := len(c.timers), c.changedLocked()
		c.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notify wakes every AwaitWaiters call. The caller holds c.mu.
func (c *FakeClock) notify() {
	if c.changed != nil {
		close(c.changed)
	}
	c.changed = make(chan struct{})
}

// changedLocked returns the channel that notify closes next, creating it for a zero
// FakeClock. The caller holds c.mu.
func (c *FakeClock) changedLocked() chan struct{} {
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}
