package bitcoin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// coreMempoolEntries serves getmempoolentry with the result Bitcoin Core 27.0 documents (the
// entry's fields, time in Unix seconds among them), or with error -5 "Transaction not in
// mempool", which Bitcoin Core's functional tests expect for a transaction not in its
// mempool. Bitcoin Core does not run here, so this server takes its place for the one call
// under test. The getrawmempool path is tested against btcd.
type coreMempoolEntries struct {
	entered map[string]int64
	mu      sync.Mutex
	methods []string
}

func (c *coreMempoolEntries) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var request struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params []string        `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&request); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.methods = append(c.methods, request.Method)
	c.mu.Unlock()
	reply := map[string]any{"id": request.ID, "result": nil, "error": nil}
	switch seconds, ok := c.entered[request.Params[0]]; {
	case request.Method != "getmempoolentry":
		reply["error"] = map[string]any{"code": -32601, "message": "Method not found"}
	case !ok:
		reply["error"] = map[string]any{"code": -5, "message": "Transaction not in mempool"}
	default:
		reply["result"] = map[string]any{
			"vsize": 141, "weight": 561, "time": seconds, "height": 830_000,
			"descendantcount": 1, "descendantsize": 141, "ancestorcount": 1,
			"ancestorsize": 141, "wtxid": strings.Repeat("ab", 32),
			"fees": map[string]any{"base": 0.00001410, "modified": 0.00001410,
				"ancestor": 0.00001410, "descendant": 0.00001410},
			"depends": []string{}, "spentby": []string{}, "bip125-replaceable": false,
			"unbroadcast": false,
		}
	}
	_ = json.NewEncoder(w).Encode(reply)
}

func TestRPCSourceMempoolEntryBitcoinCore(t *testing.T) {
	paid := chainhash.Hash{7}
	node := &coreMempoolEntries{entered: map[string]int64{paid.String(): 1_717_171_717}}
	server := httptest.NewServer(node)
	t.Cleanup(server.Close)
	cfg, err := RPCSourceConfig{
		Kind: NodeBitcoind, Host: strings.TrimPrefix(server.URL, "http://"), DisableTLS: true,
	}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	client, err := newJSONRPCClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	source := &RPCSource{cfg: cfg, rpc: client}

	entered, err := source.MempoolEntryTime(context.Background(), paid)
	if err != nil {
		t.Fatalf("MempoolEntryTime: %v", err)
	}
	if want := time.Unix(1_717_171_717, 0); !entered.Equal(want) {
		t.Errorf("entry time = %v, want %v", entered, want)
	}
	_, err = source.MempoolEntryTime(context.Background(), chainhash.Hash{8})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("transaction not in the mempool: error %v, want ErrNotFound", err)
	}
	node.mu.Lock()
	defer node.mu.Unlock()
	for _, method := range node.methods {
		if method != "getmempoolentry" {
			t.Errorf("called %s, want only getmempoolentry on a node that has it", method)
		}
	}
}
