package billing

import (
	"context"
	"fmt"
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
