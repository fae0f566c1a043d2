package bitcoin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/instars/instars/internal/regtest"
)

// esploraFrontend serves the Esplora endpoints EsploraSource reads, answering each from a
// real node through an RPCSource, the way an Esplora server indexes a node.
func esploraFrontend(t *testing.T, node ChainSource) *httptest.Server {
	t.Helper()
	fail := func(w http.ResponseWriter, err error) {
		if errors.Is(err, ErrNotFound) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /blocks/tip/height", func(w http.ResponseWriter, r *http.Request) {
		tip, err := node.Tip(r.Context())
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, tip.Height)
	})
	mux.HandleFunc("GET /block-height/{height}", func(w http.ResponseWriter, r *http.Request) {
		height, err := strconv.Atoi(r.PathValue("height"))
		if err != nil {
			http.Error(w, "bad height", http.StatusBadRequest)
			return
		}
		hash, err := node.BlockHash(r.Context(), int32(height))
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, hash.String())
	})
	mux.HandleFunc("GET /block/{hash}/raw", func(w http.ResponseWriter, r *http.Request) {
		hash, err := chainhash.NewHashFromStr(r.PathValue("hash"))
		if err != nil {
			http.Error(w, "bad hash", http.StatusBadRequest)
			return
		}
		block, err := node.Block(r.Context(), *hash)
		if err != nil {
			fail(w, err)
			return
		}
		var buf bytes.Buffer
		_ = block.Serialize(&buf)
		_, _ = w.Write(buf.Bytes())
	})
	mux.HandleFunc("GET /mempool/txids", func(w http.ResponseWriter, r *http.Request) {
		txids, err := node.Mempool(r.Context())
		if err != nil {
			fail(w, err)
			return
		}
		hexIDs := make([]string, len(txids))
		for i, txid := range txids {
			hexIDs[i] = txid.String()
		}
		_ = json.NewEncoder(w).Encode(hexIDs)
	})
	mux.HandleFunc("GET /tx/{txid}/raw", func(w http.ResponseWriter, r *http.Request) {
		txid, err := chainhash.NewHashFromStr(r.PathValue("txid"))
		if err != nil {
			http.Error(w, "bad txid", http.StatusBadRequest)
			return
		}
		tx, err := node.Transaction(r.Context(), *txid)
		if err != nil {
			fail(w, err)
			return
		}
		var buf bytes.Buffer
		_ = tx.Serialize(&buf)
		_, _ = w.Write(buf.Bytes())
	})
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	return server
}

func TestEsploraPaymentToDepth(t *testing.T) {
	node := regtest.Start(t, regtest.Options{})
	server := esploraFrontend(t, dialNode(t, node, NodeBtcd))
	source, err := NewEsploraSource(EsploraConfig{
		BaseURL: server.URL, PollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := source.Transaction(context.Background(), chainhash.Hash{1}); !errors.Is(err,
		ErrNotFound) {
		t.Errorf("unknown transaction: error %v, want ErrNotFound", err)
	}

	script := newScript(t)
	cursors := &MemoryCursorStore{}
	log, _ := runTracker(t, source, cursors, 2, script)
	waitCursorAtTip(t, node, cursors)
	tx, err := node.PayScript(script, 33_000, true)
	if err != nil {
		t.Fatal(err)
	}
	outpoint := outpointTo(t, tx, script)
	if seen := log.expect(t, EventMempool, outpoint, 0); !seen.SignalsRBF {
		t.Error("RBF-signalling payment not reported as signalling")
	}
	mine(t, node, 1)
	log.expect(t, EventConfirmed, outpoint, 1)
	mine(t, node, 1)
	if final := log.expect(t, EventConfirmed, outpoint, 2); !final.Final {
		t.Error("second confirmation at depth 2 is not final")
	}
}

func TestEsploraConfigErrors(t *testing.T) {
	for _, base := range []string{"", "esplora.example/api", "ftp://esplora.example"} {
		if _, err := NewEsploraSource(EsploraConfig{BaseURL: base}); err == nil {
			t.Errorf("BaseURL %q accepted", base)
		}
	}
	source, err := NewEsploraSource(EsploraConfig{BaseURL: "http://127.0.0.1:1/api"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := source.Tip(context.Background()); !errors.Is(err, ErrUnreachable) {
		t.Errorf("closed port: error %v, want ErrUnreachable", err)
	}
}
