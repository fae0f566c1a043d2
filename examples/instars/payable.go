package main

import (
	"github.com/instars/instars/billing"
	"github.com/instars/instars/bitcoin"
)

// payableURI returns the invoice's payment URI asking for what is still due, so that a
// customer who paid a part and scans the QR code again does not pay the whole amount twice.
// Any other URI, or one this network cannot parse, is returned unchanged.
func (s *stack) payableURI(inv *billing.Invoice) string {
	due := inv.Amount - inv.Paid
	if inv.State != billing.StateNew || inv.Paid <= 0 || due <= 0 {
		return inv.PaymentURI
	}
	uri, err := bitcoin.ParsePaymentURI(inv.PaymentURI, s.network)
	if err != nil || uri.Amount != inv.Amount {
		return inv.PaymentURI
	}
	uri.Amount = due
	return uri.String()
}
