package regtest

import (
	"fmt"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/btcsuite/btcd/integration/rpctest"
	"github.com/btcsuite/btcd/rpcclient"
)

// SyncTimeout bounds how long Connect, Disconnect and WaitSynced wait for the nodes.
var SyncTimeout = 30 * time.Second

// pollInterval is how often peer lists and chain tips are compared while waiting.
const pollInterval = 20 * time.Millisecond

// Connect makes from dial to as a persistent peer and waits until they are connected. The
// node with the shorter chain then takes the other's, reorganising if they diverged.
func Connect(from, to *Node) error {
	if err := rpctest.ConnectNode(from.Harness, to.Harness); err != nil {
		return fmt.Errorf("connect %s to %s: %w", from.P2PAddress(), to.P2PAddress(), err)
	}
	return nil
}

// Disconnect drops the peer connection that Connect(from, to) made and waits until neither
// node has a peer left, so that each then mines its own chain.
func Disconnect(from, to *Node) error {
	if err := from.Harness.Client.AddNode(to.P2PAddress(), rpcclient.ANRemove); err != nil {
		return fmt.Errorf("disconnect %s from %s: %w", from.P2PAddress(), to.P2PAddress(), err)
	}
	return waitFor(fmt.Sprintf("%s and %s to drop their peers", from.P2PAddress(),
		to.P2PAddress()), func() (bool, error) {
		for _, node := range []*Node{from, to} {
			peers, err := node.Harness.Client.GetPeerInfo()
			if err != nil {
				return false, err
			}
			if len(peers) > 0 {
				return false, nil
			}
		}
		return true, nil
	})
}

// WaitSynced waits until all nodes have the same chain tip.
func WaitSynced(nodes ...*Node) error {
	return waitFor("nodes to reach the same chain tip", func() (bool, error) {
		first, _, err := nodes[0].BestBlock()
		if err != nil {
			return false, err
		}
		for _, node := range nodes[1:] {
			hash, _, err := node.BestBlock()
			if err != nil {
				return false, err
			}
			if !hash.IsEqual(first) {
				return false, nil
			}
		}
		return true, nil
	})
}

// WaitInMempool waits until the node's mempool holds the transaction txid.
func (n *Node) WaitInMempool(txid chainhash.Hash) error {
	return waitFor(fmt.Sprintf("%s in the mempool of %s", txid, n.P2PAddress()),
		func() (bool, error) {
			pool, err := n.Harness.Client.GetRawMempool()
			if err != nil {
				return false, err
			}
			for _, hash := range pool {
				if *hash == txid {
					return true, nil
				}
			}
			return false, nil
		})
}

func waitFor(what string, done func() (bool, error)) error {
	deadline := time.Now().Add(SyncTimeout)
	for {
		ok, err := done()
		if err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s: timed out after %s", what, SyncTimeout)
		}
		time.Sleep(pollInterval)
	}
}
