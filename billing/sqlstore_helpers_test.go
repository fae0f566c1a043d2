package billing

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/ssh"

	"github.com/instars/instars/internal/testenv"
)

// storeClock is a settable clock for stores under test.
type storeClock struct{ now time.Time }

func (c *storeClock) Now() time.Time { return c.now }

// forEachStore runs the test on a fresh SQLite store and a fresh PostgreSQL store.
func forEachStore(t *testing.T, test func(t *testing.T, store *SQLStore, clock *storeClock)) {
	t.Run("sqlite", func(t *testing.T) {
		clock := &storeClock{now: invoiceStart}
		test(t, openSQLiteStore(t, clock), clock)
	})
	t.Run("postgres", func(t *testing.T) {
		clock := &storeClock{now: invoiceStart}
		test(t, openPostgresStore(t, clock), clock)
	})
}

func openSQLiteStore(t testing.TB, clock *storeClock) *SQLStore {
	t.Helper()
	return openSQLiteStoreWith(t, &SQLStoreOptions{Now: clock.Now})
}

func openSQLiteStoreWith(t testing.TB, opts *SQLStoreOptions) *SQLStore {
	t.Helper()
	path := filepath.Join(t.TempDir(), "billing.db")
	store, err := OpenSQLite(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// openTestPostgres opens a store in a new schema of the test database, dropped afterwards,
// so that runs do not see each other's rows.
func openPostgresStore(t testing.TB, clock *storeClock) *SQLStore {
	t.Helper()
	store, err := OpenPostgres(context.Background(), newPostgresSchema(t),
		&SQLStoreOptions{Now: clock.Now})
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// newPostgresSchema creates a schema in the test database, dropped when the test ends, and
// returns a connection string whose search_path selects it.
func newPostgresSchema(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	dsn := testenv.PostgresDSN()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("PostgreSQL not reachable at %s (%v); start it as "+
			"the README describes or set INSTARS_TEST_POSTGRES", dsn, err))
	}
	t.Cleanup(func() { _ = admin.Close(context.Background()) })
	schema := strings.ToLower(strings.ReplaceAll(NewID("billing_test"), "-", "_"))
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", dsn, err)
	}
	query := u.Query()
	query.Set("search_path", schema)
	u.RawQuery = query.Encode()
	return u.String()
}

const testCustomer = "0123456789ABCDEF0123456789ABCDEF01234567"

func testOrder(customer, nonce string) *Order {
	payload := fmt.Sprintf(`{"plan":"small-1d","ssh_public_key":%q,"nonce":%q,`+
		`"created_at":%q}`, testSSHKey, nonce, invoiceStart.Format(time.RFC3339))
	return &Order{
		ID:       NewID("ord"),
		Customer: customer,
		Payload: OrderPayload{
			Plan: "small-1d", SSHPublicKey: testSSHKey, Nonce: nonce, CreatedAt: invoiceStart,
		},
		RawPayload: []byte(payload),
		ReceivedAt: invoiceStart,
	}
}

// storedInvoice returns an invoice for the order, paying to destination at the account's
// index, with every field set to a value that differs from its zero value.
func storedInvoice(orderID, destination, account string, index uint32) *Invoice {
	inv := testInvoice()
	inv.ID = NewID("inv")
	inv.OrderID = orderID
	inv.Price = Price{Currency: "USD", Amount: 1250}
	inv.Rate = Rate{Currency: "USD", MinorPerBTC: 9_712_345, Source: "kraken",
		FetchedAt: invoiceStart.Add(-time.Second)}
	inv.Method = "bitcoin-onchain"
	inv.Destination = destination
	inv.PaymentURI = "bitcoin:" + destination + "?amount=0.001"
	inv.Account = account
	inv.DerivationIndex = index
	inv.Policy = ConfirmationPolicy{Depth: 2, HighValueThreshold: 5_000_000, HighValueDepth: 6,
		ZeroConf: true, ZeroConfMax: 50_000}
	inv.ToleranceBasisPoints = 50
	return inv
}

// testSSHKey is an authorized_keys line of a fixed ed25519 key.
var testSSHKey = func() string {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	public, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(seed).Public())
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(public))) + " alice@laptop"
}()
