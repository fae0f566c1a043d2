package bitcoin

import (
	"context"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// fakeChain is an in-memory ChainSource whose best chain and mempool a test edits directly.
// It keeps every block it ever had, like a node keeps stale blocks.
type fakeChain struct {
	mu      sync.Mutex
	blocks  map[chainhash.Hash]*wire.MsgBlock
	best    []chainhash.Hash
	mempool map[chainhash.Hash]*wire.MsgTx
	subs    []chan ChainUpdate
	nonce   uint32
}

func newFakeChain() *fakeChain {
	c := &fakeChain{
		blocks:  make(map[chainhash.Hash]*wire.MsgBlock),
		mempool: make(map[chainhash.Hash]*wire.MsgTx),
	}
	genesis := c.newBlock(chainhash.Hash{}, nil)
	c.best = []chainhash.Hash{genesis.BlockHash()}
	return c
}

// newBlock stores a block on prev holding a coinbase and txs, without changing the chain.
func (c *fakeChain) newBlock(prev chainhash.Hash, txs []*wire.MsgTx) *wire.MsgBlock {
	c.nonce++
	block := wire.NewMsgBlock(wire.NewBlockHeader(1, &prev, &chainhash.Hash{}, 0, c.nonce))
	coinbase := wire.NewMsgTx(2)
	coinbase.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex},
		SignatureScript:  []byte{byte(c.nonce), byte(c.nonce >> 8), byte(c.nonce >> 16)},
	})
	coinbase.AddTxOut(wire.NewTxOut(50, []byte{0x51}))
	_ = block.AddTransaction(coinbase)
	for _, tx := range txs {
		_ = block.AddTransaction(tx)
	}
	c.blocks[block.BlockHash()] = block
	return block
}

// mine appends a block holding txs to the best chain, drops them from the mempool and
// announces the new tip.
func (c *fakeChain) mine(txs ...*wire.MsgTx) BlockID {
	c.mu.Lock()
	block := c.newBlock(c.best[len(c.best)-1], txs)
	c.best = append(c.best, block.BlockHash())
	c.dropMinedLocked(block)
	id := BlockID{Hash: block.BlockHash(), Height: int32(len(c.best) - 1)}
	c.mu.Unlock()
	c.announce(ChainUpdate{Kind: UpdateBlock, Block: id})
	return id
}

// reorg replaces the best chain above height fork with len(blocks) new blocks, returning
// the transactions of the removed blocks to the mempool unless a new block holds them.
func (c *fakeChain) reorg(fork int32, blocks ...[]*wire.MsgTx) BlockID {
	c.mu.Lock()
	for _, hash := range c.best[fork+1:] {
		for _, tx := range c.blocks[hash].Transactions[1:] {
			c.mempool[tx.TxHash()] = tx
		}
	}
	c.best = c.best[:fork+1]
	for _, txs := range blocks {
		block := c.newBlock(c.best[len(c.best)-1], txs)
		c.best = append(c.best, block.BlockHash())
		c.dropMinedLocked(block)
	}
	id := BlockID{Hash: c.best[len(c.best)-1], Height: int32(len(c.best) - 1)}
	c.mu.Unlock()
	c.announce(ChainUpdate{Kind: UpdateBlock, Block: id})
	return id
}

func (c *fakeChain) dropMinedLocked(block *wire.MsgBlock) {
	for _, tx := range block.Transactions {
		delete(c.mempool, tx.TxHash())
		for _, in := range tx.TxIn {
			for txid, pooled := range c.mempool {
				for _, pooledIn := range pooled.TxIn {
					if pooledIn.PreviousOutPoint == in.PreviousOutPoint {
						delete(c.mempool, txid)
					}
				}
			}
		}
	}
}

// accept adds tx to the mempool, evicting transactions it conflicts with, and announces it.
func (c *fakeChain) accept(tx *wire.MsgTx) {
	c.mu.Lock()
	for _, in := range tx.TxIn {
		for txid, pooled := range c.mempool {
			for _, pooledIn := range pooled.TxIn {
				if pooledIn.PreviousOutPoint == in.PreviousOutPoint {
					delete(c.mempool, txid)
				}
			}
		}
	}
	c.mempool[tx.TxHash()] = tx
	c.mu.Unlock()
	c.announce(ChainUpdate{Kind: UpdateTransaction, Tx: tx})
}

// evict removes tx from the mempool silently.
func (c *fakeChain) evict(txid chainhash.Hash) {
	c.mu.Lock()
	delete(c.mempool, txid)
	c.mu.Unlock()
}

func (c *fakeChain) announce(update ChainUpdate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sub := range c.subs {
		sub <- update
	}
}

func (c *fakeChain) Tip(context.Context) (BlockID, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return BlockID{Hash: c.best[len(c.best)-1], Height: int32(len(c.best) - 1)}, nil
}

func (c *fakeChain) BlockHash(_ context.Context, height int32) (chainhash.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if height < 0 || int(height) >= len(c.best) {
		return chainhash.Hash{}, ErrNotFound
	}
	return c.best[height], nil
}

func (c *fakeChain) Block(_ context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	block, ok := c.blocks[hash]
	if !ok {
		return nil, ErrNotFound
	}
	return block, nil
}

func (c *fakeChain) Mempool(context.Context) ([]chainhash.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var txids []chainhash.Hash
	for txid := range c.mempool {
		txids = append(txids, txid)
	}
	return txids, nil
}

func (c *fakeChain) Transaction(_ context.Context, txid chainhash.Hash) (*wire.MsgTx, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, ok := c.mempool[txid]
	if !ok {
		return nil, ErrNotFound
	}
	return tx, nil
}

// Subscribe replays the mempool and then forwards announcements; the channel is large
// enough for any test, so announce never blocks.
func (c *fakeChain) Subscribe(ctx context.Context) <-chan ChainUpdate {
	sub := make(chan ChainUpdate, 1024)
	c.mu.Lock()
	for _, tx := range c.mempool {
		sub <- ChainUpdate{Kind: UpdateTransaction, Tx: tx}
	}
	c.subs = append(c.subs, sub)
	c.mu.Unlock()
	go func() {
		<-ctx.Done()
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, s := range c.subs {
			if s == sub {
				c.subs = append(c.subs[:i], c.subs[i+1:]...)
				break
			}
		}
		close(sub)
	}()
	return sub
}
