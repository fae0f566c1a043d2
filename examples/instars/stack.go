package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/instars/instars/billing"
	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/eucalyptus"
	"github.com/instars/instars/metering"
	"github.com/instars/instars/pgp"
)

// stack is the running server's parts: the store, the node, the cloud and the billing
// service that ties them together. The web server reads everything through it.
type stack struct {
	cfg       *fileConfig
	network   *bitcoin.Network
	store     *billing.SQLStore
	source    bitcoin.ChainSource
	gateway   *billing.OnChainGateway
	driver    *eucalyptus.Driver
	serverKey *pgp.Server
	service   *billing.Service
	clock     metering.Clock
	logger    *slog.Logger
	admin     *adminAuth
	closers   []func()
}

// stackOptions are the settings in which dev mode differs from a production start.
type stackOptions struct {
	// Clock is the service's clock; nil means the real clock.
	Clock metering.Clock
	// Cursors keeps the tracker's position; nil means the billing store.
	Cursors bitcoin.CursorStore
	// SweepInterval, JobPollInterval and CloudRetryBase shorten the service's waits.
	SweepInterval   time.Duration
	JobPollInterval time.Duration
	CloudRetryBase  time.Duration
	// NodePollInterval overrides the RPC source's polling.
	NodePollInterval time.Duration
	// CloudPollInterval overrides the driver's first wait between state checks.
	CloudPollInterval time.Duration
}

// openStack connects every part the configuration names and returns a stack whose service
// is not started yet. On error it closes what it opened.
func openStack(ctx context.Context, cfg *fileConfig, opts stackOptions,
	logger *slog.Logger,
) (_ *stack, err error) {
	s := &stack{cfg: cfg, clock: opts.Clock, logger: logger}
	if s.clock == nil {
		s.clock = metering.RealClock{}
	}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.network, err = bitcoin.NetworkByName(cfg.Network); err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	script := bitcoin.ScriptTypeUnspecified
	if cfg.ScriptType != "" {
		if script, err = bitcoin.ParseScriptType(cfg.ScriptType); err != nil {
			return nil, fmt.Errorf("script_type: %w", err)
		}
	}
	account, err := bitcoin.ParseAccountKey(cfg.AccountKey, s.network, script)
	if err != nil {
		return nil, fmt.Errorf("account_key: %w", err)
	}

	if s.admin, err = newAdminAuth(cfg.Admin); err != nil {
		return nil, err
	}
	if err := s.openStore(ctx); err != nil {
		return nil, err
	}
	if err := s.openServerKey(); err != nil {
		return nil, err
	}
	if err := s.openNode(ctx, opts); err != nil {
		return nil, err
	}

	cursors := opts.Cursors
	if cursors == nil {
		cursors = billing.StoreCursor{Store: s.store, Name: "bitcoin-" + s.network.Name}
	}
	gatewayConfig := billing.OnChainGatewayConfig{
		Account: account, Source: s.source, Cursors: cursors, Depth: cfg.Node.Depth,
		GapLimit: cfg.GapLimit, Now: s.clock.Now, Logger: logger.With("part", "gateway"),
	}
	// Dev mode's clock runs ahead of the wall clock that regtest blocks are stamped with.
	if offset, ok := s.clock.(interface{ offset() time.Duration }); ok {
		gatewayConfig.BlockTimeOffset = offset.offset
	}
	s.gateway, err = billing.NewOnChainGateway(gatewayConfig)
	if err != nil {
		return nil, fmt.Errorf("payment gateway: %w", err)
	}
	if err := s.openCloud(ctx, opts); err != nil {
		return nil, err
	}

	rates, err := s.rateSource()
	if err != nil {
		return nil, err
	}
	webhooks, err := s.webhookEndpoints()
	if err != nil {
		return nil, err
	}
	latePayments, err := cfg.Invoices.latePaymentPolicy()
	if err != nil {
		return nil, fmt.Errorf("invoices.late_payments: %w", err)
	}
	s.service, err = billing.NewService(ctx, billing.Config{
		Store: s.store, Gateway: s.gateway,
		Provisioner: billing.EucalyptusProvisioner{Driver: s.driver},
		ServerKey:   s.serverKey, Network: s.network.Params, Plans: cfg.Plans, Rates: rates,
		Policy: cfg.policy(), ToleranceBasisPoints: cfg.Invoices.ToleranceBasisPoints,
		InvoiceExpiry:     time.Duration(cfg.Invoices.Expiry),
		InvoiceMonitoring: time.Duration(cfg.Invoices.Monitoring),
		LatePayments:      latePayments,
		Clock:             opts.Clock, SweepInterval: opts.SweepInterval,
		JobPollInterval: opts.JobPollInterval, CloudRetryBase: opts.CloudRetryBase,
		Webhooks: webhooks, Logger: logger.With("part", "billing"),
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *stack) openStore(ctx context.Context) error {
	opts := &billing.SQLStoreOptions{Logger: s.logger.With("part", "store"), Now: s.clock.Now}
	var err error
	switch db := s.cfg.Database; {
	case db.SQLite != "":
		s.store, err = billing.OpenSQLite(ctx, db.SQLite, opts)
	default:
		dsn := db.Postgres
		if db.PostgresFile != "" {
			if dsn, err = readSecretFile(db.PostgresFile); err != nil {
				return fmt.Errorf("database.postgres_file: %w", err)
			}
		}
		s.store, err = billing.OpenPostgres(ctx, dsn, opts)
	}
	if err != nil {
		return fmt.Errorf("opening the database: %w", err)
	}
	s.closers = append(s.closers, func() { _ = s.store.Close() })
	return nil
}

func (s *stack) openServerKey() error {
	var passphrase []byte
	if file := s.cfg.ServerKey.PassphraseFile; file != "" {
		text, err := readSecretFile(file)
		if err != nil {
			return fmt.Errorf("server_key.passphrase_file: %w", err)
		}
		passphrase = []byte(text)
	}
	key, generated, err := pgp.LoadOrGenerateServerKey(s.cfg.ServerKey.File,
		pgp.ServerKeyOptions{Passphrase: passphrase, Logger: s.logger, Now: s.clock.Now})
	if err != nil {
		return fmt.Errorf("server key: %w", err)
	}
	if generated {
		s.logger.Info("generated the server key", "file", s.cfg.ServerKey.File,
			"fingerprint", key.Fingerprint())
	}
	s.serverKey, err = pgp.NewServer(key, pgp.ServerOptions{Now: s.clock.Now})
	return err
}

func (s *stack) openNode(ctx context.Context, opts stackOptions) error {
	node := s.cfg.Node
	if node.EsploraURL != "" {
		source, err := bitcoin.NewEsploraSource(bitcoin.EsploraConfig{BaseURL: node.EsploraURL,
			PollInterval: opts.NodePollInterval, Logger: s.logger.With("part", "node")})
		if err != nil {
			return fmt.Errorf("node.esplora_url: %w", err)
		}
		// The source makes no request until asked, so read the tip once to find a wrong URL
		// at the start, as dialling a node's RPC does.
		if _, err := source.Tip(ctx); err != nil {
			return fmt.Errorf("reading the chain tip from Esplora at %s: %w", node.EsploraURL,
				err)
		}
		s.source = source
		return nil
	}
	rpc := bitcoin.RPCSourceConfig{Kind: bitcoin.NodeBitcoind, Host: node.Host, User: node.User,
		DisableTLS: !node.TLS, PollInterval: opts.NodePollInterval,
		Logger: s.logger.With("part", "node")}
	if node.Kind == "btcd" {
		rpc.Kind = bitcoin.NodeBtcd
	}
	if node.PasswordFile != "" {
		password, err := readSecretFile(node.PasswordFile)
		if err != nil {
			return fmt.Errorf("node.password_file: %w", err)
		}
		rpc.Password = password
	}
	if node.CertificateFile != "" {
		cert, err := os.ReadFile(node.CertificateFile)
		if err != nil {
			return fmt.Errorf("node.certificate_file: %w", err)
		}
		rpc.Certificates = cert
	}
	source, err := bitcoin.DialRPC(ctx, rpc)
	if err != nil {
		return fmt.Errorf("connecting to the node at %s: %w", node.Host, err)
	}
	s.source = source
	s.closers = append(s.closers, source.Close)
	return nil
}

func (s *stack) openCloud(ctx context.Context, opts stackOptions) error {
	c := s.cfg.Cloud
	var cfg eucalyptus.Config
	if c.Eucarc != "" {
		rc, err := eucalyptus.LoadEucarc(c.Eucarc)
		if err != nil {
			return fmt.Errorf("cloud.eucarc: %w", err)
		}
		if cfg, err = rc.Config(); err != nil {
			return fmt.Errorf("cloud.eucarc: %w", err)
		}
	}

	setIf := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setIf(&cfg.Endpoint, c.Endpoint)
	setIf(&cfg.Region, c.Region)
	setIf(&cfg.Profile, c.Profile)
	setIf(&cfg.CABundlePath, c.CABundle)
	setIf(&cfg.SubnetID, c.SubnetID)
	setIf(&cfg.AvailabilityZone, c.AvailabilityZone)
	if len(c.SecurityGroupIDs) > 0 {
		cfg.SecurityGroupIDs = c.SecurityGroupIDs
	}
	if c.AccessKeyID != "" {
		secret, err := readSecretFile(c.SecretAccessKeyFile)
		if err != nil {
			return fmt.Errorf("cloud.secret_access_key_file: %w", err)
		}
		cfg.AccessKeyID, cfg.SecretAccessKey = c.AccessKeyID, secret
	}

	cfg.LaunchTimeout = time.Duration(c.LaunchTimeout)
	if opts.CloudPollInterval > 0 {
		cfg.PollInterval, cfg.MaxPollInterval = opts.CloudPollInterval, 4*opts.CloudPollInterval
	}
	cfg.Logger = s.logger.With("part", "cloud")
	driver, err := eucalyptus.New(ctx, cfg)
	if err != nil {
		return fmt.Errorf("cloud: %w", err)
	}
	s.driver = driver
	return nil
}

func (s *stack) rateSource() (billing.RateSource, error) {
	r := s.cfg.Rates
	var sources []billing.RateSource
	for _, name := range r.Sources {
		switch name {
		case "kraken":
			sources = append(sources, billing.NewKrakenRateSource(nil))
		case "coinbase":
			sources = append(sources, billing.NewCoinbaseRateSource(nil))
		case "bitstamp":
			sources = append(sources, billing.NewBitstampRateSource(nil))
		}
	}
	if len(r.Fixed) > 0 {
		sources = append(sources, &billing.FixedRateSource{Rates: r.Fixed, Now: s.clock.Now})
	}
	if len(sources) == 0 {
		return nil, nil
	}
	provider, err := billing.NewRateProvider(billing.RateProviderConfig{
		Sources: sources, RefreshInterval: time.Duration(r.Refresh),
		SpreadBasisPoints: r.SpreadBasisPoints, Now: s.clock.Now,
		Logger: s.logger.With("part", "rates"),
	})
	if err != nil {
		return nil, fmt.Errorf("rates: %w", err)
	}
	return provider, nil
}

func (s *stack) webhookEndpoints() ([]billing.WebhookEndpoint, error) {
	var out []billing.WebhookEndpoint
	for i, w := range s.cfg.Webhooks {
		secret, err := readSecretFile(w.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("webhooks[%d].secret_file: %w", i, err)
		}
		ep := billing.WebhookEndpoint{Name: w.Name, URL: w.URL, Secret: []byte(secret)}
		for _, kind := range w.Events {
			ep.Kinds = append(ep.Kinds, billing.EventKind(kind))
		}
		out = append(out, ep)
	}
	return out, nil
}

// close releases what openStack opened, in reverse order.
func (s *stack) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// readSecretFile returns a file's content without its trailing newline.
func readSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	text := strings.TrimRight(string(data), "\r\n")
	if text == "" {
		return "", errors.New(path + " is empty")
	}
	return text, nil
}
