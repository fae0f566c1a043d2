package regtest

import (
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"
)

func TestPayAndMine(t *testing.T) {
	node := Start(t, Options{})
	script, err := NewScript()
	if err != nil {
		t.Fatal(err)
	}

	tx, err := node.PayScript(script, 50_000, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.WaitInMempool(tx.TxHash()); err != nil {
		t.Fatal(err)
	}
	if tx.TxIn[0].Sequence != wire.MaxTxInSequenceNum {
		t.Errorf("sequence = %#x, want final %#x", tx.TxIn[0].Sequence, wire.MaxTxInSequenceNum)
	}

	_, before, err := node.BestBlock()
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := node.Mine(2)
	if err != nil {
		t.Fatal(err)
	}
	if len(hashes) != 2 {
		t.Fatalf("mined %d blocks, want 2", len(hashes))
	}
	block, err := node.Client().GetBlock(hashes[0])
	if err != nil {
		t.Fatal(err)
	}
	if !blockHas(block, tx.TxHash()) {
		t.Errorf("block %s lacks payment %s", hashes[0], tx.TxHash())
	}
	_, after, err := node.BestBlock()
	if err != nil {
		t.Fatal(err)
	}
	if after != before+2 {
		t.Errorf("height = %d, want %d", after, before+2)
	}
}

func TestReplaceSignalling(t *testing.T) {
	node := Start(t, Options{})
	script, err := NewScript()
	if err != nil {
		t.Fatal(err)
	}

	original, err := node.PayScript(script, 70_000, true)
	if err != nil {
		t.Fatal(err)
	}
	if original.TxIn[0].Sequence != sequenceRBF {
		t.Errorf("sequence = %#x, want %#x", original.TxIn[0].Sequence, uint32(sequenceRBF))
	}

	other, err := NewScript()
	if err != nil {
		t.Fatal(err)
	}
	replacement, err := node.Replace(original, []Payment{{Script: other, Amount: 70_000}})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.WaitInMempool(replacement.TxHash()); err != nil {
		t.Fatal(err)
	}
	pool, err := node.Client().GetRawMempool()
	if err != nil {
		t.Fatal(err)
	}
	for _, hash := range pool {
		if *hash == original.TxHash() {
			t.Errorf("replaced transaction %s still in the mempool", original.TxHash())
		}
	}
}

func TestConflictMinedEvictsOriginal(t *testing.T) {
	node := Start(t, Options{})
	script, err := NewScript()
	if err != nil {
		t.Fatal(err)
	}

	original, err := node.PayScript(script, 80_000, false)
	if err != nil {
		t.Fatal(err)
	}
	conflict, err := node.BuildConflict(original, []Payment{{Script: script, Amount: 1000}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Broadcast(conflict); err == nil {
		t.Fatal("node accepted a conflict of a non-signalling transaction into its mempool")
	}

	hash, err := node.MineTransactions(conflict)
	if err != nil {
		t.Fatal(err)
	}
	best, _, err := node.BestBlock()
	if err != nil {
		t.Fatal(err)
	}
	if *best != *hash {
		t.Fatalf("tip = %s, want the block with the conflict %s", best, hash)
	}
	pool, err := node.Client().GetRawMempool()
	if err != nil {
		t.Fatal(err)
	}
	if len(pool) != 0 {
		t.Errorf("mempool holds %d transactions after the double spend, want 0", len(pool))
	}
}

func TestReorgAcrossTwoNodes(t *testing.T) {
	main := Start(t, Options{})
	side := Start(t, Options{Empty: true})
	if err := Connect(side, main); err != nil {
		t.Fatal(err)
	}
	if err := WaitSynced(main, side); err != nil {
		t.Fatal(err)
	}
	if err := Disconnect(side, main); err != nil {
		t.Fatal(err)
	}

	script, err := NewScript()
	if err != nil {
		t.Fatal(err)
	}
	tx, err := main.PayScript(script, btcutil.Amount(90_000), false)
	if err != nil {
		t.Fatal(err)
	}
	mined, err := main.Mine(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := side.Mine(2); err != nil {
		t.Fatal(err)
	}

	if err := Connect(side, main); err != nil {
		t.Fatal(err)
	}
	if err := WaitSynced(main, side); err != nil {
		t.Fatal(err)
	}
	best, _, err := main.BestBlock()
	if err != nil {
		t.Fatal(err)
	}
	if *best == *mined[0] {
		t.Fatalf("main kept its own block %s after the reorganisation", best)
	}
	// btcd returns transactions of disconnected blocks to its mempool.
	if err := main.WaitInMempool(tx.TxHash()); err != nil {
		t.Fatal(err)
	}
}

func blockHas(block *wire.MsgBlock, txid [32]byte) bool {
	for _, tx := range block.Transactions {
		if tx.TxHash() == txid {
			return true
		}
	}
	return false
}
