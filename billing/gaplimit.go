package billing

import (
	"context"
	"fmt"
)

// GapLimitWarning reports that the operator's wallet may not show the latest payments: the
// account has more consecutive unpaid addresses at its end than the wallet scans past.
// Wallets find an account's payments by deriving addresses in order and stop after a run
// of unused ones (the gap limit), so a payment to an address beyond that run stays
// invisible in the wallet, though it is on the chain and the server has seen it.
type GapLimitWarning struct {
	// Account is the account's name in the store.
	Account string
	// UnpaidRun is the number of consecutive addresses, at the end of those given out,
	// that received nothing.
	UnpaidRun uint32
	// GapLimit is the wallet's gap limit the run is compared with.
	GapLimit uint32
	// NextIndex is the next derivation index to be given out.
	NextIndex uint32
	// Message is the text for the operator: what is wrong and what to do.
	Message string
}

// CheckGapLimit returns a warning, also logged, when the account's run of unpaid addresses
// exceeds the wallet's gap limit; nil otherwise. It reads the store, so call it from the
// admin view or a periodic job rather than for every invoice.
func (g *OnChainGateway) CheckGapLimit(ctx context.Context, q Queries) (*GapLimitWarning,
	error) {
	usage, err := q.DerivationUsage(ctx, g.accountName)
	if err != nil {
		return nil, err
	}
	warning := gapLimitWarning(g.accountName, usage, g.gapLimit)
	if warning != nil {
		g.logger.WarnContext(ctx, "unpaid addresses exceed the wallet's gap limit",
			"account", warning.Account, "unpaid_run", warning.UnpaidRun,
			"gap_limit", warning.GapLimit, "next_index", warning.NextIndex)
	}
	return warning, nil
}

func gapLimitWarning(account string, usage DerivationUsage, gapLimit uint32) *GapLimitWarning {
	run := usage.UnpaidRun()
	if run <= gapLimit {
		return nil
	}
	return &GapLimitWarning{
		Account:   account,
		UnpaidRun: run,
		GapLimit:  gapLimit,
		NextIndex: usage.Allocated,
		Message: fmt.Sprintf("The last %d addresses given out received no payment, more "+
			"than the wallet's gap limit of %d, so the wallet may not show payments to later "+
			"addresses. Raise the wallet's gap limit to at least %d (or rescan with that "+
			"limit); the payments are on the chain and nothing is lost.", run, gapLimit,
			run+DefaultGapLimit),
	}
}
