package billing

import (
	"context"
	"errors"
	"testing"
	"time"
)

// payLate lets the invoice expire and then pays it in full.
func payLate(t *testing.T, b *serviceBundle, inv *Invoice) {
	t.Helper()
	b.advance(t, 16*time.Minute)
	svcWaitFor(t, 5*time.Second, "the invoice to expire", func() bool {
		return b.invoiceState(t, inv.ID) == StateExpired
	})
	b.chain.pay(inv.Destination, inv.Amount, 1)
	svcWaitFor(t, 5*time.Second, "the late payment to settle", func() bool {
		got, err := b.svc.Invoice(context.Background(), inv.ID)
		return err == nil && got.State == StateSettled && got.Status == StatusPaidLate
	})
}

func TestServiceHoldsLatePaymentForOperator(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{configure: func(c *Config) {
		c.LatePayments = LateHold
	}})
	declined := b.submit(t, "")
	accepted := b.submit(t, "")
	payLate(t, b, declined)
	payLate(t, b, accepted)
	held := 0
	svcWaitFor(t, 5*time.Second, "two late-payment alerts", func() bool {
		select {
		case a := <-b.alerts:
			if a.Kind == AlertLatePayment {
				held++
			}
		default:
		}
		return held == 2
	})
	if _, err := b.svc.LeaseForInvoice(ctx, declined.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a held late payment has a lease: %v", err)
	}

	if err := b.svc.DeclineLatePayment(ctx, declined.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.DeclineLatePayment(ctx, declined.ID); err != nil {
		t.Fatalf("declining twice: %v, want no error", err)
	}
	if err := b.svc.AcceptLatePayment(ctx, declined.ID); !errors.Is(err, ErrLatePaymentDecided) {
		t.Fatalf("accepting a declined payment: %v, want ErrLatePaymentDecided", err)
	}
	refunds, err := b.svc.Refunds(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(refunds) != 1 || refunds[0].Reason != RefundLateDeclined ||
		refunds[0].InvoiceID != declined.ID || refunds[0].Amount != declined.Amount {
		t.Fatalf("refunds %+v, want one late_declined refund of %d for %s", refunds,
			declined.Amount, declined.ID)
	}

	if err := b.svc.AcceptLatePayment(ctx, accepted.ID); err != nil {
		t.Fatal(err)
	}
	b.waitLease(t, accepted.ID, LeaseRunning)
	if err := b.svc.AcceptLatePayment(ctx, accepted.ID); err != nil {
		t.Fatalf("accepting twice: %v, want no error", err)
	}
	if err := b.svc.DeclineLatePayment(ctx, accepted.ID); !errors.Is(err, ErrLatePaymentDecided) {
		t.Fatalf("declining an accepted payment: %v, want ErrLatePaymentDecided", err)
	}
	if n := len(b.emu.Instances()); n != 1 {
		t.Fatalf("%d instances, want 1 for the accepted payment", n)
	}
}

// TestServiceDeclineAfterAcceptedExtensionRefund accepts a held late extension whose lease
// has ended meanwhile, which records a lease-ended refund, and checks that declining it
// afterwards is refused instead of recording a second refund of the same payment.
func TestServiceDeclineAfterAcceptedExtensionRefund(t *testing.T) {
	ctx := context.Background()
	b := newServiceBundle(t, bundleOptions{configure: func(c *Config) {
		c.LatePayments = LateHold
	}})
	first := b.submit(t, "")
	b.chain.pay(first.Destination, first.Amount, 1)
	l := b.waitLease(t, first.ID, LeaseRunning)

	extension := b.submit(t, l.ID)
	payLate(t, b, extension)
	b.advance(t, 2*time.Hour)
	svcWaitFor(t, 10*time.Second, "the lease to end", func() bool {
		got, err := b.svc.Lease(ctx, l.ID)
		return err == nil && got.Status == LeaseEnded
	})
	if err := b.svc.AcceptLatePayment(ctx, extension.ID); err != nil {
		t.Fatalf("AcceptLatePayment: %v", err)
	}
	if err := b.svc.DeclineLatePayment(ctx, extension.ID); !errors.Is(err,
		ErrLatePaymentDecided) {
		t.Fatalf("declining an accepted payment: %v, want ErrLatePaymentDecided", err)
	}
	refunds, err := b.svc.Refunds(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(refunds) != 1 || refunds[0].Reason != RefundLeaseEnded ||
		refunds[0].Amount != extension.Amount {
		t.Fatalf("refunds %+v, want one lease_ended refund of %d", refunds, extension.Amount)
	}
}
