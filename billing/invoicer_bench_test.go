package billing

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/internal/regtest"
)

// benchInvoicer returns an invoicer over a new SQLite store, the on-chain gateway with a
// regtest account key, and a rate provider in front of a fixed source, as the server wires
// them.
func benchInvoicer(b testing.TB, node *regtest.Node) (*Invoicer, *SQLStore) {
	b.Helper()
	rpc := node.RPCConfig()
	source, err := bitcoin.DialRPC(context.Background(), bitcoin.RPCSourceConfig{
		Kind: bitcoin.NodeBtcd, Host: rpc.Host, User: rpc.User, Password: rpc.Pass,
		Certificates: rpc.Certificates, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatalf("DialRPC: %v", err)
	}
	b.Cleanup(source.Close)
	store, err := OpenSQLite(context.Background(), b.TempDir()+"/billing.db", nil)
	if err != nil {
		b.Fatalf("OpenSQLite: %v", err)
	}
	b.Cleanup(func() { _ = store.Close() })
	gateway, err := NewOnChainGateway(OnChainGatewayConfig{
		Account: testAccountKey(b),
		Source:  source,
		Cursors: StoreCursor{Store: store, Name: "bench"},
	})
	if err != nil {
		b.Fatalf("NewOnChainGateway: %v", err)
	}
	fixed := &FixedRateSource{Rates: map[string]int64{"USD": 9_712_345}}
	rates, err := NewRateProvider(RateProviderConfig{
		Sources:           []RateSource{fixed},
		SpreadBasisPoints: 50,
	})
	if err != nil {
		b.Fatalf("NewRateProvider: %v", err)
	}
	invoicer, err := NewInvoicer(InvoicerConfig{Store: store, Gateway: gateway, Rates: rates})
	if err != nil {
		b.Fatalf("NewInvoicer: %v", err)
	}
	return invoicer, store
}

// latencies collects per-operation durations and reports their 50th and 99th percentiles,
// the throughput, and the process's CPU time per operation (user and system, all
// goroutines), which varies less than the others when other programs share the machine.
type latencies struct {
	mu       sync.Mutex
	samples  []time.Duration
	cpuStart time.Duration
}

// processCPU returns the CPU time the process has used.
func processCPU() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

func (l *latencies) start() { l.cpuStart = processCPU() }

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.samples = append(l.samples, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.samples) == 0 {
		return
	}
	slices.Sort(l.samples)
	percentile := func(p int) float64 {
		i := (len(l.samples)*p + 99) / 100
		return float64(l.samples[max(i-1, 0)].Microseconds()) / 1000
	}
	b.ReportMetric(percentile(50), "p50-ms")
	b.ReportMetric(percentile(99), "p99-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "invoices/s")
	cpu := processCPU() - l.cpuStart
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkCreateInvoice measures making an invoice for a verified order through the
// Invoicer on SQLite: rate lookup, converting the price, allocating the derivation index,
// deriving the address, writing the order and the invoice in one committed transaction,
// and watching the address. The derive and store sub-benchmarks are the two main costs
// alone, as a baseline in the same run.
func BenchmarkCreateInvoice(b *testing.B) {
	node := regtest.Start(b, regtest.Options{})
	terms := InvoiceTerms{Price: Price{Currency: "USD", Amount: 1250}, Label: "bench"}

	b.Run("derive", func(b *testing.B) {
		account := testAccountKey(b)
		var lat latencies
		lat.start()
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			if _, err := account.ReceiveAddress(uint32(i)); err != nil {
				b.Fatal(err)
			}
			lat.add(time.Since(start))
		}
		lat.report(b)
	})

	b.Run("store", func(b *testing.B) {
		_, store := benchInvoicer(b, node)
		ctx := context.Background()
		var lat latencies
		lat.start()
		for i := 0; b.Loop(); i++ {
			order := testOrder(testCustomer, fmt.Sprintf("nonce-bench-%08d", i))
			start := time.Now()
			err := store.InTx(ctx, func(tx StoreTx) error {
				if err := tx.InsertOrder(ctx, order); err != nil {
					return err
				}
				index, err := tx.NextDerivationIndex(ctx, "bench")
				if err != nil {
					return err
				}
				return tx.InsertInvoice(ctx, storedInvoice(order.ID,
					fmt.Sprintf("dest%d", index), "bench", index))
			})
			if err != nil {
				b.Fatal(err)
			}
			lat.add(time.Since(start))
		}
		lat.report(b)
	})

	b.Run("invoicer", func(b *testing.B) {
		invoicer, _ := benchInvoicer(b, node)
		ctx := context.Background()
		var lat latencies
		lat.start()
		for i := 0; b.Loop(); i++ {
			order := testOrder(testCustomer, fmt.Sprintf("nonce-bench-%08d", i))
			start := time.Now()
			if _, err := invoicer.CreateInvoice(ctx, order, terms); err != nil {
				b.Fatal(err)
			}
			lat.add(time.Since(start))
		}
		lat.report(b)
	})

	// Concurrent callers, as an HTTP server has: 8 per core.
	b.Run("invoicer-concurrent", func(b *testing.B) {
		invoicer, _ := benchInvoicer(b, node)
		ctx := context.Background()
		var (
			lat  latencies
			next atomic.Int64
		)
		b.SetParallelism(8)
		lat.start()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1)
				order := testOrder(testCustomer, fmt.Sprintf("nonce-bench-%08d", i))
				start := time.Now()
				if _, err := invoicer.CreateInvoice(ctx, order, terms); err != nil {
					b.Error(err)
					return
				}
				lat.add(time.Since(start))
			}
		})
		lat.report(b)
	})

	// Orders arriving at the target rate, each on its own goroutine as HTTP requests
	// would, whatever the earlier ones are doing. A latency counts from when the order was
	// due, so an order started late because the machine was busy counts its wait too.
	b.Run("invoicer-at-5000/s", func(b *testing.B) {
		invoicer, _ := benchInvoicer(b, node)
		ctx := context.Background()
		const interval = time.Second / 5000
		var (
			lat latencies
			wg  sync.WaitGroup
		)
		lat.start()
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			due := start.Add(time.Duration(i) * interval)
			// Pacing the arrivals, not waiting for a condition.
			time.Sleep(time.Until(due))
			order := testOrder(testCustomer, fmt.Sprintf("nonce-bench-%08d", i))
			wg.Go(func() {
				if _, err := invoicer.CreateInvoice(ctx, order, terms); err != nil {
					b.Error(err)
					return
				}
				lat.add(time.Since(due))
			})
		}
		wg.Wait()
		lat.report(b)
	})
}
