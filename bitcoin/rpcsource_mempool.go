package bitcoin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

var _ MempoolEntryTimer = (*RPCSource)(nil)

// mempoolListingReuse is how long one verbose mempool listing serves entry-time lookups of
// the transactions it contains. A mempool scan looks up each new payment in turn, so one
// listing serves all of them.
const mempoolListingReuse = time.Minute

// mempoolListing is the entry time of each transaction in the last verbose mempool listing.
type mempoolListing struct {
	mu sync.Mutex
	// read is when the listing was read, by the local clock.
	read time.Time
	// entered maps each txid to its entry time in Unix seconds.
	entered map[chainhash.Hash]int64
}

// MempoolEntryTime returns when the node accepted a transaction into its mempool, to the
// second. It calls getmempoolentry, whose result has the time the transaction entered the
// pool in Unix seconds (Bitcoin Core's documented result, 0.16 to 27.0). btcd v0.24.2
// rejects that call as unimplemented, so the source then reads the mempool with verbose
// getrawmempool, whose entries carry the same time, and keeps doing so.
//
// NOTE: on btcd each listing holds the whole mempool (tens of megabytes for a full mainnet
// one), so it is reused for a minute and kept, about 60 bytes per transaction (an estimate),
// until the next lookup.
func (s *RPCSource) MempoolEntryTime(ctx context.Context, txid chainhash.Hash) (time.Time,
	error) {

	if !s.noMempoolEntry.Load() {
		entered, err := s.mempoolEntry(ctx, txid)
		if !unimplemented(err) {
			return entered, err
		}
		s.noMempoolEntry.Store(true)
		s.cfg.Logger.DebugContext(ctx, "bitcoin rpc source: node lacks getmempoolentry; "+
			"reading entry times with getrawmempool", "node", s.cfg.Host, "error", err)
	}
	return s.listedEntryTime(ctx, txid)
}

func (s *RPCSource) mempoolEntry(ctx context.Context, txid chainhash.Hash) (time.Time,
	error) {

	var entry struct {
		Time int64 `json:"time"`
	}
	err := s.rpc.call(ctx, "getmempoolentry", &entry, txid.String())
	if code, ok := rpcErrorCode(err); ok && code == btcjson.ErrRPCInvalidAddressOrKey {
		// Bitcoin Core's error for a transaction that is not in the mempool.
		return time.Time{}, fmt.Errorf("mempool entry %s: %w", txid, ErrNotFound)
	}
	if err != nil {
		return time.Time{}, s.wrap("getmempoolentry", err)
	}
	if entry.Time <= 0 {
		return time.Time{}, fmt.Errorf("bitcoin: node RPC at %s: getmempoolentry %s "+
			"returned no time", s.cfg.Host, txid)
	}
	return time.Unix(entry.Time, 0), nil
}

// listedEntryTime looks txid up in a verbose mempool listing, read again unless the last one
// is recent and holds txid.
func (s *RPCSource) listedEntryTime(ctx context.Context, txid chainhash.Hash) (time.Time,
	error) {

	listing := &s.mempoolListing
	listing.mu.Lock()
	defer listing.mu.Unlock()
	entered, ok := listing.entered[txid]
	if ok && time.Since(listing.read) < mempoolListingReuse {
		return time.Unix(entered, 0), nil
	}
	listing.entered = nil
	var verbose map[string]struct {
		Time int64 `json:"time"`
	}
	if err := s.rpc.call(ctx, "getrawmempool", &verbose, true); err != nil {
		return time.Time{}, s.wrap("getrawmempool", err)
	}
	read := make(map[chainhash.Hash]int64, len(verbose))
	for hexID, entry := range verbose {
		id, err := chainhash.NewHashFromStr(hexID)
		if err != nil {
			return time.Time{}, fmt.Errorf("bitcoin: node RPC at %s: getrawmempool "+
				"returned %q: %w", s.cfg.Host, hexID, err)
		}
		read[*id] = entry.Time
	}
	listing.entered, listing.read = read, time.Now()
	seconds, ok := read[txid]
	if !ok {
		return time.Time{}, fmt.Errorf("mempool entry %s: %w", txid, ErrNotFound)
	}
	if seconds <= 0 {
		return time.Time{}, fmt.Errorf("bitcoin: node RPC at %s: getrawmempool gave %s no "+
			"time", s.cfg.Host, txid)
	}
	return time.Unix(seconds, 0), nil
}

// unimplemented reports whether err is the node's error for a method it lacks: JSON-RPC's
// "method not found", or btcd's "Command unimplemented" for a method it recognises but does
// not implement.
func unimplemented(err error) bool {
	var rpcErr *btcjson.RPCError
	if !errors.As(err, &rpcErr) {
		return false
	}
	return rpcErr.Code == btcjson.ErrRPCMethodNotFound.Code ||
		(rpcErr.Code == btcjson.ErrRPCUnimplemented &&
			strings.Contains(strings.ToLower(rpcErr.Message), "unimplemented"))
}
