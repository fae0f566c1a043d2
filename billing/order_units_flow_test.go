package billing

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/instars/instars/pgp"
)

// sealUnitsOrder seals an order for units of the test plan; an extension carries no SSH key.
func sealUnitsOrder(t *testing.T, b *serviceBundle, units int64, lease string) []byte {
	t.Helper()
	p := OrderPayload{Plan: svcPlan().ID, Units: units, Nonce: NewID("n")[2:],
		CreatedAt: b.clock.Now().UTC(), ExtendsLease: lease, RefundAddress: refundAddrA}
	if lease == "" {
		p.SSHPublicKey = b.customer.sshKey
	}
	payload, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	envelope, err := pgp.SealOrder(payload, b.customer.key, b.server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return envelope
}

// payInFull pays an invoice with one confirmation and waits for its settlement.
func payInFull(t *testing.T, b *serviceBundle, inv *Invoice) {
	t.Helper()
	svcWaitFor(t, 5*time.Second, "the gateway to watch "+inv.ID, func() bool {
		return b.chain.isWatched(inv.Destination)
	})
	b.chain.pay(inv.Destination, inv.Amount, 1)
	svcWaitFor(t, 10*time.Second, inv.ID+" to settle", func() bool {
		return b.invoiceState(t, inv.ID) == StateSettled
	})
}

func TestServiceOrderAndExtendByUnits(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{})
	key := b.customer.key.PublicKey()

	_, err := b.svc.SubmitOrder(ctx, sealUnitsOrder(t, b, 25, ""), key)
	if !errors.Is(err, ErrInvalidOrder) || !strings.Contains(err.Error(), "expected 1 to 24") {
		t.Fatalf("ordering 25 units of a 24-unit plan: err = %v, want the range named", err)
	}

	inv, err := b.svc.SubmitOrder(ctx, sealUnitsOrder(t, b, 3, ""), key)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Amount != 150_000 {
		t.Fatalf("three hours cost %d sat, want 150000", inv.Amount)
	}
	payInFull(t, b, inv)
	l := b.waitLease(t, inv.ID, LeaseRunning)
	if want := l.StartedAt.Add(3 * time.Hour); !l.EndsAt.Equal(want) {
		t.Fatalf("a lease of three units ends at %v, want %v", l.EndsAt, want)
	}

	ext, err := b.svc.Extend(ctx, sealUnitsOrder(t, b, 2, l.ID), key)
	if err != nil {
		t.Fatalf("extension without an SSH key: %v", err)
	}
	if ext.Amount != 100_000 {
		t.Fatalf("two more hours cost %d sat, want 100000", ext.Amount)
	}
	payInFull(t, b, ext)
	extended, err := b.svc.Lease(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := l.EndsAt.Add(2 * time.Hour); !extended.EndsAt.Equal(want) {
		t.Errorf("after two more units the lease ends at %v, want %v", extended.EndsAt, want)
	}
	if n := len(b.emu.Instances()); n != 1 {
		t.Errorf("the extension left %d instances, want the one", n)
	}
}
