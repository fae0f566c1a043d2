package bitcoin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// EsploraConfig configures an EsploraSource.
type EsploraConfig struct {
	// BaseURL is the API root, such as https://esplora.example/api. Required.
	BaseURL string
	// PollInterval is how often the tip and the mempool are read. Default 5 s.
	PollInterval time.Duration
	// Client sends the requests. Default: a client with a 30 s timeout.
	Client *http.Client
	// Logger receives connection losses and recoveries. Default slog.Default().
	Logger *slog.Logger
}

// EsploraSource is a ChainSource that reads an Esplora HTTP API (the block explorer API of
// Blockstream's esplora and of mempool.space). Esplora pushes nothing over plain HTTP, so
// Subscribe polls the tip and the mempool every PollInterval.
//
// NOTE: every new mempool transaction costs one request. Against a public server with a busy
// mainnet mempool this source is therefore slow and may be rate-limited, so run your own.
//
// EsploraSource does not implement MempoolEntryTimer: Esplora's transaction status holds
// only whether, and in which block, the transaction is confirmed. A payment the tracker
// finds unconfirmed at its start is therefore dated when it is handled, however long it
// waited in the mempool while the tracker was down.
type EsploraSource struct {
	cfg  EsploraConfig
	base string
}

// NewEsploraSource returns a source for the API at cfg.BaseURL. It makes no request.
func NewEsploraSource(cfg EsploraConfig) (*EsploraSource, error) {
	parsed, err := url.Parse(cfg.BaseURL)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return nil, fmt.Errorf("bitcoin: esplora: BaseURL %q is invalid: expected an http or "+
			"https URL such as https://esplora.example/api", cfg.BaseURL)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &EsploraSource{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/")}, nil
}

// get returns the body of a successful GET of path, or ErrNotFound for a 404.
func (s *EsploraSource) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("bitcoin: esplora: build request for %s: %w", path, err)
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("bitcoin: esplora at %s: GET %s: %w: %w", s.base, path,
			ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("bitcoin: esplora at %s: read %s: %w", s.base, path, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("esplora %s: %w", path, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("bitcoin: esplora at %s: GET %s: HTTP %d: %.200q", s.base,
			path, resp.StatusCode, body)
	}
	return body, nil
}

// Tip reads the tip height and then the hash at that height, a consistent pair.
func (s *EsploraSource) Tip(ctx context.Context) (BlockID, error) {
	body, err := s.get(ctx, "/blocks/tip/height")
	if err != nil {
		return BlockID{}, err
	}
	height, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 32)
	if err != nil {
		return BlockID{}, fmt.Errorf("bitcoin: esplora at %s: tip height %.40q: %w", s.base,
			body, err)
	}
	hash, err := s.BlockHash(ctx, int32(height))
	if err != nil {
		return BlockID{}, err
	}
	return BlockID{Hash: hash, Height: int32(height)}, nil
}

// BlockHash returns the hash of the best chain's block at height.
func (s *EsploraSource) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	body, err := s.get(ctx, fmt.Sprintf("/block-height/%d", height))
	if err != nil {
		return chainhash.Hash{}, err
	}
	hash, err := chainhash.NewHashFromStr(strings.TrimSpace(string(body)))
	if err != nil {
		return chainhash.Hash{}, fmt.Errorf("bitcoin: esplora at %s: block hash %.80q: %w",
			s.base, body, err)
	}
	return *hash, nil
}

// Block returns the block with the hash, from its raw serialisation.
func (s *EsploraSource) Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock,
	error) {

	body, err := s.get(ctx, "/block/"+hash.String()+"/raw")
	if err != nil {
		return nil, err
	}
	var block wire.MsgBlock
	if err := block.Deserialize(bytes.NewReader(body)); err != nil {
		return nil, fmt.Errorf("bitcoin: esplora at %s: decode block %s: %w", s.base, hash, err)
	}
	return &block, nil
}

// Mempool returns the ids of the mempool's transactions.
func (s *EsploraSource) Mempool(ctx context.Context) ([]chainhash.Hash, error) {
	body, err := s.get(ctx, "/mempool/txids")
	if err != nil {
		return nil, err
	}
	var hexIDs []string
	if err := json.Unmarshal(body, &hexIDs); err != nil {
		return nil, fmt.Errorf("bitcoin: esplora at %s: decode mempool txids: %w", s.base, err)
	}
	txids := make([]chainhash.Hash, len(hexIDs))
	for i, hexID := range hexIDs {
		txid, err := chainhash.NewHashFromStr(hexID)
		if err != nil {
			return nil, fmt.Errorf("bitcoin: esplora at %s: mempool txid %q: %w", s.base,
				hexID, err)
		}
		txids[i] = *txid
	}
	return txids, nil
}

// Transaction returns a transaction from the mempool or the chain.
func (s *EsploraSource) Transaction(ctx context.Context, txid chainhash.Hash) (*wire.MsgTx,
	error) {

	body, err := s.get(ctx, "/tx/"+txid.String()+"/raw")
	if err != nil {
		return nil, err
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(body)); err != nil {
		return nil, fmt.Errorf("bitcoin: esplora at %s: decode transaction %s: %w", s.base,
			txid, err)
	}
	return &tx, nil
}

// Subscribe polls the tip and the mempool until ctx ends.
func (s *EsploraSource) Subscribe(ctx context.Context) <-chan ChainUpdate {
	out := make(chan ChainUpdate, 64)
	queue := newUpdateQueue()
	go queue.pump(ctx, out)
	p := poller{
		reader:      s,
		interval:    s.cfg.PollInterval,
		logger:      s.cfg.Logger.With("esplora", s.base),
		scanMempool: true,
	}
	go p.run(ctx, queue)
	return out
}
