package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/txscript"

	"github.com/instars/instars/bitcoin"
)

// OnChainMethod is the Method of the on-chain bitcoin gateway.
const OnChainMethod = "bitcoin-onchain"

// OnChainGatewayConfig configures an OnChainGateway.
type OnChainGatewayConfig struct {
	// Account is the operator's watch-only account key. Required.
	Account *bitcoin.AccountKey
	// AccountName keys the account's derivation indexes in the store. The default is
	// derived from the account's descriptor, so a different key gets its own indexes.
	// Set it to keep the same indexes when the descriptor's text changes but the key does
	// not (for example when an origin is added).
	AccountName string
	// Source is the node the tracker reads. Required.
	Source bitcoin.ChainSource
	// Cursors saves the tracker's position; use a StoreCursor to keep it in the billing
	// store. Required.
	Cursors bitcoin.CursorStore
	// Depth is how many confirmations the tracker follows a payment to; it should be at
	// least the deepest confirmation policy. 0 means the tracker's default, 6.
	Depth int32
	// GapLimit is the operator wallet's gap limit, for CheckGapLimit; 0 means 20, the
	// BIP44 default most wallets use.
	GapLimit uint32
	// Now stamps payments with the time the gateway handles them, or with the node's time
	// when that is earlier: its block's timestamp for a confirmed payment, the node's
	// mempool entry time for one the tracker found waiting there. Nil means time.Now.
	Now func() time.Time
	// BlockTimeOffset, when set, is added to the node's times (block timestamps and mempool
	// entry times) before they are compared with Now. Set it when Now runs ahead of the wall
	// clock that miners and the node use, as a test or development clock moved forward
	// does. Nil means no offset.
	BlockTimeOffset func() time.Duration
	// Logger receives the gateway's and the tracker's logs; nil discards them.
	Logger *slog.Logger
}

// OnChainGateway is the Gateway for on-chain bitcoin: a new address of the operator's account
// per invoice, watched by a bitcoin.Tracker.
type OnChainGateway struct {
	account     *bitcoin.AccountKey
	accountName string
	gapLimit    uint32
	tracker     *bitcoin.Tracker
	source      bitcoin.ChainSource
	cursors     bitcoin.CursorStore
	now         func() time.Time
	blockOffset func() time.Duration
	logger      *slog.Logger

	addresses *addressLookahead
	watches   watchList
	started   startRecord
	// unwatchInterval is how often Run looks for destinations to unwatch.
	unwatchInterval time.Duration

	mu   sync.Mutex
	sink PaymentSink
}

var (
	_ Gateway         = (*OnChainGateway)(nil)
	_ SyncReporter    = (*OnChainGateway)(nil)
	_ PaymentResumer  = (*OnChainGateway)(nil)
	_ PaymentVanisher = (*OnChainGateway)(nil)
)

// DefaultGapLimit is the number of unused addresses after which wallets stop scanning an
// account (BIP44's gap limit).
const DefaultGapLimit = 20

// NewOnChainGateway checks the configuration and builds the gateway and its tracker.
func NewOnChainGateway(config OnChainGatewayConfig) (*OnChainGateway, error) {
	if config.Account == nil {
		return nil, errors.New("on-chain gateway: Account is required")
	}
	g := &OnChainGateway{
		account:     config.Account,
		accountName: config.AccountName,
		gapLimit:    config.GapLimit,
		now:         config.Now,
		blockOffset: config.BlockTimeOffset,
		logger:      config.Logger,
		source:      config.Source,
		cursors:     config.Cursors,

		unwatchInterval: defaultUnwatchInterval,
	}
	if g.accountName == "" {
		sum := sha256.Sum256([]byte(config.Account.Descriptor()))
		g.accountName = "account-" + hex.EncodeToString(sum[:8])
	}
	g.addresses = newAddressLookahead(config.Account.ReceiveAddress)
	if g.gapLimit == 0 {
		g.gapLimit = DefaultGapLimit
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	tracker, err := bitcoin.NewTracker(bitcoin.TrackerConfig{
		Source:  config.Source,
		Cursors: config.Cursors,
		Handler: bitcoin.EventHandlerFunc(g.handleEvent),
		Depth:   config.Depth,
		Logger:  g.logger,
	})
	if err != nil {
		return nil, fmt.Errorf("on-chain gateway: %w", err)
	}
	g.tracker = tracker
	return g, nil
}

// Method returns OnChainMethod.
func (g *OnChainGateway) Method() string { return OnChainMethod }

// FollowDepth returns the tracker's depth: a payment is reported until it has this many
// confirmations.
func (g *OnChainGateway) FollowDepth() int32 { return g.tracker.Depth() }

// AccountName returns the name the account's derivation indexes are stored under.
func (g *OnChainGateway) AccountName() string { return g.accountName }

// CreatePaymentRequest allocates the account's next derivation index in the transaction and
// derives its receive address, so an address is never given out twice, and builds its
// BIP21 URI with the amount and label.
func (g *OnChainGateway) CreatePaymentRequest(ctx context.Context, tx StoreTx,
	params PaymentRequestParams) (PaymentRequest, error) {
	// An index without a valid key (about one in 2^127, BIP32) is left unused; the
	// next one is taken.
	for attempt := 0; ; attempt++ {
		index, err := tx.NextDerivationIndex(ctx, g.accountName)
		if err != nil {
			return PaymentRequest{}, err
		}
		address, err := g.addresses.address(index)
		if errors.Is(err, hdkeychain.ErrInvalidChild) && attempt < 2 {
			g.logger.WarnContext(ctx, "skipping derivation index without a valid key",
				"account", g.accountName, "index", index)
			continue
		}
		if err != nil {
			return PaymentRequest{}, fmt.Errorf("unable to derive the address for invoice "+
				"%s: %w", params.InvoiceID, err)
		}
		uri := bitcoin.PaymentURI{Address: address, Amount: params.Amount, Label: params.Label}
		return PaymentRequest{
			Destination:     address.EncodeAddress(),
			URI:             uri.String(),
			Account:         g.accountName,
			DerivationIndex: index,
		}, nil
	}
}

// Watch adds the request's address to the tracker until the monitoring window that ends at
// until. Run unwatches it once that window ended (plus two hours for late block
// timestamps) and every payment to it is final or gone. This is safe because
// NextInvoiceState ignores payments first seen after the window. The tracker follows
// payments already seen until they reach its depth, so a reorganisation still reaches a
// settled invoice, and after a restart the service watches again every invoice with a
// payment below that depth (see PaymentFollower). Watching an address again, as the service
// does for every open invoice at each sweep, only updates its window.
func (g *OnChainGateway) Watch(_ context.Context, request PaymentRequest, until time.Time) error {
	address, err := btcutil.DecodeAddress(request.Destination, g.account.Network().Params)
	if err != nil {
		return fmt.Errorf("invalid destination %q for %s: %w", request.Destination,
			g.account.Network(), err)
	}
	script, err := txscript.PayToAddrScript(address)
	if err != nil {
		return fmt.Errorf("destination %s has no output script: %w", request.Destination, err)
	}
	if err := g.tracker.Watch(script, request.Destination); err != nil {
		return err
	}
	g.watches.add(request.Destination, script, until)
	return nil
}

// Run runs the tracker and reports its payment events to sink until ctx is cancelled or
// the sink fails. Meanwhile it unwatches, every minute, the destinations whose invoices
// can no longer receive a payment that counts. It returns the tracker's error, such as a
// *bitcoin.ForeignCursorError when the saved cursor is not on the node's chain.
func (g *OnChainGateway) Run(ctx context.Context, sink PaymentSink) error {
	g.mu.Lock()
	g.sink = sink
	g.mu.Unlock()

	// The destinations watched now are the ones the tracker's start-up rescan covers.
	g.started.reset(g.watches.destinationNames())
	ctx, cancel := context.WithCancel(ctx)
	var unwatching sync.WaitGroup
	unwatching.Go(func() { g.runUnwatch(ctx) })
	defer unwatching.Wait()
	defer cancel()
	return g.tracker.Run(ctx)
}

// Synced reports whether the tracker has processed the node's tip and mempool since it
// started or last reconnected (see bitcoin.Tracker.Synced). The service waits for it
// before expiring an invoice. It returns an error when the node cannot be reached.
func (g *OnChainGateway) Synced(ctx context.Context) (bool, error) {
	return g.tracker.Synced(ctx)
}

// handleEvent turns a tracker event into a payment report.
func (g *OnChainGateway) handleEvent(ctx context.Context, event bitcoin.PaymentEvent) error {
	g.mu.Lock()
	sink := g.sink
	g.mu.Unlock()
	if sink == nil {
		return errors.New("on-chain gateway: payment event before Run")
	}
	g.watches.observe(event)
	g.started.record(event.OutPoint)
	if g.blockOffset != nil {
		offset := g.blockOffset()
		if !event.BlockTime.IsZero() {
			event.BlockTime = event.BlockTime.Add(offset)
		}
		if !event.FirstSeen.IsZero() {
			event.FirstSeen = event.FirstSeen.Add(offset)
		}
	}
	return sink.HandlePayment(ctx, PaymentUpdate{
		Destination: event.WatchID,
		Payment:     paymentFromEvent(event, g.now()),
	})
}

// paymentFromEvent maps a tracker event to a Payment handled at the given time.
//
// SeenAt is the earliest of that time, the node's mempool entry time (FirstSeen) and, for a
// confirmed payment, the block's timestamp. A payment made while the server was down so
// counts from when the node accepted it or from its block, rather than from when the
// tracker caught up. The store keeps the earliest SeenAt of all reports.
//
// NOTE: a miner may set a block's timestamp up to about an hour before the block was found
// (it need only exceed the median of the previous 11 blocks), so a payment mined just after
// an invoice's expiry can count as on time. A payment that stayed unconfirmed while the
// server was down is stamped when the tracker finds it if the chain source cannot report
// mempool entry times (Esplora) or the lookup failed.
func paymentFromEvent(event bitcoin.PaymentEvent, seenAt time.Time) Payment {
	p := Payment{
		TxID:          event.OutPoint.Hash.String(),
		Vout:          event.OutPoint.Index,
		Amount:        event.Value,
		Confirmations: event.Confirmations,
		SignalsRBF:    event.SignalsRBF,
		State:         PaymentSeen,
		SeenAt:        seenAt,
		UpdatedAt:     seenAt,
	}
	if !event.FirstSeen.IsZero() && event.FirstSeen.Before(p.SeenAt) {
		p.SeenAt = event.FirstSeen
	}
	switch event.Kind {
	case bitcoin.EventConfirmed:
		p.BlockHash = event.Block.Hash.String()
		p.BlockHeight = event.Block.Height
		if !event.BlockTime.IsZero() && event.BlockTime.Before(p.SeenAt) {
			p.SeenAt = event.BlockTime
		}
	case bitcoin.EventReorged, bitcoin.EventMempool:
		// Unconfirmed: in the mempool, or expected back there after a reorganisation.
		p.Confirmations = 0
	case bitcoin.EventReplaced, bitcoin.EventDoubleSpent:
		p.State, p.Confirmations = PaymentReplaced, 0
	case bitcoin.EventDropped:
		p.State, p.Confirmations = PaymentRemoved, 0
	}
	return p
}
