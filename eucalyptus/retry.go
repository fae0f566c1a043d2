package eucalyptus

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// retryer decides which failed EC2 calls are attempted again and how long to wait first. It
// retries throttling errors, 5xx responses and connection errors, up to RetryPolicy.MaxAttempts
// attempts, with exponential backoff and full jitter. A TLS certificate that fails
// verification is not retried, because it fails the same way every time.
//
// Retrying is safe for every call the driver makes: RunInstances always carries a client
// token (requireClientToken enforces it), ImportKeyPair treats a duplicate of the same key as
// success, and CreateTags, TerminateInstances, DeleteKeyPair and the Describe calls are
// idempotent.
//
// Unlike the SDK's standard retryer it keeps no client-wide retry quota: every call is already
// bounded by MaxAttempts, and a shared quota would let faults on one lease fail the calls of
// another.
type retryer struct {
	policy    RetryPolicy
	retryable retry.IsErrorRetryable
	throttle  retry.IsErrorThrottle
	random    func() float64
	logger    *slog.Logger
}

var _ aws.RetryerV2 = (*retryer)(nil)

func newRetryer(policy RetryPolicy, logger *slog.Logger) *retryer {
	return &retryer{
		policy:    policy,
		retryable: retry.IsErrorRetryables(retry.DefaultRetryables),
		throttle:  retry.IsErrorThrottles(retry.DefaultThrottles),
		random:    rand.Float64,
		logger:    logger,
	}
}

// IsErrorRetryable reports whether a failed attempt may be repeated.
func (r *retryer) IsErrorRetryable(err error) bool {
	if isCertificateError(err) {
		return false
	}
	return r.retryable.IsErrorRetryable(err).Bool()
}

// MaxAttempts returns the number of attempts of one call, first included.
func (r *retryer) MaxAttempts() int { return r.policy.MaxAttempts }

// RetryDelay returns the wait before the attempt after attempt (1 for the first) failed with
// err: a uniform draw from zero to min(MaxBackoff, base * 2^(attempt-1)).
func (r *retryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	base := r.policy.BaseDelay
	if r.throttle.IsErrorThrottle(err).Bool() {
		base = r.policy.ThrottleBaseDelay
	}
	ceiling := r.policy.MaxBackoff
	if attempt < 1 {
		attempt = 1
	}
	// Shifting by 30 or more would overflow before the cap applies.
	if attempt <= 30 && base<<(attempt-1) < ceiling {
		ceiling = base << (attempt - 1)
	}
	return time.Duration(r.random() * float64(ceiling)), nil
}

// GetRetryToken is called once for each retry the SDK is about to make, so it logs the retry.
// It stops the retries of a call whose context has ended.
func (r *retryer) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.logger.LogAttrs(ctx, slog.LevelWarn, "retrying EC2 call",
		slog.String("operation", awsmiddleware.GetOperationName(ctx)),
		slog.String("error_code", apiErrorCode(opErr)),
		slog.Bool("throttled", r.throttle.IsErrorThrottle(opErr).Bool()),
		slog.String("error", opErr.Error()))
	return releaseNothing, nil
}

// GetInitialToken is part of aws.Retryer; there is no retry quota to replenish.
func (r *retryer) GetInitialToken() func(error) error { return releaseNothing }

// GetAttemptToken is part of aws.RetryerV2; there is no retry quota to replenish.
func (r *retryer) GetAttemptToken(context.Context) (func(error) error, error) {
	return releaseNothing, nil
}

func releaseNothing(error) error { return nil }
