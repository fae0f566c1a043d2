package billing

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/instars/instars/bitcoin"
)

// RefundReason is why money is owed back to a customer.
type RefundReason string

// The refund reasons.
const (
	// RefundOverpaid is the excess of a payment over the invoice's amount.
	RefundOverpaid RefundReason = "overpaid"
	// RefundLateDeclined is a payment that arrived after expiry and the operator declined.
	RefundLateDeclined RefundReason = "late_declined"
	// RefundNotProvisioned is a paid lease whose instance could not be launched.
	RefundNotProvisioned RefundReason = "not_provisioned"
	// RefundLeaseEnded is an extension paid after its lease ended, too late to extend it.
	RefundLeaseEnded RefundReason = "lease_ended"
)

// RefundState is the stage a refund is in. The server holds no keys, so a refund is a request
// the operator pays from their own wallet and then marks paid.
type RefundState string

// The refund states.
const (
	// RefundRequested is a refund with a destination, waiting for the operator to pay it.
	RefundRequested RefundState = "requested"
	// RefundAddressMissing is a refund whose customer gave no refund address: the operator
	// must contact the customer (whose OpenPGP key is their only contact).
	RefundAddressMissing RefundState = "address_missing"
	// RefundPaid is a refund the operator paid, with the transaction's ID.
	RefundPaid RefundState = "paid"
)

// Refund is money owed back to a customer.
type Refund struct {
	ID        string
	Customer  string
	InvoiceID string
	// LeaseID is the lease concerned, when there is one.
	LeaseID string
	Reason  RefundReason
	Amount  btcutil.Amount
	// Address is the customer's refund address, empty when they gave none.
	Address   string
	State     RefundState
	TxID      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ErrRefundState is returned when a refund cannot make the requested change from its state.
var ErrRefundState = errors.New("billing: refund is not in a state that allows this")

// insertRefund stores r unless a refund for the same invoice and reason exists, and reports
// whether it inserted one.
func insertRefund(ctx context.Context, db sqlRunner, r Refund) (bool, error) {
	var n int64
	err := queryRow(ctx, db, []any{&n}, `SELECT COUNT(*) FROM refunds
		WHERE invoice_id = $1 AND reason = $2`, r.InvoiceID, string(r.Reason))
	if err != nil {
		return false, fmt.Errorf("billing: checking refunds of invoice %s: %w", r.InvoiceID, err)
	}
	if n > 0 {
		return false, nil
	}
	_, err = db.exec(ctx, `INSERT INTO refunds (id, customer, invoice_id, lease_id, reason,
		amount, address, state, txid, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
		r.ID, r.Customer, r.InvoiceID, r.LeaseID, string(r.Reason), int64(r.Amount), r.Address,
		string(r.State), r.TxID, micros(r.CreatedAt), micros(r.UpdatedAt))
	if err != nil {
		return false, fmt.Errorf("billing: storing refund for invoice %s: %w", r.InvoiceID, err)
	}
	return true, nil
}

const refundColumns = `id, customer, invoice_id, lease_id, reason, amount, address, state, txid,
	created_at, updated_at`

func scanRefund(rows interface{ Scan(...any) error }) (Refund, error) {
	var r Refund
	var reason, state string
	var amount, created, updated int64
	err := rows.Scan(&r.ID, &r.Customer, &r.InvoiceID, &r.LeaseID, &reason, &amount, &r.Address,
		&state, &r.TxID, &created, &updated)
	if err != nil {
		return Refund{}, fmt.Errorf("billing: reading refund: %w", err)
	}
	r.Reason, r.State, r.Amount = RefundReason(reason), RefundState(state), btcutil.Amount(amount)
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return r, nil
}

// listRefunds returns refunds, oldest first, of one customer (all when customer is empty) in
// one state (all when state is empty).
func listRefunds(ctx context.Context, db sqlRunner, customer string, state RefundState) (
	[]Refund, error,
) {
	rows, err := db.query(ctx, `SELECT `+refundColumns+` FROM refunds
		WHERE ($1 = '' OR customer = $1) AND ($2 = '' OR state = $2)
		ORDER BY created_at, id`, customer, string(state))
	if err != nil {
		return nil, fmt.Errorf("billing: listing refunds: %w", err)
	}
	defer rows.Close()
	var out []Refund
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func loadRefund(ctx context.Context, db sqlRunner, id string) (Refund, error) {
	rows, err := db.query(ctx, `SELECT `+refundColumns+` FROM refunds WHERE id = $1`, id)
	if err != nil {
		return Refund{}, fmt.Errorf("billing: reading refund %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Refund{}, err
		}
		return Refund{}, fmt.Errorf("billing: refund %q: %w", id, ErrNotFound)
	}
	return scanRefund(rows)
}

var txidPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// markRefundPaid records the transaction that paid a requested refund. Marking it again with
// the same txid changes nothing; with another txid it fails.
func markRefundPaid(ctx context.Context, db sqlRunner, id, txid string, now time.Time) (
	Refund, bool, error,
) {
	if !txidPattern.MatchString(txid) {
		return Refund{}, false, fmt.Errorf("billing: invalid txid %q: expected 64 lower-case "+
			"hex digits", txid)
	}
	r, err := loadRefund(ctx, db, id)
	if err != nil {
		return Refund{}, false, err
	}
	switch r.State {
	case RefundPaid:
		if r.TxID == txid {
			return r, false, nil
		}
		return Refund{}, false, fmt.Errorf("%w: refund %s was already paid by %s",
			ErrRefundState, id, r.TxID)
	case RefundAddressMissing:
		return Refund{}, false, fmt.Errorf("%w: refund %s has no address yet; set one first",
			ErrRefundState, id)
	}
	r.State, r.TxID, r.UpdatedAt = RefundPaid, txid, now
	_, err = db.exec(ctx, `UPDATE refunds SET state = $1, txid = $2, updated_at = $3
		WHERE id = $4`, string(r.State), r.TxID, micros(now), id)
	if err != nil {
		return Refund{}, false, fmt.Errorf("billing: marking refund %s paid: %w", id, err)
	}
	return r, true, nil
}

// setRefundAddress gives an address-missing refund the address the customer sent.
func setRefundAddress(ctx context.Context, db sqlRunner, id, address string,
	network *chaincfg.Params, now time.Time,
) (Refund, error) {
	if _, err := refundScript(address, network); err != nil {
		return Refund{}, err
	}
	r, err := loadRefund(ctx, db, id)
	if err != nil {
		return Refund{}, err
	}
	if r.State == RefundPaid {
		return Refund{}, fmt.Errorf("%w: refund %s is already paid", ErrRefundState, id)
	}
	r.Address, r.State, r.UpdatedAt = address, RefundRequested, now
	_, err = db.exec(ctx, `UPDATE refunds SET address = $1, state = $2, updated_at = $3
		WHERE id = $4`, address, string(r.State), micros(now), id)
	if err != nil {
		return Refund{}, fmt.Errorf("billing: setting address of refund %s: %w", id, err)
	}
	return r, nil
}

func refundScript(address string, network *chaincfg.Params) ([]byte, error) {
	addr, err := btcutil.DecodeAddress(address, network)
	if err != nil || !addr.IsForNet(network) {
		return nil, fmt.Errorf("billing: invalid refund address %q for %s", address, network.Name)
	}
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		return nil, fmt.Errorf("billing: refund address %q: %w", address, err)
	}
	return script, nil
}

// RefundsPSBT returns a base64 PSBT (BIP 174, version 0) whose unsigned transaction has one
// output per refund and no inputs. The operator's wallet adds the inputs and the change, then
// signs and broadcasts it. Every refund must be in state requested.
//
// NOTE: no wallet was run against this output here; the tests decode it by the BIP 174 layout.
func RefundsPSBT(refunds []Refund, network *chaincfg.Params) (string, error) {
	if len(refunds) == 0 {
		return "", errors.New("billing: no refunds to export")
	}
	tx := wire.NewMsgTx(2)
	for _, r := range refunds {
		if r.State != RefundRequested {
			return "", fmt.Errorf("%w: refund %s is %s, expected %s", ErrRefundState, r.ID,
				r.State, RefundRequested)
		}
		if r.Amount <= 0 {
			return "", fmt.Errorf("billing: refund %s has amount %d, expected more than 0",
				r.ID, r.Amount)
		}
		script, err := refundScript(r.Address, network)
		if err != nil {
			return "", err
		}
		tx.AddTxOut(wire.NewTxOut(int64(r.Amount), script))
	}
	var unsigned bytes.Buffer
	if err := tx.SerializeNoWitness(&unsigned); err != nil {
		return "", fmt.Errorf("billing: encoding refund transaction: %w", err)
	}
	var out bytes.Buffer
	out.WriteString("psbt\xff")
	// Global map: the unsigned transaction under key type 0x00, then the separator.
	writePSBTPair(&out, []byte{0x00}, unsigned.Bytes())
	out.WriteByte(0x00)
	// No input maps; one empty output map (a lone separator) per output.
	for range tx.TxOut {
		out.WriteByte(0x00)
	}
	return base64.StdEncoding.EncodeToString(out.Bytes()), nil
}

func writePSBTPair(w *bytes.Buffer, key, value []byte) {
	_ = wire.WriteVarBytes(w, 0, key)
	_ = wire.WriteVarBytes(w, 0, value)
}

// WriteRefundsCSV writes refunds as CSV with a header row: id, customer, invoice, lease,
// reason, amount in satoshis, amount in BTC, address, state, txid.
func WriteRefundsCSV(w io.Writer, refunds []Refund) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "customer", "invoice_id", "lease_id", "reason", "amount_sat",
		"amount_btc", "address", "state", "txid"})
	for _, r := range refunds {
		_ = cw.Write([]string{r.ID, r.Customer, r.InvoiceID, r.LeaseID, string(r.Reason),
			strconv.FormatInt(int64(r.Amount), 10), bitcoin.FormatBTCFixed(r.Amount), r.Address,
			string(r.State), r.TxID})
	}
	cw.Flush()
	return cw.Error()
}

// refundJSON is the JSON form of a refund, with the amount in satoshis and as an exact BTC
// string.
type refundJSON struct {
	ID        string `json:"id"`
	Customer  string `json:"customer"`
	InvoiceID string `json:"invoice_id"`
	LeaseID   string `json:"lease_id,omitempty"`
	Reason    string `json:"reason"`
	AmountSat int64  `json:"amount_sat"`
	AmountBTC string `json:"amount_btc"`
	Address   string `json:"address,omitempty"`
	State     string `json:"state"`
	TxID      string `json:"txid,omitempty"`
	CreatedAt string `json:"created_at"`
}

// MarshalRefundsJSON returns refunds as a JSON array for a payout script.
func MarshalRefundsJSON(refunds []Refund) ([]byte, error) {
	out := make([]refundJSON, 0, len(refunds))
	for _, r := range refunds {
		out = append(out, refundJSON{
			ID: r.ID, Customer: r.Customer, InvoiceID: r.InvoiceID, LeaseID: r.LeaseID,
			Reason: string(r.Reason), AmountSat: int64(r.Amount), AmountBTC: bitcoin.FormatBTCFixed(r.Amount),
			Address: r.Address, State: string(r.State), TxID: r.TxID,
			CreatedAt: r.CreatedAt.Format(time.RFC3339),
		})
	}
	return json.MarshalIndent(out, "", "  ")
}
