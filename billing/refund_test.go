package billing

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// refundAddrA and refundAddrB are regtest P2WPKH and P2WSH addresses of fixed hashes.
var (
	refundAddrA = svcMustAddress(btcutil.NewAddressWitnessPubKeyHash(bytes.Repeat([]byte{1}, 20),
		&chaincfg.RegressionNetParams))
	refundAddrB = svcMustAddress(btcutil.NewAddressWitnessScriptHash(bytes.Repeat([]byte{2}, 32),
		&chaincfg.RegressionNetParams))
)

func svcMustAddress[A btcutil.Address](addr A, err error) string {
	if err != nil {
		panic(err)
	}
	return addr.EncodeAddress()
}

func TestRefundsPSBTHasOneOutputPerRefund(t *testing.T) {
	refunds := []Refund{
		{ID: "ref_a", Amount: 12_345, Address: refundAddrA, State: RefundRequested},
		{ID: "ref_b", Amount: 100_000_000, Address: refundAddrB, State: RefundRequested},
	}
	encoded, err := RefundsPSBT(refunds, &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatalf("PSBT is not base64: %v", err)
	}
	if !bytes.HasPrefix(raw, []byte("psbt\xff")) {
		t.Fatalf("PSBT starts with %x, want the magic 70736274ff", raw[:5])
	}
	r := bytes.NewReader(raw[5:])
	key, err := wire.ReadVarBytes(r, 0, 1<<20, "key")
	if err != nil || !bytes.Equal(key, []byte{0}) {
		t.Fatalf("first global key = %x (%v), want 00 (unsigned tx)", key, err)
	}
	value, err := wire.ReadVarBytes(r, 0, 1<<20, "value")
	if err != nil {
		t.Fatal(err)
	}
	var tx wire.MsgTx
	if err := tx.DeserializeNoWitness(bytes.NewReader(value)); err != nil {
		t.Fatalf("unsigned tx does not decode: %v", err)
	}
	if len(tx.TxIn) != 0 || len(tx.TxOut) != 2 {
		t.Fatalf("tx has %d inputs and %d outputs, want 0 and 2", len(tx.TxIn), len(tx.TxOut))
	}
	for i, ref := range refunds {
		if tx.TxOut[i].Value != int64(ref.Amount) {
			t.Errorf("output %d pays %d, want %d", i, tx.TxOut[i].Value, ref.Amount)
		}
		_, addrs, _, err := txscript.ExtractPkScriptAddrs(tx.TxOut[i].PkScript,
			&chaincfg.RegressionNetParams)
		if err != nil || len(addrs) != 1 || addrs[0].EncodeAddress() != ref.Address {
			t.Errorf("output %d pays %v (%v), want %s", i, addrs, err, ref.Address)
		}
	}
	rest := make([]byte, r.Len())
	_, _ = r.Read(rest)
	// The global separator, then one empty map per output.
	if !bytes.Equal(rest, []byte{0, 0, 0}) {
		t.Fatalf("after the unsigned tx: %x, want 000000", rest)
	}
}

func TestRefundsPSBTRejectsUnpayable(t *testing.T) {
	params := &chaincfg.RegressionNetParams
	cases := []struct {
		name string
		r    Refund
	}{
		{"address missing", Refund{ID: "r", Amount: 1, State: RefundAddressMissing}},
		{"already paid", Refund{ID: "r", Amount: 1, Address: refundAddrA, State: RefundPaid}},
		{"mainnet address", Refund{ID: "r", Amount: 1, State: RefundRequested,
			Address: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}},
		{"zero amount", Refund{ID: "r", Address: refundAddrA, State: RefundRequested}},
	}
	for _, c := range cases {
		if _, err := RefundsPSBT([]Refund{c.r}, params); err == nil {
			t.Errorf("%s: RefundsPSBT succeeded, want an error", c.name)
		}
	}
}

func TestRefundRecordLifecycle(t *testing.T) {
	ctx := context.Background()
	db := svcOpenSQLite(t)
	if err := migrateService(ctx, db); err != nil {
		t.Fatal(err)
	}
	run := runnerFor(db)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	r := Refund{ID: NewID("ref"), Customer: "FPR", InvoiceID: "inv_1", Reason: RefundOverpaid,
		Amount: btcutil.Amount(5000), State: RefundAddressMissing, CreatedAt: now, UpdatedAt: now}
	if ok, err := insertRefund(ctx, run, r); err != nil || !ok {
		t.Fatalf("insertRefund = %v, %v; want true, nil", ok, err)
	}
	dup := r
	dup.ID = NewID("ref")
	if ok, err := insertRefund(ctx, run, dup); err != nil || ok {
		t.Fatalf("second insertRefund for the same invoice and reason = %v, %v; want false",
			ok, err)
	}
	txid := strings.Repeat("ab", 32)
	if _, _, err := markRefundPaid(ctx, run, r.ID, txid, now); !errors.Is(err, ErrRefundState) {
		t.Fatalf("marking an address-missing refund paid: %v, want ErrRefundState", err)
	}
	if _, err := setRefundAddress(ctx, run, r.ID, "not-an-address",
		&chaincfg.RegressionNetParams, now); err == nil {
		t.Fatal("setRefundAddress accepted an invalid address")
	}
	got, err := setRefundAddress(ctx, run, r.ID, refundAddrA, &chaincfg.RegressionNetParams, now)
	if err != nil || got.State != RefundRequested {
		t.Fatalf("setRefundAddress = %+v, %v", got, err)
	}
	if _, _, err := markRefundPaid(ctx, run, r.ID, "XYZ", now); err == nil {
		t.Fatal("markRefundPaid accepted an invalid txid")
	}
	if _, changed, err := markRefundPaid(ctx, run, r.ID, txid, now); err != nil || !changed {
		t.Fatalf("markRefundPaid = %v, %v; want changed", changed, err)
	}
	if _, changed, err := markRefundPaid(ctx, run, r.ID, txid, now); err != nil || changed {
		t.Fatalf("repeated markRefundPaid = %v, %v; want unchanged, nil", changed, err)
	}
	other := strings.Repeat("cd", 32)
	if _, _, err := markRefundPaid(ctx, run, r.ID, other, now); !errors.Is(err, ErrRefundState) {
		t.Fatalf("markRefundPaid with another txid: %v, want ErrRefundState", err)
	}
	paid, err := listRefunds(ctx, run, "FPR", RefundPaid)
	if err != nil || len(paid) != 1 || paid[0].TxID != txid {
		t.Fatalf("listRefunds(paid) = %+v, %v", paid, err)
	}

	var buf bytes.Buffer
	if err := WriteRefundsCSV(&buf, paid); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(records) != 2 {
		t.Fatalf("CSV has %d records (%v), want header and 1 row", len(records), err)
	}
	if records[1][5] != "5000" || records[1][6] != "0.00005000" || records[1][9] != txid {
		t.Fatalf("CSV row = %v", records[1])
	}
}
