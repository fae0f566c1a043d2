package billing

import (
	"context"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/instars/instars/internal/testenv"
	"github.com/instars/instars/metering"
)

// svcPostgresDSN creates a fresh schema on the test server and returns a DSN that uses it, or
// skips when no server runs.
func svcPostgresDSN(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgxpool.New(ctx, testenv.PostgresDSN())
	if err == nil {
		err = admin.Ping(ctx)
	}
	if err != nil {
		testenv.Missing(t, "PostgreSQL not reachable at "+testenv.PostgresDSN()+
			" (start one as .ci/run does, or set INSTARS_TEST_POSTGRES): "+err.Error())
	}
	schema := "svc_" + NewID("t")[2:]
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(testenv.PostgresDSN())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestTwoServicesOnPostgresRunEachJobOnce(t *testing.T) {
	ctx := context.Background()
	dsn := svcPostgresDSN(t)
	dir := t.TempDir()
	chain := newSvcChain()
	chainSrv := httptest.NewServer(chain)
	t.Cleanup(chainSrv.Close)
	emu, driver := svcCloud(t, "")
	clock := metering.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	server := svcServerKey(t, dir)
	hooks := &webhookLog{ids: map[string]int{}}
	secret := []byte("postgres-test-webhook-secret-0123")
	hookSrv := httptest.NewServer(hooks.handler(secret))
	t.Cleanup(hookSrv.Close)

	var services []*Service
	for range 2 {
		store, err := OpenPostgres(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close() })
		svc, err := NewService(ctx, Config{
			Store: store,
			Gateway: &svcGateway{url: chainSrv.URL, client: chainSrv.Client(),
				interval: 10 * time.Millisecond},
			Provisioner: EucalyptusProvisioner{Driver: driver},
			ServerKey:   server, Network: &chaincfg.RegressionNetParams,
			Plans: []metering.Plan{svcPlan()}, Clock: clock,
			Webhooks:       []WebhookEndpoint{{Name: "receiver", URL: hookSrv.URL, Secret: secret}},
			CloudRetryBase: 10 * time.Millisecond, JobPollInterval: 20 * time.Millisecond,
			Logger: svcTestLogger(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Stop(context.Background()) })
		services = append(services, svc)
	}

	const orders = 6
	customer := newSvcCustomer(t)
	var invoices []*Invoice
	for i := range orders {
		envelope := customer.order(t, server.PublicKey(), svcPlan().ID, "", "", clock.Now())
		inv, err := services[i%2].SubmitOrder(ctx, envelope, customer.key.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		invoices = append(invoices, inv)
	}
	for _, inv := range invoices {
		chain.pay(inv.Destination, inv.Amount, 1)
	}
	svcWaitFor(t, 30*time.Second, "every lease to run", func() bool {
		leases, err := services[0].ListLeases(ctx, "")
		if err != nil || len(leases) != orders {
			return false
		}
		for _, l := range leases {
			if l.Status != LeaseRunning {
				return false
			}
		}
		return true
	})
	if n := len(emu.Instances()); n != orders {
		t.Fatalf("%d instances for %d leases", n, orders)
	}
	if calls := emu.Calls("RunInstances"); calls != orders {
		t.Errorf("RunInstances called %d times for %d leases: a provisioning job ran twice",
			calls, orders)
	}

	clock.Advance(71 * time.Minute)
	var wg sync.WaitGroup
	for _, svc := range services {
		wg.Go(func() {
			if err := svc.Tick(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	svcWaitFor(t, 30*time.Second, "every instance to be terminated", func() bool {
		leases, err := services[1].ListLeases(ctx, "")
		if err != nil {
			return false
		}
		for _, l := range leases {
			if l.InstanceTerminatedAt.IsZero() {
				return false
			}
		}
		return true
	})
	if calls := emu.Calls("TerminateInstances"); calls != orders {
		t.Errorf("TerminateInstances called %d times for %d leases", calls, orders)
	}
	events, err := services[0].ListEvents(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[EventKind]int{}
	var ids []string
	for _, ev := range events {
		kinds[ev.Kind]++
		ids = append(ids, ev.ID)
	}
	for _, k := range []EventKind{EventInvoiceSettled, EventInstanceLaunched, EventLeaseEnded,
		EventInstanceTerminated} {
		if kinds[k] != orders {
			t.Errorf("%d %s events, want %d", kinds[k], k, orders)
		}
	}
	svcWaitFor(t, 30*time.Second, "every event to reach the webhook receiver", func() bool {
		return hooks.has(ids)
	})
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	for id, n := range hooks.ids {
		if n != 1 {
			t.Errorf("event %s delivered %d times by two services, want once", id, n)
		}
	}
}
