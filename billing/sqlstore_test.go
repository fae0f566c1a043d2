package billing

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStoreOrders(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		order := testOrder(testCustomer, "nonce-0000000001")
		if err := store.InsertOrder(ctx, order); err != nil {
			t.Fatalf("InsertOrder: %v", err)
		}
		got, err := store.Order(ctx, order.ID)
		if err != nil {
			t.Fatalf("Order: %v", err)
		}
		if !reflect.DeepEqual(got, order) {
			t.Errorf("Order = %+v\nwant %+v", got, order)
		}

		replay := testOrder(testCustomer, "nonce-0000000001")
		if err := store.InsertOrder(ctx, replay); !errors.Is(err, ErrNonceReused) {
			t.Errorf("same nonce, same customer: err = %v, want ErrNonceReused", err)
		}
		other := testOrder("FEDCBA9876543210FEDCBA9876543210FEDCBA98", "nonce-0000000001")
		if err := store.InsertOrder(ctx, other); err != nil {
			t.Errorf("same nonce, other customer: %v", err)
		}
		sameID := testOrder(testCustomer, "nonce-0000000002")
		sameID.ID = order.ID
		if err := store.InsertOrder(ctx, sameID); !errors.Is(err, ErrDuplicate) {
			t.Errorf("same id: err = %v, want ErrDuplicate", err)
		}
		if _, err := store.Order(ctx, "ord_missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing order: err = %v, want ErrNotFound", err)
		}
	})
}

func TestStoreInvoices(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, clock *storeClock) {
		ctx := context.Background()
		order := testOrder(testCustomer, "nonce-0000000001")
		if err := store.InsertOrder(ctx, order); err != nil {
			t.Fatalf("InsertOrder: %v", err)
		}
		inv := storedInvoice(order.ID, "bcrt1qdestination0", "acct", 0)
		if err := store.InsertInvoice(ctx, inv); err != nil {
			t.Fatalf("InsertInvoice: %v", err)
		}
		if inv.Version != 1 || !inv.UpdatedAt.Equal(clock.now) {
			t.Errorf("after insert: version %d, updated %v; want 1, %v", inv.Version,
				inv.UpdatedAt, clock.now)
		}
		got, err := store.Invoice(ctx, inv.ID)
		if err != nil {
			t.Fatalf("Invoice: %v", err)
		}
		if !reflect.DeepEqual(got, inv) {
			t.Errorf("Invoice = %+v\nwant %+v", got, inv)
		}
		byDest, err := store.InvoiceByDestination(ctx, inv.Destination)
		if err != nil || byDest.ID != inv.ID {
			t.Errorf("InvoiceByDestination = %v, %v; want %s", byDest, err, inv.ID)
		}

		sameDest := storedInvoice(order.ID, inv.Destination, "acct", 1)
		if err := store.InsertInvoice(ctx, sameDest); !errors.Is(err, ErrDuplicate) {
			t.Errorf("same destination: err = %v, want ErrDuplicate", err)
		}
		sameIndex := storedInvoice(order.ID, "bcrt1qdestination1", "acct", 0)
		if err := store.InsertInvoice(ctx, sameIndex); !errors.Is(err, ErrDuplicate) {
			t.Errorf("same account index: err = %v, want ErrDuplicate", err)
		}
		otherAccount := storedInvoice(order.ID, "bcrt1qdestination2", "acct2", 0)
		otherAccount.CreatedAt = otherAccount.CreatedAt.Add(time.Millisecond)
		if err := store.InsertInvoice(ctx, otherAccount); err != nil {
			t.Errorf("same index, other account: %v", err)
		}
		for i, dest := range []string{"ln-request-1", "ln-request-2"} {
			noAccount := storedInvoice(order.ID, dest, "", 0)
			noAccount.CreatedAt = noAccount.CreatedAt.Add(time.Duration(i+1) * time.Second)
			if err := store.InsertInvoice(ctx, noAccount); err != nil {
				t.Errorf("invoice %s without account: %v", dest, err)
			}
		}
		unknownOrder := storedInvoice("ord_missing", "bcrt1qdestination3", "acct", 3)
		if err := store.InsertInvoice(ctx, unknownOrder); err == nil {
			t.Errorf("invoice of a missing order: got no error")
		}
		list, err := store.InvoicesByOrder(ctx, order.ID)
		if err != nil {
			t.Fatalf("InvoicesByOrder: %v", err)
		}
		if len(list) != 4 || list[0].ID != inv.ID {
			t.Errorf("InvoicesByOrder returned %d invoices, first %v; want 4, first %s",
				len(list), list[0].ID, inv.ID)
		}
		if _, err := store.Invoice(ctx, "inv_missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing invoice: err = %v, want ErrNotFound", err)
		}
	})
}

func TestStoreInvoiceRejectsBadRows(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		order := testOrder(testCustomer, "nonce-0000000001")
		if err := store.InsertOrder(ctx, order); err != nil {
			t.Fatalf("InsertOrder: %v", err)
		}
		cases := map[string]func(inv *Invoice){
			"zero amount":        func(inv *Invoice) { inv.Amount = 0 },
			"no destination":     func(inv *Invoice) { inv.Destination = "" },
			"state zero":         func(inv *Invoice) { inv.State = 0 },
			"expiry before made": func(inv *Invoice) { inv.ExpiresAt = inv.CreatedAt },
			"negative depth":     func(inv *Invoice) { inv.Policy.Depth = -1 },
		}
		for name, breakInvoice := range cases {
			inv := storedInvoice(order.ID, "bcrt1q"+name, "acct", 9)
			breakInvoice(inv)
			if err := store.InsertInvoice(ctx, inv); err == nil {
				t.Errorf("%s: got no error", name)
			}
		}
	})
}

func TestStoreUpdateInvoice(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, clock *storeClock) {
		ctx := context.Background()
		order := testOrder(testCustomer, "nonce-0000000001")
		if err := store.InsertOrder(ctx, order); err != nil {
			t.Fatalf("InsertOrder: %v", err)
		}
		inv := storedInvoice(order.ID, "bcrt1qdestination0", "acct", 0)
		if err := store.InsertInvoice(ctx, inv); err != nil {
			t.Fatalf("InsertInvoice: %v", err)
		}
		stale := *inv

		clock.now = clock.now.Add(time.Minute)
		inv.State, inv.Status, inv.SettlementReverted = StateProcessing, StatusPaidOver, true
		inv.Paid, inv.Confirmed = 120_000, 20_000
		if err := store.UpdateInvoice(ctx, inv); err != nil {
			t.Fatalf("UpdateInvoice: %v", err)
		}
		if inv.Version != 2 {
			t.Errorf("version after update = %d, want 2", inv.Version)
		}
		got, err := store.Invoice(ctx, inv.ID)
		if err != nil {
			t.Fatalf("Invoice: %v", err)
		}
		if !reflect.DeepEqual(got, inv) {
			t.Errorf("after update: %+v\nwant %+v", got, inv)
		}

		stale.State = StateExpired
		if err := store.UpdateInvoice(ctx, &stale); !errors.Is(err, ErrConflict) {
			t.Errorf("stale update: err = %v, want ErrConflict", err)
		}
		got, _ = store.Invoice(ctx, inv.ID)
		if got.State != StateProcessing {
			t.Errorf("stale update wrote state %v", got.State)
		}
		missing := storedInvoice(order.ID, "x", "acct", 5)
		if err := store.UpdateInvoice(ctx, missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing invoice: err = %v, want ErrNotFound", err)
		}
	})
}

func TestStorePayments(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, clock *storeClock) {
		ctx := context.Background()
		order := testOrder(testCustomer, "nonce-0000000001")
		inv := storedInvoice(order.ID, "bcrt1qdestination0", "acct", 0)
		if err := store.InsertOrder(ctx, order); err != nil {
			t.Fatalf("InsertOrder: %v", err)
		}
		if err := store.InsertInvoice(ctx, inv); err != nil {
			t.Fatalf("InsertInvoice: %v", err)
		}
		p := payment("aa", 60_000, 0, time.Minute)
		p.InvoiceID = inv.ID
		p.SignalsRBF = true

		save := func(p Payment, wantChanged bool, what string) {
			t.Helper()
			changed, err := store.SavePayment(ctx, p)
			if err != nil {
				t.Fatalf("%s: SavePayment: %v", what, err)
			}
			if changed != wantChanged {
				t.Errorf("%s: changed = %v, want %v", what, changed, wantChanged)
			}
		}
		save(p, true, "first report")
		clock.now = clock.now.Add(time.Second)
		save(p, false, "same report again")

		confirmed := p
		confirmed.Confirmations, confirmed.BlockHash, confirmed.BlockHeight = 1, "bb", 101
		confirmed.SeenAt = p.SeenAt.Add(10 * time.Minute) // a later report of first sight
		save(confirmed, true, "confirmed")
		save(confirmed, false, "confirmed again")

		second := payment("aa", 40_000, 0, 2*time.Minute)
		second.InvoiceID, second.Vout = inv.ID, 1
		save(second, true, "second output")

		payments, err := store.Payments(ctx, inv.ID)
		if err != nil {
			t.Fatalf("Payments: %v", err)
		}
		if len(payments) != 2 {
			t.Fatalf("Payments returned %d, want 2 (one per output)", len(payments))
		}
		first := payments[0]
		if first.Confirmations != 1 || first.BlockHash != "bb" || first.BlockHeight != 101 {
			t.Errorf("first payment = %+v, want the confirmed report", first)
		}
		if !first.SeenAt.Equal(p.SeenAt) {
			t.Errorf("first SeenAt = %v, want the earliest %v", first.SeenAt, p.SeenAt)
		}
		if !first.SignalsRBF || first.State != PaymentSeen || first.Amount != 60_000 {
			t.Errorf("first payment fields = %+v", first)
		}
		if !first.UpdatedAt.Equal(invoiceStart.Add(time.Second)) {
			t.Errorf("first UpdatedAt = %v, want the time of the last change", first.UpdatedAt)
		}

		earlier := confirmed
		earlier.SeenAt = p.SeenAt.Add(-time.Second)
		save(earlier, true, "earlier sighting")
		removed := earlier
		removed.State, removed.Confirmations, removed.BlockHash = PaymentRemoved, 0, ""
		save(removed, true, "removed by a reorganisation")
		payments, _ = store.Payments(ctx, inv.ID)
		if payments[0].State != PaymentRemoved || !payments[0].SeenAt.Equal(earlier.SeenAt) {
			t.Errorf("after removal: %+v", payments[0])
		}

		bad := p
		bad.Amount = 0
		if _, err := store.SavePayment(ctx, bad); err == nil {
			t.Errorf("zero amount: got no error")
		}
		bad = p
		bad.State = 0
		if _, err := store.SavePayment(ctx, bad); err == nil {
			t.Errorf("state zero: got no error")
		}
		bad = p
		bad.InvoiceID = "inv_missing"
		if _, err := store.SavePayment(ctx, bad); err == nil {
			t.Errorf("payment to a missing invoice: got no error")
		}
	})
}

func TestStoreDerivationIndexes(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		for want := uint32(0); want < 3; want++ {
			got, err := store.NextDerivationIndex(ctx, "acct")
			if err != nil || got != want {
				t.Fatalf("NextDerivationIndex = %d, %v; want %d", got, err, want)
			}
		}
		if got, err := store.NextDerivationIndex(ctx, "other"); err != nil || got != 0 {
			t.Errorf("other account's first index = %d, %v; want 0", got, err)
		}

		errRollback := errors.New("roll back")
		err := store.InTx(ctx, func(tx StoreTx) error {
			index, err := tx.NextDerivationIndex(ctx, "acct")
			if err != nil || index != 3 {
				t.Errorf("index in transaction = %d, %v; want 3", index, err)
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx = %v, want the callback's error", err)
		}
		if got, _ := store.NextDerivationIndex(ctx, "acct"); got != 3 {
			t.Errorf("index after rollback = %d, want 3 again", got)
		}

		// Concurrent allocations never share an index.
		const workers, each = 8, 25
		var (
			mu   sync.Mutex
			seen = make(map[uint32]bool)
			wg   sync.WaitGroup
		)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					index, err := store.NextDerivationIndex(ctx, "busy")
					if err != nil {
						t.Errorf("concurrent NextDerivationIndex: %v", err)
						return
					}
					mu.Lock()
					if seen[index] {
						t.Errorf("index %d allocated twice", index)
					}
					seen[index] = true
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != workers*each {
			t.Errorf("allocated %d distinct indexes, want %d", len(seen), workers*each)
		}
		if _, err := store.NextDerivationIndex(ctx, ""); err == nil {
			t.Errorf("empty account: got no error")
		}
	})
}

func TestStoreDerivationUsage(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		usage, err := store.DerivationUsage(ctx, "acct")
		if err != nil || usage != (DerivationUsage{}) || usage.UnpaidRun() != 0 {
			t.Fatalf("unused account: %+v, %v", usage, err)
		}
		order := testOrder(testCustomer, "nonce-0000000001")
		if err := store.InsertOrder(ctx, order); err != nil {
			t.Fatalf("InsertOrder: %v", err)
		}
		var invoices []*Invoice
		for i := 0; i < 5; i++ {
			index, err := store.NextDerivationIndex(ctx, "acct")
			if err != nil {
				t.Fatalf("NextDerivationIndex: %v", err)
			}
			inv := storedInvoice(order.ID, fmt.Sprintf("addr%d", index), "acct", index)
			if err := store.InsertInvoice(ctx, inv); err != nil {
				t.Fatalf("InsertInvoice: %v", err)
			}
			invoices = append(invoices, inv)
		}
		usage, _ = store.DerivationUsage(ctx, "acct")
		if usage.Allocated != 5 || usage.AnyPaid || usage.UnpaidRun() != 5 {
			t.Errorf("nothing paid: %+v, run %d; want 5 allocated, run 5", usage,
				usage.UnpaidRun())
		}
		invoices[1].Paid = 1000
		if err := store.UpdateInvoice(ctx, invoices[1]); err != nil {
			t.Fatalf("UpdateInvoice: %v", err)
		}
		usage, _ = store.DerivationUsage(ctx, "acct")
		if !usage.AnyPaid || usage.HighestPaid != 1 || usage.UnpaidRun() != 3 {
			t.Errorf("index 1 paid: %+v, run %d; want highest 1, run 3", usage,
				usage.UnpaidRun())
		}
	})
}

func TestStoreInTx(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		order := testOrder(testCustomer, "nonce-0000000001")
		inv := storedInvoice(order.ID, "bcrt1qdestination0", "acct", 0)
		errRollback := errors.New("roll back")
		err := store.InTx(ctx, func(tx StoreTx) error {
			if (tx.SQLTx() != nil) == (tx.PgxTx() != nil) {
				t.Errorf("SQLTx %v and PgxTx %v: want exactly one", tx.SQLTx(), tx.PgxTx())
			}
			if store.Dialect() == DialectSQLite && tx.SQLTx() == nil {
				t.Errorf("SQLite transaction without SQLTx")
			}
			if err := tx.InsertOrder(ctx, order); err != nil {
				return err
			}
			if err := tx.InsertInvoice(ctx, inv); err != nil {
				return err
			}
			if _, err := tx.Invoice(ctx, inv.ID); err != nil {
				t.Errorf("invoice not visible inside its transaction: %v", err)
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx = %v, want the callback's error", err)
		}
		if _, err := store.Order(ctx, order.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("order after rollback: err = %v, want ErrNotFound", err)
		}

		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("panic in InTx was not propagated")
				}
			}()
			_ = store.InTx(ctx, func(tx StoreTx) error {
				if err := tx.InsertOrder(ctx, order); err != nil {
					t.Errorf("InsertOrder: %v", err)
				}
				panic("callback failed")
			})
		}()
		if _, err := store.Order(ctx, order.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("order after panic: err = %v, want ErrNotFound", err)
		}

		err = store.InTx(ctx, func(tx StoreTx) error {
			if err := tx.InsertOrder(ctx, order); err != nil {
				return err
			}
			return tx.InsertInvoice(ctx, inv)
		})
		if err != nil {
			t.Fatalf("InTx commit: %v", err)
		}
		if _, err := store.Invoice(ctx, inv.ID); err != nil {
			t.Errorf("invoice after commit: %v", err)
		}
	})
}

func TestStoreWatchedInvoices(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		order := testOrder(testCustomer, "nonce-0000000001")
		if err := store.InsertOrder(ctx, order); err != nil {
			t.Fatalf("InsertOrder: %v", err)
		}
		// payment is the state and confirmations of the invoice's one payment; a zero
		// state means no payment.
		type row struct {
			state         InvoiceState
			status        AdditionalStatus
			reverted      bool
			watched       bool
			payment       PaymentState
			confirmations int64
		}
		rows := map[string]row{
			"new":              {StateNew, StatusNone, false, true, 0, 0},
			"expired":          {StateExpired, StatusNone, false, true, 0, 0},
			"processing":       {StateProcessing, StatusNone, false, true, 0, 0},
			"settled":          {StateSettled, StatusNone, false, true, 0, 0},
			"reverted":         {StateNew, StatusNone, true, true, 0, 0},
			"invalid":          {StateInvalid, StatusNone, false, false, 0, 0},
			"marked":           {StateSettled, StatusMarked, false, false, 0, 0},
			"following":        {StateSettled, StatusNone, false, true, PaymentSeen, 2},
			"final":            {StateSettled, StatusNone, false, true, PaymentSeen, 6},
			"removed":          {StateExpired, StatusNone, false, true, PaymentRemoved, 0},
			"marked-following": {StateSettled, StatusMarked, false, false, PaymentSeen, 1},
		}
		i := uint32(0)
		for name, r := range rows {
			inv := storedInvoice(order.ID, name, "acct", i)
			i++
			inv.State, inv.Status, inv.SettlementReverted = r.state, r.status, r.reverted
			if err := store.InsertInvoice(ctx, inv); err != nil {
				t.Fatalf("InsertInvoice %s: %v", name, err)
			}
			if r.payment == 0 {
				continue
			}
			p := payment("aa", 10_000, int32(r.confirmations), time.Minute)
			p.InvoiceID, p.State = inv.ID, r.payment
			if _, err := store.SavePayment(ctx, p); err != nil {
				t.Fatalf("SavePayment %s: %v", name, err)
			}
		}
		check := func(at time.Time, within bool, depth int32) {
			t.Helper()
			list, err := store.WatchedInvoices(ctx, at, depth)
			if err != nil {
				t.Fatalf("WatchedInvoices: %v", err)
			}
			watched := make(map[string]bool)
			for _, inv := range list {
				watched[inv.Destination] = true
			}
			for name, r := range rows {
				want := r.watched
				following := r.payment == PaymentSeen && r.confirmations < int64(depth)
				if !within && r.state != StateProcessing && !r.reverted && !following {
					want = false
				}
				if watched[name] != want {
					t.Errorf("at %v, depth %d: %s watched = %v, want %v", at, depth, name,
						watched[name], want)
				}
			}
		}
		check(invoiceStart.Add(afterExpiry), true, 6)
		check(invoiceStart.Add(afterMonitoring), false, 0)
		check(invoiceStart.Add(afterMonitoring), false, 2)
		check(invoiceStart.Add(afterMonitoring), false, 6)
	})
}

// TestStoreWatchedInvoicesUsesIndexes checks that listing the watched invoices on SQLite
// reads indexes only, not every invoice or payment, since the service lists them at each
// sweep.
func TestStoreWatchedInvoicesUsesIndexes(t *testing.T) {
	store := openSQLiteStore(t, &storeClock{now: invoiceStart})
	rows, err := store.DB().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+
		sqlitePlaceholders(selectWatchedInvoicesSQL), 0, 6)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatalf("read plan: %v", err)
		}
		plan = append(plan, detail)
	}
	// A scan of a partial index reads only the rows it holds.
	partial := regexp.MustCompile(`USING (COVERING )?INDEX (invoices_reverted|payments_following)`)
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN ") && !partial.MatchString(step) {
			t.Errorf("plan step %q reads a whole table or index; plan:\n%s", step,
				strings.Join(plan, "\n"))
		}
	}
}

func TestStoreCursor(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *SQLStore, _ *storeClock) {
		ctx := context.Background()
		if _, err := store.LoadCursor(ctx, "tracker"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unsaved cursor: err = %v, want ErrNotFound", err)
		}
		for _, c := range []ChainCursor{{Hash: "aa", Height: 100}, {Hash: "bb", Height: 99}} {
			if err := store.SaveCursor(ctx, "tracker", c); err != nil {
				t.Fatalf("SaveCursor: %v", err)
			}
			got, err := store.LoadCursor(ctx, "tracker")
			if err != nil || got != c {
				t.Errorf("LoadCursor = %+v, %v; want %+v", got, err, c)
			}
		}
	})
}

func TestStoreMigratesOnce(t *testing.T) {
	clock := &storeClock{now: invoiceStart}
	path := t.TempDir() + "/billing.db"
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		store, err := OpenSQLite(ctx, path, &SQLStoreOptions{Now: clock.Now})
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		var versions int
		if err := store.DB().QueryRowContext(ctx,
			"SELECT COUNT(*) FROM billing_schema_versions").Scan(&versions); err != nil {
			t.Fatalf("count versions: %v", err)
		}
		migrations, _ := migrationsFor(DialectSQLite)
		if versions != len(migrations) {
			t.Errorf("open #%d: %d versions recorded, want %d", i, versions, len(migrations))
		}
		_ = store.Close()
	}
}

func TestPostgresReplicasMigrateOnce(t *testing.T) {
	dsn := newPostgresSchema(t)
	const replicas = 4
	stores := make([]*SQLStore, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = OpenPostgres(context.Background(), dsn, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: OpenPostgres: %v", i, err)
		}
		defer stores[i].Close()
	}
	var versions int
	if err := stores[0].Pool().QueryRow(context.Background(),
		"SELECT COUNT(*) FROM billing_schema_versions").Scan(&versions); err != nil {
		t.Fatalf("count versions: %v", err)
	}
	migrations, _ := migrationsFor(DialectPostgres)
	if versions != len(migrations) {
		t.Errorf("%d versions recorded by %d replicas, want %d", versions, replicas,
			len(migrations))
	}
}
