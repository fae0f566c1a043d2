package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/eucalyptus"
	"github.com/instars/instars/internal/ec2emu"
	"github.com/instars/instars/internal/regtest"
	"github.com/instars/instars/metering"
)

// devMaxInstances is the emulator's instance quota in dev mode, high enough for load tests
// from one machine.
const devMaxInstances = 200

func init() {
	commands["dev"] = command{
		summary: "run everything on 127.0.0.1 with no set-up (regtest node, EC2 emulator, web)",
		run:     runDev,
	}
}

// defaultDevListen is dev mode's address; the client's default server URL points at it.
const defaultDevListen = "127.0.0.1:7080"

// Files of the dev data folder.
const (
	devDatabase     = "instars.db"
	devServerKey    = "server-key.asc"
	devAccountKey   = "account.tpub"
	devAdminFile    = "admin-password"
	devEmulatorFile = "ec2emu.json"
	devClockFile    = "clock-offset"
	devNodeCert     = "regtest-rpc.cert"
	devNodePassword = "regtest-rpc.password"
	devCloudSecret  = "ec2-secret"
	devWebhookFile  = "webhook-secret"
)

// Dev mode's cloud credentials; the emulator accepts only these.
const (
	devAccessKey = "AKIDINSTARSDEV"
	devRegion    = "eucalyptus"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("dev", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dataDir := flags.String("data", "instars-data", "folder for the database, keys and "+
		"emulator state; a second start reuses it")
	listen := flags.String("listen", defaultDevListen, "address of the web server")
	logLevel := flags.String("log-level", "info", "debug, info, warn or error")
	latePayments := flags.String("late-payments", "accept", "what an invoice paid after its "+
		"expiry buys: accept, decline or hold (the admin decides)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; expected only flags", flags.Arg(0))
	}
	late := invoicesConfig{LatePayments: *latePayments}
	if _, err := late.latePaymentPolicy(); err != nil {
		return fmt.Errorf("--late-payments: %w", err)
	}
	// The AWS SDK must never probe an instance metadata address from a developer's machine.
	_ = os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the data folder: %w", err)
	}
	release, err := lockDataFolder(dir)
	if err != nil {
		return err
	}
	defer release()
	logFile, err := os.OpenFile(filepath.Join(dir, "instars.log"),
		os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger := newLogger(io.MultiWriter(logFile, levelFilter{stderr}), *logLevel)
	env, err := startDevEnvironment(ctx, dir, stdout, logger)
	if err != nil {
		return err
	}
	defer env.stop()

	cfg := env.config(*listen)
	cfg.Invoices = late
	st, err := openStack(ctx, cfg, stackOptions{
		Clock: env.clock, Cursors: &bitcoin.MemoryCursorStore{},
		SweepInterval: 2 * time.Second, JobPollInterval: 200 * time.Millisecond,
		CloudRetryBase: time.Second, NodePollInterval: time.Second,
		CloudPollInterval: 500 * time.Millisecond,
	}, logger)
	if err != nil {
		return err
	}
	defer st.close()
	env.service = st.service
	web, err := newWebServer(st, env, "http://"+*listen, newRateLimiter(30, 10))
	if err != nil {
		return err
	}
	return runServer(ctx, st, web, *listen, func(url string) {
		env.printWelcome(stdout, url, env.emulator.URL())
	})
}

// levelFilter passes only warnings and errors of the text log to the terminal, which shows
// the welcome text; the data folder's instars.log has every line.
type levelFilter struct{ w io.Writer }

func (f levelFilter) Write(p []byte) (int, error) {
	line := string(p)
	if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
		return f.w.Write(p)
	}
	return len(p), nil
}

// devEnvironment is the set of parts dev mode starts besides the server: the regtest node,
// the EC2 emulator, the movable clock and the webhook receiver.
type devEnvironment struct {
	dir       string
	node      *regtest.Node
	emulator  *ec2emu.Server
	clock     *offsetClock
	account   string
	adminPass string
	fresh     bool
	webhooks  *devWebhookSink
	service   interface {
		Tick(ctx context.Context) error
		Now() time.Time
	}
}

func startDevEnvironment(ctx context.Context, dir string, stdout io.Writer,
	logger interface{ Info(string, ...any) },
) (_ *devEnvironment, err error) {
	env := &devEnvironment{dir: dir}
	defer func() {
		if err != nil {
			env.stop()
		}
	}()
	if _, statErr := os.Stat(filepath.Join(dir, devDatabase)); errors.Is(statErr, fs.ErrNotExist) {
		env.fresh = true
	}
	if env.account, err = loadOrCreateDevAccount(filepath.Join(dir, devAccountKey)); err != nil {
		return nil, err
	}
	if env.adminPass, err = loadOrCreateSecret(filepath.Join(dir, devAdminFile), 12); err != nil {
		return nil, err
	}
	secret, err := loadOrCreateSecret(filepath.Join(dir, devCloudSecret), 20)
	if err != nil {
		return nil, err
	}
	if env.clock, err = loadOffsetClock(filepath.Join(dir, devClockFile)); err != nil {
		return nil, err
	}
	webhookSecret, err := loadOrCreateSecret(filepath.Join(dir, devWebhookFile), 32)
	if err != nil {
		return nil, err
	}
	env.webhooks = &devWebhookSink{secret: []byte(webhookSecret)}

	fmt.Fprintln(stdout, "instars dev: starting a btcd regtest node (the first start builds "+
		"btcd from its module, which takes a minute or two)...")
	started := time.Now()
	if env.node, err = regtest.New(regtest.Options{Coins: 50}); err != nil {
		return nil, fmt.Errorf("starting the regtest node: %w", err)
	}
	fmt.Fprintf(stdout, "instars dev: regtest node ready in %s\n",
		time.Since(started).Round(100*time.Millisecond))
	rpc := env.node.RPCConfig()
	if err := os.WriteFile(filepath.Join(dir, devNodeCert), rpc.Certificates, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, devNodePassword), []byte(rpc.Pass),
		0o600); err != nil {
		return nil, err
	}

	env.emulator, err = ec2emu.New(ec2emu.Config{
		Credentials: map[string]string{devAccessKey: secret},
		Region:      devRegion,
		Timings: &ec2emu.Timings{Pending: 3 * time.Second, ShuttingDown: 2 * time.Second,
			TerminatedVisible: 24 * time.Hour},
		StateFile:    filepath.Join(dir, devEmulatorFile),
		MaxInstances: devMaxInstances,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the EC2 emulator: %w", err)
	}
	if _, err := env.emulator.Start("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("starting the EC2 emulator: %w", err)
	}
	logger.Info("dev environment started", "node", rpc.Host, "emulator", env.emulator.URL())
	return env, nil
}

// config is the configuration dev mode runs with, as if it came from a file.
func (env *devEnvironment) config(listen string) *fileConfig {
	rpc := env.node.RPCConfig()
	return &fileConfig{
		Listen: listen, Network: "regtest", AccountKey: env.account, ScriptType: "p2wpkh",
		Node: nodeConfig{Kind: "btcd", Host: rpc.Host, User: rpc.User, TLS: true,
			PasswordFile:    filepath.Join(env.dir, devNodePassword),
			CertificateFile: filepath.Join(env.dir, devNodeCert), Depth: 6},
		Database:  databaseConfig{SQLite: filepath.Join(env.dir, devDatabase)},
		ServerKey: serverKeyConfig{File: filepath.Join(env.dir, devServerKey)},
		Cloud: cloudConfig{Endpoint: env.emulator.URL(), Region: devRegion,
			AccessKeyID:         devAccessKey,
			SecretAccessKeyFile: filepath.Join(env.dir, devCloudSecret),
			LaunchTimeout:       duration(2 * time.Minute)},
		Plans:         devPlans(),
		Confirmations: confirmationsConfig{Depth: 2},
		Rates:         ratesConfig{Fixed: map[string]int64{"USD": 10_000_000}},
		Admin: adminConfig{User: "admin",
			PasswordFile: filepath.Join(env.dir, devAdminFile)},
		// Dev mode delivers its events to its own receiver, shown on the dev page.
		Webhooks: []webhookConfig{{Name: "dev-receiver", URL: "http://" + listen +
			"/dev/webhook", SecretFile: filepath.Join(env.dir, devWebhookFile)}},
	}
}

// devPlans are the offers of dev mode: one priced in satoshis, one in dollars at a fixed
// rate of 100 000 USD per bitcoin.
func devPlans() []metering.Plan {
	return []metering.Plan{
		{ID: "small-hour", Name: "Small, by the hour", InstanceType: "m1.small",
			ImageID: ec2emu.DefaultImages[0].ID, Unit: metering.UnitHour,
			Price: metering.Price{Sats: 25_000}, MinUnits: 1, MaxUnits: 720,
			GraceSeconds: 600, ReminderSeconds: []int64{1800}},
		{ID: "medium-day", Name: "Medium, by the day", InstanceType: "m1.medium",
			ImageID: ec2emu.DefaultImages[1].ID, Unit: metering.UnitDay,
			Price:    metering.Price{FiatMinor: 500, Currency: "USD"},
			MinUnits: 1, MaxUnits: 30, GraceSeconds: 3600, ReminderSeconds: []int64{21600, 3600}},
	}
}

// printWelcome prints where everything runs and the commands of a first order. The client
// defaults to defaultDevListen, so on another address the commands start by naming it.
func (env *devEnvironment) printWelcome(w io.Writer, url, emulatorURL string) {
	fmt.Fprintf(w, `
InStaRS is running in development mode.

  Web pages     %[1]s/
  Dev tools     %[1]s/dev          (pay invoices, mine blocks, fast-forward the clock)
  Admin         %[1]s/admin        (user admin, password in %[2]s)
  JSON API      %[1]s/api/v1/plans (described by %[1]s/api/openapi.json)
  EC2 emulator  %[3]s (region %[5]s, access key %[6]s, secret key in %[7]s)
  Data folder   %[4]s (log in instars.log)

Try next, in another terminal:

`, url, filepath.Join(env.dir, devAdminFile), emulatorURL, env.dir, devRegion, devAccessKey,
		filepath.Join(env.dir, devCloudSecret))
	if url != "http://"+defaultDevListen {
		fmt.Fprintf(w, "  export INSTARS_SERVER=%s   # the client's default is http://%s\n",
			url, defaultDevListen)
	}
	fmt.Fprintf(w, `  go run ./examples/instars-client keygen --out customer.asc
  ssh-keygen -t ed25519 -N '' -f demo-ssh-key   # any SSH public key will do
  go run ./examples/instars-client --key customer.asc order --plan small-hour --ssh-key demo-ssh-key.pub
  go run ./examples/instars-client invoice INVOICE-ID
  curl -X POST %[1]s/api/v1/dev/invoices/INVOICE-ID/pay
  curl -X POST '%[1]s/api/v1/dev/mine?blocks=2'
  go run ./examples/instars-client --key customer.asc follow INVOICE-ID
  go run ./examples/instars-client --key customer.asc credentials LEASE-ID
  go run ./examples/instars-client --key customer.asc extend LEASE-ID
  curl -X POST '%[1]s/api/v1/dev/advance?by=75m'   # fast-forward the server's clock

`, url)
	if !env.fresh {
		fmt.Fprintln(w, "Note: the data folder was reused. The regtest chain lives in a "+
			"temporary folder of the node and starts fresh at every start, so the payment "+
			"tracker starts at the new chain's tip; invoices still open from the last run can "+
			"be paid again here.")
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop everything.")
}

func (env *devEnvironment) stop() {
	if env.emulator != nil {
		env.emulator.Close()
	}
	if env.node != nil {
		_ = env.node.Stop()
	}
}

func (env *devEnvironment) pay(ctx context.Context, address string, amountSat int64) (
	string, error,
) {
	addr, err := btcutil.DecodeAddress(address, &chaincfg.RegressionNetParams)
	if err != nil {
		return "", fmt.Errorf("%w: address %q is not a regtest address: %v", errBadRequest,
			address, err)
	}
	tx, err := env.node.PayAddress(addr, btcutil.Amount(amountSat), false)
	if err != nil {
		return "", fmt.Errorf("paying from the regtest wallet: %w", err)
	}
	return tx.TxHash().String(), nil
}

func (env *devEnvironment) mine(ctx context.Context, blocks int) (int32, error) {
	if _, err := env.node.Mine(uint32(blocks)); err != nil {
		return 0, fmt.Errorf("mining: %w", err)
	}
	_, height, err := env.node.BestBlock()
	return height, err
}

func (env *devEnvironment) advance(ctx context.Context, by time.Duration) error {
	if err := env.clock.advance(by); err != nil {
		return err
	}
	return env.service.Tick(ctx)
}

func (env *devEnvironment) offset() time.Duration { return env.clock.offset() }

func (env *devEnvironment) webhookReceiver() http.Handler { return env.webhooks }

func (env *devEnvironment) info(ctx context.Context) (*devInfo, error) {
	_, height, err := env.node.BestBlock()
	if err != nil {
		return nil, err
	}
	info := &devInfo{EmulatorURL: env.emulator.URL(), DataDir: env.dir, Height: height,
		Now: env.service.Now(), Offset: env.clock.offset().String(), Instances: []devInstance{},
		Webhooks: env.webhooks.received()}
	for _, i := range env.emulator.Instances() {
		info.Instances = append(info.Instances, devInstance{ID: i.ID, State: i.State,
			InstanceType: i.InstanceType, ImageID: i.ImageID, PublicIP: i.PublicIP,
			Lease: i.Tags[eucalyptus.TagLease]})
	}
	return info, nil
}

// loadOrCreateDevAccount returns the dev account's tpub, creating a random one the first
// time. Only the public key is kept: the server is watch-only in dev mode too, and the
// regtest node's own wallet pays the invoices.
func loadOrCreateDevAccount(path string) (string, error) {
	if data, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(data)), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	seed := make([]byte, hdkeychain.RecommendedSeedLen)
	if _, err := rand.Read(seed); err != nil {
		return "", err
	}
	key, err := hdkeychain.NewMaster(seed, &chaincfg.RegressionNetParams)
	if err != nil {
		return "", err
	}
	for _, index := range []uint32{84, 1, 0} {
		if key, err = key.Derive(hdkeychain.HardenedKeyStart + index); err != nil {
			return "", err
		}
	}
	public, err := key.Neuter()
	if err != nil {
		return "", err
	}
	text := public.String()
	return text, os.WriteFile(path, []byte(text+"\n"), 0o600)
}

// loadOrCreateSecret returns the secret kept in path, creating a random one of n bytes
// (hex-encoded) the first time.
func loadOrCreateSecret(path string, n int) (string, error) {
	if text, err := readSecretFile(path); err == nil {
		return text, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, n)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(raw)
	return secret, os.WriteFile(path, []byte(secret+"\n"), 0o600)
}
