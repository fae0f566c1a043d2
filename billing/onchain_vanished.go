package billing

import (
	"context"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// startRecord is the on-chain gateway's record since its tracker last started. It holds the
// destinations watched at the start, whose payments the start-up rescan of the mempool and
// of the recent blocks reports again, and the payments reported since.
type startRecord struct {
	mu       sync.Mutex
	watched  map[string]bool
	reported map[wire.OutPoint]bool
}

func (r *startRecord) reset(watched []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watched = make(map[string]bool, len(watched))
	for _, destination := range watched {
		r.watched[destination] = true
	}
	r.reported = make(map[wire.OutPoint]bool)
}

func (r *startRecord) record(outpoint wire.OutPoint) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reported != nil {
		r.reported[outpoint] = true
	}
}

// PaymentVanished reports whether an unconfirmed payment that the gateway reported before
// it started no longer exists: it was replaced, double-spent or dropped while the server was
// down. The tracker's start-up rescan reports again every payment to a destination watched
// from the start that is still in the mempool or in a block since the saved position. Once
// the tracker has caught up, such a payment it did not report is therefore gone. It returns
// ErrGatewayCatchingUp until then, and false when the destination was not watched from the
// start, since the rescan did not look for it.
func (g *OnChainGateway) PaymentVanished(ctx context.Context, destination string,
	payment Payment) (bool, error) {
	synced, err := g.tracker.Synced(ctx)
	if err != nil {
		return false, err
	}
	if !synced {
		return false, ErrGatewayCatchingUp
	}
	hash, err := chainhash.NewHashFromStr(payment.TxID)
	if err != nil {
		return false, fmt.Errorf("invalid transaction id %q: %w", payment.TxID, err)
	}
	outpoint := wire.OutPoint{Hash: *hash, Index: payment.Vout}
	g.started.mu.Lock()
	defer g.started.mu.Unlock()
	if !g.started.watched[destination] {
		return false, nil
	}
	return !g.started.reported[outpoint], nil
}

// destinationNames returns the watched destinations.
func (l *watchList) destinationNames() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, 0, len(l.destinations))
	for destination := range l.destinations {
		names = append(names, destination)
	}
	return names
}
