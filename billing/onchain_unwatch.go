package billing

import (
	"context"
	"sync"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/instars/instars/bitcoin"
)

// unwatchDelay is how long after its monitoring window a destination stays watched. A
// payment's SeenAt can come from its block's timestamp, which need only exceed the median
// timestamp of the previous 11 blocks (typically about an hour earlier). So a block
// processed shortly after the window can still hold a payment that counts.
const unwatchDelay = 2 * time.Hour

// defaultUnwatchInterval is how often the gateway looks for destinations to unwatch.
const defaultUnwatchInterval = time.Minute

// watchedDestination is one destination the tracker watches.
type watchedDestination struct {
	script []byte
	// until is the end of the invoice's monitoring window, from Watch.
	until time.Time
	// following holds the payments to the destination the tracker still follows: seen in
	// the mempool, reorganised, or confirmed below the tracker's depth.
	following map[wire.OutPoint]struct{}
}

// watchList is the gateway's record of the destinations the tracker watches.
type watchList struct {
	mu           sync.Mutex
	destinations map[string]*watchedDestination
}

// add records the destination, or updates its monitoring end when it is already watched.
func (l *watchList) add(destination string, script []byte, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.destinations == nil {
		l.destinations = make(map[string]*watchedDestination)
	}
	if d, ok := l.destinations[destination]; ok {
		d.until = until
		return
	}
	l.destinations[destination] = &watchedDestination{script: script, until: until,
		following: make(map[wire.OutPoint]struct{})}
}

// observe records whether the tracker keeps following the event's payment.
func (l *watchList) observe(event bitcoin.PaymentEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.destinations[event.WatchID]
	if !ok {
		return
	}
	switch {
	case event.Kind == bitcoin.EventMempool, event.Kind == bitcoin.EventReorged,
		event.Kind == bitcoin.EventConfirmed && !event.Final:
		d.following[event.OutPoint] = struct{}{}
	default:
		// Final, replaced, double-spent or dropped: the tracker no longer follows it.
		delete(d.following, event.OutPoint)
	}
}

// takeEnded removes and returns the scripts of the destinations whose monitoring window
// ended more than unwatchDelay before now and whose payments the tracker no longer follows.
func (l *watchList) takeEnded(now time.Time) [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ended [][]byte
	for destination, d := range l.destinations {
		if len(d.following) == 0 && now.After(d.until.Add(unwatchDelay)) {
			ended = append(ended, d.script)
			delete(l.destinations, destination)
		}
	}
	return ended
}

func (l *watchList) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.destinations)
}

// Watching returns the number of destinations the gateway watches.
func (g *OnChainGateway) Watching() int { return g.watches.len() }

// unwatchEnded stops watching the destinations that can no longer receive a payment that
// counts. Their monitoring window ended, and NextInvoiceState ignores payments first seen
// after it; every payment to them is final or gone. It does nothing while the tracker is
// catching up, because a payment in a block it has yet to rescan would then be missed.
// It returns the number of destinations unwatched.
func (g *OnChainGateway) unwatchEnded(ctx context.Context) int {
	synced, err := g.tracker.Synced(ctx)
	if err != nil || !synced {
		return 0
	}
	ended := g.watches.takeEnded(g.now())
	for _, script := range ended {
		g.tracker.Unwatch(script)
	}
	if len(ended) > 0 {
		g.logger.DebugContext(ctx, "unwatched destinations past their monitoring window",
			"count", len(ended), "watching", g.watches.len())
	}
	return len(ended)
}

// runUnwatch calls unwatchEnded every interval until ctx ends.
func (g *OnChainGateway) runUnwatch(ctx context.Context) {
	ticker := time.NewTicker(g.unwatchInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			g.unwatchEnded(ctx)
		}
	}
}
