package regtest

import (
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/integration/rpctest"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

const (
	// Fee is the fee of every transaction Pay builds: about 9 sat/vB for one P2PKH input
	// and two outputs.
	Fee btcutil.Amount = 2000
	// ReplacementFeeStep is how much more a replacement or conflicting transaction pays
	// than the one it replaces, enough for BIP125's rule that a replacement pays for its own
	// relay at the minimum relay fee on top of the fee it displaces.
	ReplacementFeeStep btcutil.Amount = 2000

	// sequenceRBF is the highest input sequence number that signals replaceability (BIP125).
	sequenceRBF = wire.MaxTxInSequenceNum - 2
)

// keyWallet spends coins held by one P2PKH key so that tests control each input's sequence
// number and can build conflicting spends, which the harness's own wallet does not allow.
type keyWallet struct {
	harness *rpctest.Harness
	key     *btcec.PrivateKey
	script  []byte

	mu sync.Mutex
	// coins are unspent outputs of the key in the order they will be spent.
	coins []wire.OutPoint
	// values holds the value of every output of the key ever seen, spent or not, because
	// signing a conflicting spend needs the values of the original's inputs.
	values map[wire.OutPoint]btcutil.Amount
}

func newKeyWallet(harness *rpctest.Harness) (*keyWallet, error) {
	key, err := btcec.NewPrivateKey()
	if err != nil {
		return nil, fmt.Errorf("generate wallet key: %w", err)
	}
	// A legacy key, because btcd rejects spends with witness data until segwit activates,
	// which takes several 144-block BIP9 periods on a fresh regtest chain. Paying to segwit
	// scripts works before that.
	pubKeyHash := btcutil.Hash160(key.PubKey().SerializeCompressed())
	addr, err := btcutil.NewAddressPubKeyHash(pubKeyHash, &chaincfg.RegressionNetParams)
	if err != nil {
		return nil, err
	}
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		return nil, err
	}
	return &keyWallet{
		harness: harness,
		key:     key,
		script:  script,
		values:  make(map[wire.OutPoint]btcutil.Amount),
	}, nil
}

// fund moves count coins of value from the harness wallet to the key and mines them.
func (w *keyWallet) fund(count int, value btcutil.Amount) error {
	outputs := make([]*wire.TxOut, count)
	for i := range outputs {
		outputs[i] = wire.NewTxOut(int64(value), w.script)
	}
	tx, err := w.harness.CreateTransaction(outputs, 10, true)
	if err != nil {
		return fmt.Errorf("fund wallet key with %d coins of %s: %w", count, value, err)
	}
	if _, err := w.harness.Client.SendRawTransaction(tx, true); err != nil {
		return fmt.Errorf("broadcast funding transaction: %w", err)
	}
	if _, err := w.harness.Client.Generate(1); err != nil {
		return fmt.Errorf("mine funding transaction: %w", err)
	}
	w.addOutputs(tx)
	return nil
}

// addOutputs records the outputs of tx that pay to the key as spendable coins.
func (w *keyWallet) addOutputs(tx *wire.MsgTx) {
	w.mu.Lock()
	defer w.mu.Unlock()
	txid := tx.TxHash()
	for i, out := range tx.TxOut {
		if string(out.PkScript) != string(w.script) {
			continue
		}
		outpoint := wire.OutPoint{Hash: txid, Index: uint32(i)}
		w.coins = append(w.coins, outpoint)
		w.values[outpoint] = btcutil.Amount(out.Value)
	}
}

// takeCoin removes and returns the first coin worth at least need.
func (w *keyWallet) takeCoin(need btcutil.Amount) (wire.OutPoint, btcutil.Amount, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, outpoint := range w.coins {
		if value := w.values[outpoint]; value >= need {
			w.coins = append(w.coins[:i], w.coins[i+1:]...)
			return outpoint, value, nil
		}
	}
	return wire.OutPoint{}, 0, fmt.Errorf("no wallet coin worth %s or more: fund the node "+
		"with more or larger coins (Options.Coins, Options.CoinValue)", need)
}

// build returns a signed transaction spending inputs, paying outputs, and returning what is
// left after fee to the key.
func (w *keyWallet) build(inputs []wire.OutPoint, outputs []*wire.TxOut, fee btcutil.Amount,
	rbf bool) (*wire.MsgTx, error) {

	sequence := uint32(wire.MaxTxInSequenceNum)
	if rbf {
		sequence = sequenceRBF
	}
	tx := wire.NewMsgTx(2)
	var in btcutil.Amount
	w.mu.Lock()
	for _, outpoint := range inputs {
		value, ok := w.values[outpoint]
		if !ok {
			w.mu.Unlock()
			return nil, fmt.Errorf("input %s is not a wallet coin", outpoint)
		}
		in += value
		txIn := wire.NewTxIn(&outpoint, nil, nil)
		txIn.Sequence = sequence
		tx.AddTxIn(txIn)
	}
	w.mu.Unlock()

	var out btcutil.Amount
	for _, txOut := range outputs {
		out += btcutil.Amount(txOut.Value)
		tx.AddTxOut(txOut)
	}
	change := in - out - fee
	if change < 0 {
		return nil, fmt.Errorf("inputs of %s do not cover outputs of %s and fee %s", in, out, fee)
	}
	// Change below the dust limit of a P2PKH output (546 sat) is left to the fee.
	if change >= 546 {
		tx.AddTxOut(wire.NewTxOut(int64(change), w.script))
	}

	for i, txIn := range tx.TxIn {
		sigScript, err := txscript.SignatureScript(tx, i, w.script, txscript.SigHashAll,
			w.key, true)
		if err != nil {
			return nil, fmt.Errorf("sign input %d: %w", i, err)
		}
		txIn.SignatureScript = sigScript
	}
	return tx, nil
}

// Payment is one output of a transaction built by Pay.
type Payment struct {
	Script []byte
	Amount btcutil.Amount
}

// BuildPayment returns a signed transaction from the node's own key paying each payment,
// without broadcasting it. With rbf set its input signals replaceability (BIP125).
func (n *Node) BuildPayment(payments []Payment, rbf bool) (*wire.MsgTx, error) {
	outputs := make([]*wire.TxOut, len(payments))
	var total btcutil.Amount
	for i, p := range payments {
		outputs[i] = wire.NewTxOut(int64(p.Amount), p.Script)
		total += p.Amount
	}
	// Leave room for a replacement's higher fee in the same input.
	need := total + Fee + 4*ReplacementFeeStep
	coin, _, err := n.wallet.takeCoin(need)
	if err != nil {
		return nil, err
	}
	tx, err := n.wallet.build([]wire.OutPoint{coin}, outputs, Fee, rbf)
	if err != nil {
		n.wallet.mu.Lock()
		n.wallet.coins = append(n.wallet.coins, coin)
		n.wallet.mu.Unlock()
		return nil, err
	}
	n.wallet.addOutputs(tx)
	return tx, nil
}

// Pay broadcasts a transaction from the node's own key paying each payment and returns it.
func (n *Node) Pay(payments []Payment, rbf bool) (*wire.MsgTx, error) {
	tx, err := n.BuildPayment(payments, rbf)
	if err != nil {
		return nil, err
	}
	if err := n.Broadcast(tx); err != nil {
		return nil, err
	}
	return tx, nil
}

// PayScript pays amount to an output script in a transaction of its own.
func (n *Node) PayScript(script []byte, amount btcutil.Amount, rbf bool) (*wire.MsgTx, error) {
	return n.Pay([]Payment{{Script: script, Amount: amount}}, rbf)
}

// PayAddress pays amount to addr in a transaction of its own.
func (n *Node) PayAddress(addr btcutil.Address, amount btcutil.Amount,
	rbf bool) (*wire.MsgTx, error) {

	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		return nil, fmt.Errorf("output script for %s: %w", addr, err)
	}
	return n.PayScript(script, amount, rbf)
}

// BuildConflict returns a signed transaction that spends the same inputs as original (built
// by this node), pays payments instead, and pays ReplacementFeeStep more fee. It is not
// broadcast: Broadcast it to replace an RBF-signalling original in the mempool, or mine it
// with MineTransactions to double-spend an original that does not signal.
func (n *Node) BuildConflict(original *wire.MsgTx, payments []Payment,
	rbf bool) (*wire.MsgTx, error) {

	inputs := make([]wire.OutPoint, len(original.TxIn))
	var in btcutil.Amount
	n.wallet.mu.Lock()
	for i, txIn := range original.TxIn {
		inputs[i] = txIn.PreviousOutPoint
		in += n.wallet.values[txIn.PreviousOutPoint]
	}
	n.wallet.mu.Unlock()
	var out btcutil.Amount
	for _, txOut := range original.TxOut {
		out += btcutil.Amount(txOut.Value)
	}
	outputs := make([]*wire.TxOut, len(payments))
	for i, p := range payments {
		outputs[i] = wire.NewTxOut(int64(p.Amount), p.Script)
	}
	tx, err := n.wallet.build(inputs, outputs, in-out+ReplacementFeeStep, rbf)
	if err != nil {
		return nil, fmt.Errorf("build conflict of %s: %w", original.TxHash(), err)
	}
	n.wallet.addOutputs(tx)
	return tx, nil
}

// Replace broadcasts a conflict of original paying payments; original must signal RBF.
func (n *Node) Replace(original *wire.MsgTx, payments []Payment) (*wire.MsgTx, error) {
	tx, err := n.BuildConflict(original, payments, true)
	if err != nil {
		return nil, err
	}
	if err := n.Broadcast(tx); err != nil {
		return nil, err
	}
	return tx, nil
}

// Broadcast submits tx to the node's mempool.
func (n *Node) Broadcast(tx *wire.MsgTx) error {
	if _, err := n.Harness.Client.SendRawTransaction(tx, true); err != nil {
		return fmt.Errorf("broadcast %s: %w", tx.TxHash(), err)
	}
	return nil
}

// NewScript returns a fresh P2WPKH output script of a throwaway key, for payments that the
// test only needs to tell apart.
func NewScript() ([]byte, error) {
	key, err := btcec.NewPrivateKey()
	if err != nil {
		return nil, err
	}
	hash := btcutil.Hash160(key.PubKey().SerializeCompressed())
	return txscript.NewScriptBuilder().AddOp(txscript.OP_0).AddData(hash).Script()
}
