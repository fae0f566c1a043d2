package billing

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/txscript"

	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/internal/regtest"
)

// testAccountKey returns a regtest P2WPKH account key from a fixed seed.
func testAccountKey(t testing.TB) *bitcoin.AccountKey {
	t.Helper()
	seed := make([]byte, hdkeychain.RecommendedSeedLen)
	for i := range seed {
		seed[i] = byte(0xA0 + i)
	}
	master, err := hdkeychain.NewMaster(seed, bitcoin.Regtest.Params)
	if err != nil {
		t.Fatalf("NewMaster: %v", err)
	}
	public, err := master.Neuter()
	if err != nil {
		t.Fatalf("Neuter: %v", err)
	}
	account, err := bitcoin.ParseAccountKey(public.String(), bitcoin.Regtest, bitcoin.P2WPKH)
	if err != nil {
		t.Fatalf("ParseAccountKey: %v", err)
	}
	return account
}

// onchainFixture is a regtest node, a SQLite store, an on-chain gateway and an invoicer.
type onchainFixture struct {
	node     *regtest.Node
	store    *SQLStore
	account  *bitcoin.AccountKey
	gateway  *OnChainGateway
	invoicer *Invoicer
}

func newOnchainFixture(t *testing.T) *onchainFixture {
	t.Helper()
	node := regtest.Start(t, regtest.Options{})
	rpc := node.RPCConfig()
	source, err := bitcoin.DialRPC(context.Background(), bitcoin.RPCSourceConfig{
		Kind: bitcoin.NodeBtcd, Host: rpc.Host, User: rpc.User, Password: rpc.Pass,
		Certificates: rpc.Certificates, PollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("DialRPC: %v", err)
	}
	t.Cleanup(source.Close)
	store, err := OpenSQLite(context.Background(), t.TempDir()+"/billing.db", nil)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	account := testAccountKey(t)
	gateway, err := NewOnChainGateway(OnChainGatewayConfig{
		Account: account,
		Source:  source,
		Cursors: StoreCursor{Store: store, Name: "regtest"},
		Depth:   6,
	})
	if err != nil {
		t.Fatalf("NewOnChainGateway: %v", err)
	}
	invoicer, err := NewInvoicer(InvoicerConfig{
		Store:   store,
		Gateway: gateway,
		Rates:   &FixedRateSource{Rates: map[string]int64{"USD": 10_000_000}},
	})
	if err != nil {
		t.Fatalf("NewInvoicer: %v", err)
	}
	return &onchainFixture{node: node, store: store, account: account, gateway: gateway,
		invoicer: invoicer}
}

// recordPayment is the smallest consumer of a gateway: it stores the payment and moves the
// invoice to its next state, in one transaction.
func recordPayment(store Store) PaymentSink {
	return PaymentSinkFunc(func(ctx context.Context, update PaymentUpdate) error {
		return store.InTx(ctx, func(tx StoreTx) error {
			inv, err := tx.InvoiceByDestination(ctx, update.Destination)
			if err != nil {
				return err
			}
			payment := update.Payment
			payment.InvoiceID = inv.ID
			if _, err := tx.SavePayment(ctx, payment); err != nil {
				return err
			}
			payments, err := tx.Payments(ctx, inv.ID)
			if err != nil {
				return err
			}
			next, err := NextInvoiceState(inv, payments, time.Now(), MarkNone)
			if err != nil || !next.Changed {
				return err
			}
			next.Apply(inv)
			return tx.UpdateInvoice(ctx, inv)
		})
	})
}

// waitForInvoice polls the store until the invoice reaches the state and status.
func waitForInvoice(t *testing.T, store Store, id string, state InvoiceState,
	status AdditionalStatus) *Invoice {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var inv *Invoice
	for time.Now().Before(deadline) {
		var err error
		inv, err = store.Invoice(context.Background(), id)
		if err != nil {
			t.Fatalf("Invoice: %v", err)
		}
		if inv.State == state && inv.Status == status {
			return inv
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("invoice %s is %v/%v after 30 s, want %v/%v", id, inv.State, inv.Status, state,
		status)
	return nil
}

func TestOnChainGatewayFollowsPayments(t *testing.T) {
	f := newOnchainFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	terms := InvoiceTerms{Price: Price{Currency: "USD", Amount: 1250}, Label: "small 1d"}
	first, err := f.invoicer.CreateInvoice(ctx, testOrder(testCustomer, "nonce-onchain-0001"),
		terms)
	if err != nil {
		t.Fatalf("CreateInvoice: %v", err)
	}
	second, err := f.invoicer.CreateInvoice(ctx, testOrder(testCustomer, "nonce-onchain-0002"),
		terms)
	if err != nil {
		t.Fatalf("CreateInvoice: %v", err)
	}
	// 12.50 USD at 100,000.00 USD per BTC.
	if first.Amount != 12_500 || first.Rate.MinorPerBTC != 10_000_000 {
		t.Errorf("amount %d at rate %d, want 12500 at 10000000", first.Amount,
			first.Rate.MinorPerBTC)
	}
	for i, inv := range []*Invoice{first, second} {
		want, err := f.account.ReceiveAddress(uint32(i))
		if err != nil {
			t.Fatalf("ReceiveAddress: %v", err)
		}
		if inv.DerivationIndex != uint32(i) || inv.Destination != want.EncodeAddress() {
			t.Errorf("invoice %d: index %d, destination %s; want %d, %s", i,
				inv.DerivationIndex, inv.Destination, i, want)
		}
		if !strings.HasPrefix(inv.PaymentURI, "bitcoin:"+inv.Destination+"?amount=0.000125") {
			t.Errorf("invoice %d: URI %s", i, inv.PaymentURI)
		}
	}
	_, err = f.invoicer.CreateInvoice(ctx, testOrder(testCustomer, "nonce-onchain-0001"), terms)
	if !errors.Is(err, ErrNonceReused) {
		t.Errorf("replayed order: err = %v, want ErrNonceReused", err)
	}

	runDone := make(chan error, 1)
	go func() { runDone <- f.gateway.Run(ctx, recordPayment(f.store)) }()

	firstAddress, _ := btcutil.DecodeAddress(first.Destination, bitcoin.Regtest.Params)
	if _, err := f.node.PayAddress(firstAddress, 5_000, false); err != nil {
		t.Fatalf("PayAddress: %v", err)
	}
	waitForInvoice(t, f.store, first.ID, StateNew, StatusPaidPartial)
	if _, err := f.node.PayAddress(firstAddress, 7_500, false); err != nil {
		t.Fatalf("PayAddress: %v", err)
	}
	waitForInvoice(t, f.store, first.ID, StateProcessing, StatusNone)
	if _, err := f.node.Mine(1); err != nil {
		t.Fatalf("Mine: %v", err)
	}
	settled := waitForInvoice(t, f.store, first.ID, StateSettled, StatusNone)
	if settled.Paid != 12_500 || settled.Confirmed != 12_500 {
		t.Errorf("settled with paid %d, confirmed %d; want 12500 each", settled.Paid,
			settled.Confirmed)
	}
	payments, _ := f.store.Payments(ctx, first.ID)
	if len(payments) != 2 {
		t.Errorf("%d payments stored, want 2", len(payments))
	}

	// An RBF payment, then a replacement that pays someone else.
	secondAddress, _ := btcutil.DecodeAddress(second.Destination, bitcoin.Regtest.Params)
	script, _ := txscript.PayToAddrScript(secondAddress)
	original, err := f.node.Pay([]regtest.Payment{{Script: script, Amount: 12_500}}, true)
	if err != nil {
		t.Fatalf("Pay: %v", err)
	}
	waitForInvoice(t, f.store, second.ID, StateProcessing, StatusNone)
	elsewhere, _ := f.account.ChangeAddress(0)
	elsewhereScript, _ := txscript.PayToAddrScript(elsewhere)
	if _, err := f.node.Replace(original, []regtest.Payment{{Script: elsewhereScript,
		Amount: 12_000}}); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	waitForInvoice(t, f.store, second.ID, StateNew, StatusNone)

	cursor, found, err := StoreCursor{Store: f.store, Name: "regtest"}.LoadCursor(ctx)
	if err != nil || !found || cursor.Height == 0 {
		t.Errorf("saved cursor = %v, %v, %v; want the last block", cursor, found, err)
	}
	cancel()
	if err := <-runDone; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
}

func TestCheckGapLimit(t *testing.T) {
	store := openSQLiteStore(t, &storeClock{now: invoiceStart})
	account := testAccountKey(t)
	gateway := &OnChainGateway{account: account, accountName: "acct", gapLimit: 3,
		addresses: newAddressLookahead(account.ReceiveAddress),
		logger:    slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	order := testOrder(testCustomer, "nonce-gaplimit-01")
	if err := store.InsertOrder(ctx, order); err != nil {
		t.Fatalf("InsertOrder: %v", err)
	}
	var invoices []*Invoice
	for i := 0; i < 4; i++ {
		var inv *Invoice
		err := store.InTx(ctx, func(tx StoreTx) error {
			request, err := gateway.CreatePaymentRequest(ctx, tx, PaymentRequestParams{
				InvoiceID: "inv", Amount: 1000})
			if err != nil {
				return err
			}
			inv = storedInvoice(order.ID, request.Destination, request.Account,
				request.DerivationIndex)
			return tx.InsertInvoice(ctx, inv)
		})
		if err != nil {
			t.Fatalf("invoice %d: %v", i, err)
		}
		invoices = append(invoices, inv)
		warning, err := gateway.CheckGapLimit(ctx, store)
		if err != nil {
			t.Fatalf("CheckGapLimit: %v", err)
		}
		if (warning != nil) != (i+1 > 3) {
			t.Errorf("after %d unpaid addresses: warning %+v", i+1, warning)
		}
		if warning != nil && (warning.UnpaidRun != 4 || warning.NextIndex != 4 ||
			!strings.Contains(warning.Message, "gap limit")) {
			t.Errorf("warning = %+v", warning)
		}
	}
	invoices[2].Paid = 500
	if err := store.UpdateInvoice(ctx, invoices[2]); err != nil {
		t.Fatalf("UpdateInvoice: %v", err)
	}
	if warning, _ := gateway.CheckGapLimit(ctx, store); warning != nil {
		t.Errorf("after a payment to index 2: warning %+v, want none", warning)
	}
}
