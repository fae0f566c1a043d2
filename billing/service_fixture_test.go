package billing

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"golang.org/x/crypto/ssh"

	"github.com/instars/instars/eucalyptus"
	"github.com/instars/instars/internal/ec2emu"
	"github.com/instars/instars/metering"
	"github.com/instars/instars/pgp"
)

// svcChain is a payment ledger served over HTTP, standing in for a node and its tracker in
// tests of the service's own logic (the real tracker is exercised in the regtest tests). It
// lives outside the service's process in the crash tests, so payments survive a kill.
type svcChain struct {
	mu       sync.Mutex
	payments map[string]*Payment // by txid
	dests    map[string]string   // txid to destination
	version  map[string]int      // txid to change counter
	unsynced bool
	watched  map[string]bool
}

func newSvcChain() *svcChain {
	return &svcChain{payments: map[string]*Payment{}, dests: map[string]string{},
		version: map[string]int{}, watched: map[string]bool{}}
}

// pay adds a payment of amount to destination with the given confirmations.
func (c *svcChain) pay(destination string, amount btcutil.Amount, confirmations int32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	txid := fmt.Sprintf("%064x", sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%d", destination,
		amount, len(c.payments)))))
	c.payments[txid] = &Payment{TxID: txid, Vout: 0, Amount: amount, Confirmations: confirmations,
		State: PaymentSeen}
	c.dests[txid] = destination
	c.version[txid]++
	return txid
}

func (c *svcChain) setConfirmations(txid string, n int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.payments[txid].Confirmations = n
	c.version[txid]++
}

// setState marks a payment removed (reorganised out and gone from the mempool) or seen again.
func (c *svcChain) setState(txid string, state PaymentState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.payments[txid].State = state
	c.version[txid]++
}

func (c *svcChain) setSynced(synced bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unsynced = !synced
}

type svcChainReport struct {
	Destination string  `json:"destination"`
	Version     int     `json:"version"`
	Payment     Payment `json:"payment"`
}

func (c *svcChain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch r.URL.Path {
	case "/payments":
		if c.unsynced {
			// A node that is down answers nothing.
			http.Error(w, "node unreachable", http.StatusServiceUnavailable)
			return
		}
		var out []svcChainReport
		for txid, p := range c.payments {
			out = append(out, svcChainReport{Destination: c.dests[txid], Version: c.version[txid],
				Payment: *p})
		}
		_ = json.NewEncoder(w).Encode(out)
	case "/synced":
		_ = json.NewEncoder(w).Encode(!c.unsynced)
	case "/watch":
		c.watched[r.URL.Query().Get("destination")] = true
	default:
		http.NotFound(w, r)
	}
}

func (c *svcChain) isWatched(destination string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.watched[destination]
}

// svcGateway is the Gateway over a svcChain's HTTP interface. It reports each payment
// again whenever its state changed, and everything once after a restart, as the real tracker
// does from its saved cursor.
type svcGateway struct {
	url      string
	client   *http.Client
	interval time.Duration
}

func (g *svcGateway) Method() string { return "test-chain" }

func (g *svcGateway) CreatePaymentRequest(ctx context.Context, tx StoreTx,
	params PaymentRequestParams,
) (PaymentRequest, error) {
	sum := sha256.Sum256([]byte(params.InvoiceID))
	addr, err := btcutil.NewAddressWitnessPubKeyHash(sum[:20], &chaincfg.RegressionNetParams)
	if err != nil {
		return PaymentRequest{}, err
	}
	dest := addr.EncodeAddress()
	return PaymentRequest{Destination: dest, URI: "bitcoin:" + dest + "?amount=" +
		btcutil.Amount(params.Amount).Format(btcutil.AmountBTC)}, nil
}

func (g *svcGateway) Watch(ctx context.Context, req PaymentRequest, until time.Time) error {
	resp, err := g.client.Post(g.url+"/watch?destination="+req.Destination, "text/plain", nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func (g *svcGateway) Synced(ctx context.Context) (bool, error) {
	resp, err := g.client.Get(g.url + "/synced")
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var synced bool
	err = json.NewDecoder(resp.Body).Decode(&synced)
	return synced, err
}

func (g *svcGateway) Run(ctx context.Context, sink PaymentSink) error {
	reported := map[string]int{}
	for {
		if err := g.poll(ctx, sink, reported); err != nil && ctx.Err() == nil {
			// Keep going, as a tracker does while its node is unreachable.
			_ = err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(g.interval):
		}
	}
}

func (g *svcGateway) poll(ctx context.Context, sink PaymentSink, reported map[string]int) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.url+"/payments", nil)
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("chain answered %s", resp.Status)
	}
	var reports []svcChainReport
	if err := json.NewDecoder(resp.Body).Decode(&reports); err != nil {
		return err
	}
	sort.Slice(reports, func(i, j int) bool { return reports[i].Payment.TxID < reports[j].Payment.TxID })
	for _, r := range reports {
		if reported[r.Payment.TxID] == r.Version {
			continue
		}
		err := sink.HandlePayment(ctx, PaymentUpdate{Destination: r.Destination, Payment: r.Payment})
		if err != nil {
			return err
		}
		reported[r.Payment.TxID] = r.Version
	}
	return nil
}

// svcPlan is a one-hour plan priced in satoshis with a 10-minute grace period and a reminder
// 30 minutes before the end.
func svcPlan() metering.Plan {
	return metering.Plan{
		ID: "small-1h", Name: "Small, one hour", InstanceType: "m1.small",
		ImageID: ec2emu.DefaultImages[0].ID, Unit: metering.UnitHour,
		Price: metering.Price{Sats: 50_000}, MinUnits: 1, MaxUnits: 24,
		GraceSeconds: 600, ReminderSeconds: []int64{1800},
	}
}

// svcCloud starts the EC2 emulator (persisting to stateFile when set) and a driver on it.
func svcCloud(t testing.TB, stateFile string) (*ec2emu.Server, *eucalyptus.Driver) {
	t.Helper()
	emu, err := ec2emu.New(ec2emu.Config{
		Credentials: map[string]string{"AKIDTEST": "test-secret"},
		Timings:     &ec2emu.Timings{Pending: 30 * time.Millisecond, TerminatedVisible: time.Hour},
		StateFile:   stateFile,
		// Benchmarks launch many instances; the default quota of 20 would refuse them.
		MaxInstances: 1 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	return emu, svcDriver(t, url)
}

func svcDriver(t testing.TB, url string) *eucalyptus.Driver {
	t.Helper()
	// Never let the AWS SDK probe the instance metadata address. Set for the whole process
	// (not with t.Setenv) so parallel tests may call it.
	_ = os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	driver, err := eucalyptus.New(context.Background(), eucalyptus.Config{
		Endpoint: url, Region: "eucalyptus", AccessKeyID: "AKIDTEST",
		SecretAccessKey: "test-secret", PollInterval: 10 * time.Millisecond,
		MaxPollInterval: 50 * time.Millisecond, HostKeyTimeout: 2 * time.Second,
		LaunchTimeout: 10 * time.Second, RequestTimeout: 5 * time.Second,
		Retry:  eucalyptus.RetryPolicy{MaxAttempts: 2},
		Logger: svcTestLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return driver
}

// svcCustomer is a customer with an OpenPGP key and an SSH key.
type svcCustomer struct {
	key    *pgp.PrivateKey
	sshKey string
}

func newSvcCustomer(t testing.TB) svcCustomer {
	t.Helper()
	key, err := pgp.GenerateKey(pgp.GenerateOptions{Name: "instars customer"})
	if err != nil {
		t.Fatal(err)
	}
	return svcCustomer{key: key, sshKey: svcSSHKey(t)}
}

func svcSSHKey(t testing.TB) string {
	t.Helper()
	// A fixed Ed25519 public key: the service never needs the private half.
	pub := make([]byte, 32)
	copy(pub, []byte("instars-test-customer-ssh-key-32"))
	key, err := ssh.NewPublicKey(ed25519.PublicKey(pub))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) + " customer@test"
}

// order seals an order payload for the plan, extending lease when it is set.
func (c svcCustomer) order(t testing.TB, server *pgp.PublicKey, plan, lease, refund string,
	now time.Time,
) []byte {
	t.Helper()
	payload, err := json.Marshal(OrderPayload{Plan: plan, SSHPublicKey: c.sshKey,
		RefundAddress: refund, Nonce: NewID("n")[2:], CreatedAt: now.UTC(), ExtendsLease: lease})
	if err != nil {
		t.Fatal(err)
	}
	envelope, err := pgp.SealOrder(payload, c.key, server)
	if err != nil {
		t.Fatal(err)
	}
	return envelope
}

func svcServerKey(t testing.TB, dir string) *pgp.Server {
	t.Helper()
	path := filepath.Join(dir, "server.asc")
	key, _, err := pgp.LoadOrGenerateServerKey(path, pgp.ServerKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	server, err := pgp.NewServer(key, pgp.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return server
}

// svcWaitFor polls cond until it holds or the timeout passes; cond says what it waits for.
func svcWaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
