package billing

import (
	"context"
	"strings"
	"testing"

	"github.com/instars/instars/metering"
)

func TestNewServiceRejectsIncompleteConfig(t *testing.T) {
	bad := svcPlan()
	bad.MinUnits = 0
	fiat := svcPlan()
	fiat.ID = "fiat"
	fiat.Price = metering.Price{FiatMinor: 500, Currency: "EUR"}
	_, err := NewService(context.Background(), Config{
		Plans:                []metering.Plan{bad, fiat, fiat},
		Webhooks:             []WebhookEndpoint{{Name: "w", URL: "ftp://x", Secret: []byte("short")}},
		ToleranceBasisPoints: MaxToleranceBasisPoints + 1,
	})
	if err == nil {
		t.Fatal("NewService accepted an empty configuration")
	}
	for _, want := range []string{"Config.Store is required", "Config.Gateway is required",
		"Config.Provisioner is required", "Config.ServerKey is required",
		"Config.Network is required", `plan "small-1h"`, `plan "fiat" appears twice`,
		"Config.Rates is nil", "expected http:// or https://",
		"Config.ToleranceBasisPoints 1001 is too large: expected at most 1000"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestNewServiceRejectsPolicyBeyondGatewayDepth checks that a confirmation policy asking for
// more confirmations than the gateway follows payments to is refused: such invoices could
// never settle.
func TestNewServiceRejectsPolicyBeyondGatewayDepth(t *testing.T) {
	gateway := &followingGateway{depth: 3}
	_, err := NewService(context.Background(), Config{
		Gateway: gateway, Plans: []metering.Plan{svcPlan()},
		Policy: ConfirmationPolicy{Depth: 1, HighValueThreshold: 5_000_000},
	})
	want := "Config.Policy needs 6 confirmations, but the gateway stops following payments at 3"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("NewService = %v, want an error containing %q", err, want)
	}
}

// followingGateway is a gateway that only declares the depth it follows payments to.
type followingGateway struct {
	Gateway
	depth int32
}

func (g *followingGateway) FollowDepth() int32 { return g.depth }
