package billing

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/instars/instars/eucalyptus"
)

// BenchmarkOrderToRunning measures one order from the sealed envelope to a running lease
// with sealed credentials: SubmitOrder, the payment report, settlement, the provisioning job
// and the launch on the EC2 emulator (30 ms pending time), on a SQLite store.
func BenchmarkOrderToRunning(b *testing.B) {
	bundle := newServiceBundle(b, bundleOptions{})
	for b.Loop() {
		inv := bundle.submit(b, "")
		bundle.chain.pay(inv.Destination, inv.Amount, 1)
		bundle.waitLease(b, inv.ID, LeaseRunning)
	}
}

// BenchmarkLaunchOnly is the baseline: the eucalyptus driver's launch of one instance on the
// same emulator, which the service's latency includes.
func BenchmarkLaunchOnly(b *testing.B) {
	_, driver := svcCloud(b, "")
	key := svcSSHKey(b)
	i := 0
	for b.Loop() {
		i++
		_, err := driver.Launch(context.Background(), eucalyptus.LaunchRequest{
			LeaseID: fmt.Sprintf("bench-%d", i),
			ImageID: svcPlan().ImageID, InstanceType: svcPlan().InstanceType, SSHPublicKey: key,
			PaidUntil: time.Now().Add(time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubmitOrder measures the service's order intake on SQLite: opening the sealed
// envelope (decryption and signature check), pricing, and storing the order, the invoice,
// its event and its deadline jobs. Envelopes are sealed before the timer starts. The
// sequential run has one caller; the concurrent one has 8 per core, as an HTTP server has.
func BenchmarkSubmitOrder(b *testing.B) {
	run := func(b *testing.B, parallelism int) {
		bundle := newServiceBundle(b, bundleOptions{})
		envelopes := make([][]byte, b.N)
		for i := range envelopes {
			envelopes[i] = bundle.customer.order(b, bundle.server.PublicKey(), svcPlan().ID,
				"", refundAddrA, bundle.clock.Now())
		}
		key := bundle.customer.key.PublicKey()
		var (
			lat  latencies
			next atomic.Int64
		)
		submit := func() bool {
			envelope := envelopes[next.Add(1)-1]
			start := time.Now()
			if _, err := bundle.svc.SubmitOrder(context.Background(), envelope,
				key); err != nil {
				b.Error(err)
				return false
			}
			lat.add(time.Since(start))
			return true
		}
		lat.start()
		b.ResetTimer()
		if parallelism == 0 {
			for range b.N {
				if !submit() {
					break
				}
			}
		} else {
			b.SetParallelism(parallelism)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() && submit() {
				}
			})
		}
		lat.report(b)
	}
	b.Run("sequential", func(b *testing.B) { run(b, 0) })
	b.Run("concurrent", func(b *testing.B) { run(b, 8) })
}
