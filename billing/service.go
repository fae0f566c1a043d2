package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/riverqueue/river"

	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/metering"
	"github.com/instars/instars/pgp"
)

// Config is the configuration of a Service. Store, Gateway, Provisioner, ServerKey, Network
// and Plans are required; the other fields have defaults.
type Config struct {
	// Store keeps orders, invoices and payments. The service keeps its own tables (leases,
	// events, refunds, webhook deliveries, alerts) and River's job tables in the same
	// database and writes them in the same transactions. Use a SQLStore from OpenSQLite or
	// OpenPostgres, through which the service finds River's database handle.
	Store Store
	// JobDatabase is the handle River runs on: the *sql.DB of a SQLite store (one open
	// connection, as River's SQLite driver requires) or the *pgxpool.Pool of a PostgreSQL
	// store. Nil means Store's DB() or Pool() when Store is a *SQLStore.
	JobDatabase any
	// Gateway makes payment requests and reports payments.
	Gateway Gateway
	// Provisioner launches and terminates instances.
	Provisioner Provisioner
	// ServerKey opens orders and seals credentials.
	ServerKey *pgp.Server
	// Network is the bitcoin network, for checking refund addresses.
	Network *chaincfg.Params
	// Plans are the offers customers can order; each must pass metering's Plan.Validate.
	Plans []metering.Plan
	// Rates converts fiat plan prices to satoshis; needed only when a plan has a fiat price.
	Rates RateSource
	// Policy sets when a payment is final; zero means DefaultDepth confirmations, and
	// DefaultHighValueDepth above HighValueThreshold when one is set.
	Policy ConfirmationPolicy
	// ToleranceBasisPoints is how much less than the amount still pays an invoice in full.
	ToleranceBasisPoints uint32
	// InvoiceExpiry and InvoiceMonitoring default to DefaultExpiry and DefaultMonitoring.
	InvoiceExpiry     time.Duration
	InvoiceMonitoring time.Duration
	// LatePayments decides what an invoice paid only after its expiry buys: LateAccept (the
	// default) provisions as usual, LateDecline records a refund, and LateHold alerts the
	// operator, who calls AcceptLatePayment or DeclineLatePayment.
	LatePayments LatePaymentPolicy
	// Clock is the time source; nil means metering.RealClock. With any other clock the
	// service does not schedule jobs into the future (River schedules by the wall clock):
	// timed work is enqueued by Tick and by the periodic sweep once the clock reaches it.
	Clock metering.Clock
	// SweepInterval is how often the periodic sweep runs (enqueueing due timed work and
	// watching open invoices); zero means one minute.
	SweepInterval time.Duration
	// ReconcileInterval is how often the cloud's instances are compared with the leases
	// (see Reconcile); zero means ten minutes.
	ReconcileInterval time.Duration
	// Webhooks receive signed events.
	Webhooks []WebhookEndpoint
	// HTTPClient sends webhooks; nil means a client with no proxy and each endpoint's timeout.
	HTTPClient *http.Client
	// Notifier sends alerts to the operator; nil means LogNotifier on Logger.
	Notifier Notifier
	// LaunchAttempts is how many times provisioning is tried before the lease fails and its
	// payment becomes a refund; zero means 8. CloudRetryBase is the wait after the first
	// failed launch or termination, doubling each time up to five minutes; zero means 10
	// seconds. Terminations are retried until they succeed.
	LaunchAttempts int
	CloudRetryBase time.Duration
	// JobPollInterval is how often River looks for jobs; zero means one second.
	JobPollInterval time.Duration
	// ProvisionTimeout bounds one provisioning attempt, which waits for the instance to run;
	// zero means 30 minutes. Keep it above the cloud driver's launch timeout. JobTimeout bounds
	// the other jobs; zero means 5 minutes. After a crash, River runs a job that was running
	// again once its timeout (and JobRescueAfter) has passed.
	ProvisionTimeout time.Duration
	JobTimeout       time.Duration
	// JobRescueAfter is the time a job may stay running before River assumes its process
	// died and runs it again, if its timeout is shorter. Zero means 20 minutes.
	JobRescueAfter time.Duration
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
}

// Service turns paid orders into running, metered and finally terminated instances. Every
// step is a state change written to the database together with the durable job (River) that
// acts on it, so a crash repeats work at most and never loses or doubles it. The crash tests
// kill the process at each point named in crash.go and check this.
//
// The portal-facing methods (SubmitOrder, Invoice, Lease, Credentials, the List methods,
// Subscribe) are safe for concurrent use. Start runs the job workers and the payment gateway;
// several Services may run on one PostgreSQL database, and each job runs once among them.
type Service struct {
	cfg      Config
	store    Store
	clock    metering.Clock
	wallTime bool
	plans    map[string]metering.Plan
	logger   *slog.Logger
	jobs     jobQueue
	webhooks *webhookSender
	bus      eventBus

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
	// catchUpPending is set by Start and cleared once the invoices whose window ended
	// while the gateway was stopped are watched. catchUpMu guards it, apart from mu, which
	// Start holds while it first watches.
	catchUpMu      sync.Mutex
	catchUpPending bool
	// vanishPending is set by Start and cleared once the unconfirmed payments on record
	// from before startedAt have been checked (see removeVanishedPayments).
	vanishPending bool
	startedAt     time.Time

	// gatewayMu guards gatewayRunning and gatewayErr: whether the gateway's Run is
	// running, and the error it last stopped with.
	gatewayMu      sync.Mutex
	gatewayRunning bool
	gatewayErr     error
}

// NewService checks the configuration, migrates the service's tables and River's, and
// returns a stopped Service.
func NewService(ctx context.Context, cfg Config) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: cfg.Store, clock: cfg.Clock, logger: cfg.Logger,
		plans: map[string]metering.Plan{}}
	if s.clock == nil {
		s.clock = metering.RealClock{}
	}
	_, s.wallTime = s.clock.(metering.RealClock)
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.cfg.Notifier == nil {
		s.cfg.Notifier = LogNotifier{Logger: s.logger}
	}
	for _, p := range cfg.Plans {
		s.plans[p.ID] = p
	}
	db := cfg.JobDatabase
	if db == nil {
		store, ok := cfg.Store.(*SQLStore)
		if !ok {
			return nil, errors.New("billing: Config.JobDatabase is required when Store is " +
				"not a *SQLStore")
		}
		if store.Pool() != nil {
			db = store.Pool()
		} else {
			db = store.DB()
		}
	}
	if err := migrateService(ctx, db); err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Transport: &http.Transport{Proxy: nil}}
	}
	s.webhooks = &webhookSender{endpoints: map[string]WebhookEndpoint{}, client: client,
		run: s.runTx, now: s.clock.Now, logger: s.logger}
	for _, ep := range cfg.Webhooks {
		s.webhooks.endpoints[ep.Name] = ep
	}
	jobs, err := newJobQueue(ctx, db, jobsConfig{
		workers: s.workers(), periodic: s.periodicJobs(), logger: s.logger,
		pollInterval: cfg.JobPollInterval, rescueAfter: cfg.JobRescueAfter,
	})
	if err != nil {
		return nil, err
	}
	s.jobs = jobs
	return s, nil
}

func (c *Config) validate() error {
	var problems []error
	if c.Store == nil {
		problems = append(problems, errors.New("Config.Store is required"))
	}
	if c.Gateway == nil {
		problems = append(problems, errors.New("Config.Gateway is required"))
	}
	if c.Provisioner == nil {
		problems = append(problems, errors.New("Config.Provisioner is required"))
	}
	if c.ServerKey == nil {
		problems = append(problems, errors.New("Config.ServerKey is required"))
	}
	if c.Network == nil {
		problems = append(problems, errors.New("Config.Network is required"))
	}
	if len(c.Plans) == 0 {
		problems = append(problems, errors.New("Config.Plans is empty: expected at least "+
			"one plan"))
	}
	seen := map[string]bool{}
	for _, p := range c.Plans {
		if err := p.Validate(); err != nil {
			problems = append(problems, fmt.Errorf("plan %q: %w", p.ID, err))
		}
		if seen[p.ID] {
			problems = append(problems, fmt.Errorf("plan %q appears twice", p.ID))
		}
		seen[p.ID] = true
		if p.Price.Currency != "" && c.Rates == nil {
			problems = append(problems, fmt.Errorf("plan %q is priced in %s but "+
				"Config.Rates is nil", p.ID, p.Price.Currency))
		}
	}
	if depth := followDepth(c.Gateway); depth > 0 && c.Policy.DeepestDepth() > depth {
		problems = append(problems, fmt.Errorf("Config.Policy needs %d confirmations, but "+
			"the gateway stops following payments at %d: invoices that need more would never "+
			"settle; raise the gateway's depth or lower the policy", c.Policy.DeepestDepth(),
			depth))
	}
	if c.ToleranceBasisPoints > MaxToleranceBasisPoints {
		problems = append(problems, fmt.Errorf("Config.ToleranceBasisPoints %d is too large: "+
			"expected at most %d (%d %%)", c.ToleranceBasisPoints, MaxToleranceBasisPoints,
			MaxToleranceBasisPoints/100))
	}
	names := map[string]bool{}
	for _, ep := range c.Webhooks {
		if err := ep.validate(); err != nil {
			problems = append(problems, err)
		}
		if names[ep.Name] {
			problems = append(problems, fmt.Errorf("webhook endpoint %q appears twice", ep.Name))
		}
		names[ep.Name] = true
	}
	if len(problems) > 0 {
		return fmt.Errorf("billing: invalid service configuration: %w", errors.Join(problems...))
	}
	return nil
}

func (s *Service) workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, &webhookWorker{sender: s.webhooks})
	river.AddWorker(w, &provisionWorker{s: s})
	river.AddWorker(w, &terminateWorker{s: s})
	river.AddWorker(w, &leaseDueWorker{s: s})
	river.AddWorker(w, &invoiceDeadlineWorker{s: s})
	river.AddWorker(w, &notifyWorker{s: s})
	river.AddWorker(w, &sweepWorker{s: s})
	river.AddWorker(w, &reconcileWorker{s: s})
	river.AddWorker(w, &paidUntilWorker{s: s})
	return w
}

func (s *Service) periodicJobs() []*river.PeriodicJob {
	interval := s.cfg.SweepInterval
	if interval <= 0 {
		interval = time.Minute
	}
	reconcile := s.cfg.ReconcileInterval
	if reconcile <= 0 {
		reconcile = 10 * time.Minute
	}
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(interval),
			func() (river.JobArgs, *river.InsertOpts) { return sweepArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "instars_sweep"}),
		river.NewPeriodicJob(river.PeriodicInterval(reconcile),
			func() (river.JobArgs, *river.InsertOpts) { return reconcileArgs{}, nil },
			&river.PeriodicJobOpts{ID: "instars_reconcile"}),
	}
}

// Start runs the job workers, has the gateway watch every open invoice and feeds the
// gateway's payment reports to HandlePayment until Stop. It returns once the workers run.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("billing: service already started")
	}
	if err := s.jobs.start(ctx); err != nil {
		return fmt.Errorf("billing: starting job workers: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel, s.done, s.started = cancel, make(chan struct{}), true
	s.catchUpMu.Lock()
	s.catchUpPending, s.vanishPending, s.startedAt = true, true, s.clock.Now()
	s.catchUpMu.Unlock()
	if err := s.watchOpenInvoices(ctx); err != nil {
		s.logger.Warn("watching open invoices failed; the sweep retries", "error", err)
	}
	// Running from here on, so that a health check made right after Start does not see
	// the gateway as stopped before its goroutine is scheduled.
	s.setGatewayState(true, nil)
	go s.runGateway(runCtx)
	s.logger.Info("billing service started")
	return nil
}

// Stop stops the gateway and waits for running jobs to finish, or for ctx to end.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return nil
	}
	s.cancel()
	<-s.done
	s.started = false
	err := s.jobs.stop(ctx)
	s.logger.Info("billing service stopped")
	return err
}

// runGateway feeds the gateway's payment reports to HandlePayment, restarting the gateway
// after a failure with a growing pause.
func (s *Service) runGateway(ctx context.Context) {
	defer close(s.done)
	pause := time.Second
	for {
		s.setGatewayState(true, nil)
		err := s.cfg.Gateway.Run(ctx, PaymentSinkFunc(s.HandlePayment))
		s.setGatewayState(false, err)
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("payment gateway stopped; restarting", "error", err, "pause", pause)
		s.alertGatewayStopped(ctx, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Minute)
	}
}

func (s *Service) setGatewayState(running bool, err error) {
	s.gatewayMu.Lock()
	defer s.gatewayMu.Unlock()
	s.gatewayRunning = running
	if !running {
		s.gatewayErr = err
	}
}

// GatewayRunning reports whether the payment gateway is running, and otherwise the error it
// last stopped with (nil before the service starts). While it is not running, and during the
// pause before each restart, no payment is followed, so a health check should report it.
func (s *Service) GatewayRunning() (bool, error) {
	s.gatewayMu.Lock()
	defer s.gatewayMu.Unlock()
	return s.gatewayRunning, s.gatewayErr
}

// alertGatewayStopped raises an operator alert, once per saved chain position, when the
// gateway stopped because its position is not on the node's chain. Restarts cannot fix that,
// so payments go unseen until the operator points it at the right node or resets the
// position.
func (s *Service) alertGatewayStopped(ctx context.Context, err error) {
	var foreign *bitcoin.ForeignCursorError
	if !errors.As(err, &foreign) {
		return
	}
	subject := "chain position " + foreign.Cursor.String()
	message := "payments are not being followed: " + foreign.Error()
	if err := s.alertOnce(ctx, AlertGatewayStopped, subject, message); err != nil &&
		ctx.Err() == nil {
		s.logger.Error("unable to raise the gateway alert", "error", err, "subject", subject)
	}
}

// resumeTimeout bounds how long a start or a sweep waits for the gateway to report since
// when it catches up, so that an unreachable node does not hold up the start.
const resumeTimeout = 5 * time.Second

// gatewayResumesFrom returns the time from which the gateway catches up payments it missed
// while stopped (see PaymentResumer), or the zero time when it has nothing to catch up. It
// returns false when the gateway could not report that time.
func (s *Service) gatewayResumesFrom(ctx context.Context) (time.Time, bool) {
	resumer, ok := s.cfg.Gateway.(PaymentResumer)
	if !ok {
		return time.Time{}, true
	}
	ctx, cancel := context.WithTimeout(ctx, resumeTimeout)
	defer cancel()
	from, err := resumer.ResumesFrom(ctx)
	if err != nil {
		s.logger.Warn("unable to tell since when the gateway missed payments; watching "+
			"the invoices open now, the sweep retries", "error", err)
		return time.Time{}, false
	}
	return from, true
}

// watchOpenInvoices has the gateway watch every invoice whose payments can still change
// its state. After a start, until it succeeds once, that includes the invoices whose window
// ended while the gateway was not reading payments.
func (s *Service) watchOpenInvoices(ctx context.Context) error {
	since := s.clock.Now()
	s.catchUpMu.Lock()
	catchUp := s.catchUpPending
	s.catchUpMu.Unlock()
	caughtUp := false
	if catchUp {
		var from time.Time
		if from, caughtUp = s.gatewayResumesFrom(ctx); !from.IsZero() && from.Before(since) {
			since = from
		}
	}
	invoices, err := s.store.WatchedInvoices(ctx, since, followDepth(s.cfg.Gateway))
	if err != nil {
		return fmt.Errorf("billing: listing watched invoices: %w", err)
	}
	for _, inv := range invoices {
		if err := s.watch(ctx, inv); err != nil {
			return err
		}
	}
	if caughtUp {
		s.catchUpMu.Lock()
		s.catchUpPending = false
		s.catchUpMu.Unlock()
	}
	return nil
}

func (s *Service) watch(ctx context.Context, inv *Invoice) error {
	req := PaymentRequest{Destination: inv.Destination, URI: inv.PaymentURI,
		Account: inv.Account, DerivationIndex: inv.DerivationIndex}
	if err := s.cfg.Gateway.Watch(ctx, req, inv.MonitoringUntil); err != nil {
		return fmt.Errorf("billing: watching invoice %s: %w", inv.ID, err)
	}
	return nil
}

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.clock.Now() }

// serviceTx is one transaction of the service: the store's queries, the raw transaction for
// the service's tables and River, and the events to publish once it commits.
type serviceTx struct {
	StoreTx
	ctx    context.Context
	raw    any
	db     sqlRunner
	s      *Service
	now    time.Time
	events []Event
}

// inTx runs fn in a store transaction and publishes its events after the commit.
func (s *Service) inTx(ctx context.Context, fn func(tx *serviceTx) error) error {
	return s.runTxWith(ctx, s.store.InTx, fn)
}

// inSharedTx is inTx in a transaction shared with concurrent callers where the store
// offers it (see SharedTxStore). fn must run its statements with a context that is not
// cancelled.
func (s *Service) inSharedTx(ctx context.Context, fn func(tx *serviceTx) error) error {
	if shared, ok := s.store.(SharedTxStore); ok {
		return s.runTxWith(ctx, shared.InSharedTx, fn)
	}
	return s.inTx(ctx, fn)
}

func (s *Service) runTxWith(ctx context.Context,
	run func(context.Context, func(StoreTx) error) error, fn func(tx *serviceTx) error) error {
	var events []Event
	err := run(ctx, func(stx StoreTx) error {
		t := &serviceTx{StoreTx: stx, ctx: ctx, raw: rawTx(stx), s: s, now: s.clock.Now()}
		t.db = runnerFor(t.raw)
		if err := fn(t); err != nil {
			return err
		}
		events = t.events
		return nil
	})
	if err == nil {
		s.bus.publish(events...)
	}
	return err
}

// runTx is the txFunc of the webhook sender.
func (s *Service) runTx(ctx context.Context, fn func(tx any) error) error {
	return s.inTx(ctx, func(tx *serviceTx) error { return fn(tx.raw) })
}

func rawTx(stx StoreTx) any {
	if tx := stx.SQLTx(); tx != nil {
		return tx
	}
	return stx.PgxTx()
}

// emit stores an event and its webhook deliveries in the transaction.
func (t *serviceTx) emit(kind EventKind, subject, customer string, data any) error {
	ev, err := newEvent(kind, subject, customer, t.now, data)
	if err != nil {
		return err
	}
	if err := insertEvent(t.ctx, t.raw, t.s.jobs, t.s.cfg.Webhooks, ev); err != nil {
		return err
	}
	t.events = append(t.events, ev)
	return nil
}

// alert stores an operator alert and the job that passes it to the Notifier.
func (t *serviceTx) alert(ctx context.Context, kind AlertKind, subject, message string) error {
	a := Alert{ID: NewID("alr"), Kind: kind, Subject: subject, Message: message,
		CreatedAt: t.now}
	if err := insertAlert(ctx, t.db, a); err != nil {
		return err
	}
	_, err := t.s.jobs.insertTx(ctx, t.raw, notifyArgs{AlertID: a.ID},
		&river.InsertOpts{UniqueOpts: uniqueByArgs})
	return err
}

// enqueue inserts a job in the transaction.
func (t *serviceTx) enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := t.s.jobs.insertTx(ctx, t.raw, args, opts)
	return err
}

// schedule inserts a unique job due at the given time. On the wall clock River holds it until
// then. On any other clock it is inserted here only when already due. Otherwise Tick or
// the sweep inserts it later.
func (t *serviceTx) schedule(ctx context.Context, args river.JobArgs, due time.Time) error {
	opts := &river.InsertOpts{UniqueOpts: uniqueByArgs}
	if due.After(t.now) {
		if !t.s.wallTime {
			return nil
		}
		opts.ScheduledAt = due
	}
	return t.enqueue(ctx, args, opts)
}

// Subscribe returns a channel of the events committed from now on in this process, for live
// pages, and a function that ends the subscription and closes the channel. A subscriber that
// falls more than buffer events behind misses events; ListEvents has them all.
func (s *Service) Subscribe(buffer int) (<-chan Event, func()) {
	if buffer <= 0 {
		buffer = 64
	}
	return s.bus.subscribe(buffer)
}

// jobTimeout is the timeout of every job but provisioning and webhook delivery.
func (s *Service) jobTimeout() time.Duration { return cmpDuration(s.cfg.JobTimeout, 5*time.Minute) }
