package eucalyptus

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// responseError builds the error the SDK returns for an EC2 error response.
func responseError(status int, code string) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "test"},
		},
	}
}

func TestRetryerClassifiesErrors(t *testing.T) {
	r := newRetryer(RetryPolicy{}.withDefaults(), slog.New(slog.DiscardHandler))
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"throttled", responseError(503, "RequestLimitExceeded"), true},
		{"throttled with 400", responseError(400, "RequestLimitExceeded"), true},
		{"internal error", responseError(500, "InternalError"), true},
		{"unavailable", responseError(503, "Unavailable"), true},
		{"auth failure", responseError(401, "AuthFailure"), false},
		{"bad parameter", responseError(400, "InvalidParameterValue"), false},
		{"not found", responseError(400, "InvalidInstanceID.NotFound"), false},
		{"plain error", errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := r.IsErrorRetryable(tt.err); got != tt.want {
			t.Errorf("IsErrorRetryable(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRetryerDelayBounds(t *testing.T) {
	policy := RetryPolicy{
		MaxAttempts: 5, BaseDelay: 100 * time.Millisecond,
		ThrottleBaseDelay: time.Second, MaxBackoff: 3 * time.Second,
	}
	r := newRetryer(policy, slog.New(slog.DiscardHandler))
	r.random = func() float64 { return 1 }
	serverError := responseError(500, "InternalError")
	throttled := responseError(503, "RequestLimitExceeded")
	tests := []struct {
		attempt int
		err     error
		want    time.Duration
	}{
		{1, serverError, 100 * time.Millisecond},
		{2, serverError, 200 * time.Millisecond},
		{4, serverError, 800 * time.Millisecond},
		{6, serverError, 3 * time.Second},
		{1, throttled, time.Second},
		{2, throttled, 2 * time.Second},
		{3, throttled, 3 * time.Second},
		{40, throttled, 3 * time.Second},
	}
	for _, tt := range tests {
		got, err := r.RetryDelay(tt.attempt, tt.err)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("RetryDelay(%d, %v) = %v, want the ceiling %v", tt.attempt, tt.err, got,
				tt.want)
		}
	}
	r.random = func() float64 { return 0.25 }
	if got, _ := r.RetryDelay(2, serverError); got != 50*time.Millisecond {
		t.Errorf("RetryDelay with jitter 0.25 = %v, want 50ms", got)
	}
}

func TestRetryerStopsAfterContextEnds(t *testing.T) {
	r := newRetryer(RetryPolicy{}.withDefaults(), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.GetRetryToken(ctx, responseError(500, "InternalError")); err == nil {
		t.Error("GetRetryToken after the context ended returned no error")
	}
	if _, err := r.GetRetryToken(context.Background(), responseError(500, "x")); err != nil {
		t.Errorf("GetRetryToken: %v", err)
	}
}
