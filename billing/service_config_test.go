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
