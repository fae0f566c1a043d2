package eucalyptus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// DefaultRegion is the region used when an endpoint is configured without one. It is the name
// a Eucalyptus cloud gives its only region, and request signatures must name a region.
const DefaultRegion = "eucalyptus"

// Config configures a [Driver]. Every field is optional: unset fields fall back to the
// standard AWS settings (environment variables, the shared config and credentials files and
// their profiles), then to the defaults stated on each field. Use [LoadEucarc] to fill one from
// a Eucalyptus eucarc file.
type Config struct {
	// Endpoint is the EC2 endpoint URL, such as "https://ec2.example.com:8773/services/compute"
	// (the EC2_URL of a eucarc). Empty means the endpoint the AWS settings name
	// (AWS_ENDPOINT_URL_EC2, endpoint_url), else the AWS endpoint of Region.
	Endpoint string

	// Region is the region that requests are signed for and, without an Endpoint, sent to.
	// Empty means the AWS settings' region (AWS_REGION, AWS_DEFAULT_REGION, the profile), else
	// DefaultRegion when an endpoint is set.
	Region string

	// AccessKeyID and SecretAccessKey, with the optional SessionToken, are static credentials.
	// Empty means the AWS credential chain (environment, shared files, profile, and container
	// credentials when AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI is set), which
	// never includes the instance metadata service here.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string

	// Profile is the shared config profile to read. Empty means AWS_PROFILE, else "default".
	Profile string

	// CABundlePath is a PEM file of certificate authorities to trust for an HTTPS endpoint
	// signed by a private CA. Empty means the system roots (or AWS_CA_BUNDLE).
	CABundlePath string

	// SubnetID, SecurityGroupIDs and AvailabilityZone place every launched instance. Empty
	// means the cloud's defaults.
	SubnetID         string
	SecurityGroupIDs []string
	AvailabilityZone string

	// Retry bounds the retries of throttled and failed calls.
	Retry RetryPolicy

	// RequestTimeout bounds one HTTP attempt of one call. Default 30s.
	RequestTimeout time.Duration

	// LaunchTimeout bounds the wait for a new instance to run. Default 10m.
	LaunchTimeout time.Duration

	// PollInterval is the first wait between two state checks of a launching instance; the
	// wait doubles up to MaxPollInterval. Defaults 2s and 15s.
	PollInterval    time.Duration
	MaxPollInterval time.Duration

	// NotFoundWait bounds how long Terminate repeats a call that fails because the cloud does
	// not know the instance, before it counts the instance as terminated. EC2 is eventually
	// consistent, so a new instance may be unknown to every call but its RunInstances for a
	// while. Default 1m; a negative value counts the instance as terminated at once.
	NotFoundWait time.Duration

	// HostKeyTimeout bounds how long Launch polls the console output of a running instance
	// for its SSH host keys. Their absence after it is not an error. Default 3m; a negative
	// value skips the console entirely.
	HostKeyTimeout time.Duration

	// Now returns the current time; Sleep waits for d or until ctx ends. Tests replace them to
	// run waits without wall time. Defaults time.Now and a timer.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	// Logger receives retries, state waits and reconcile findings. Default slog.Default().
	Logger *slog.Logger
}

// RetryPolicy bounds the retries of calls that fail with throttling (RequestLimitExceeded and
// the like), a 5xx response or a connection error. Each wait is drawn uniformly from zero to
// min(MaxBackoff, base * 2^(attempt-1)), so concurrent clients spread out.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts of one call, first included. Default 6.
	MaxAttempts int
	// BaseDelay is the base wait after a 5xx response or a connection error. Default 200ms.
	BaseDelay time.Duration
	// ThrottleBaseDelay is the base wait after a throttling error. Default 1s.
	ThrottleBaseDelay time.Duration
	// MaxBackoff caps one wait. Default 20s.
	MaxBackoff time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 6
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.ThrottleBaseDelay <= 0 {
		p.ThrottleBaseDelay = time.Second
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 20 * time.Second
	}
	return p
}

// withDefaults returns c with unset durations, clock and logger at their defaults, or an error
// naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Endpoint != "" {
		if err := validateEndpoint(c.Endpoint); err != nil {
			return c, err
		}
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return c, fmt.Errorf("%w: set both AccessKeyID and SecretAccessKey, or neither to use "+
			"the AWS credential chain", ErrInvalidRequest)
	}
	c.Retry = c.Retry.withDefaults()
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.LaunchTimeout <= 0 {
		c.LaunchTimeout = 10 * time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.MaxPollInterval <= 0 {
		c.MaxPollInterval = 15 * time.Second
	}
	if c.MaxPollInterval < c.PollInterval {
		c.MaxPollInterval = c.PollInterval
	}
	if c.NotFoundWait == 0 {
		c.NotFoundWait = time.Minute
	}
	if c.HostKeyTimeout == 0 {
		c.HostKeyTimeout = 3 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleepContext
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// validateEndpoint checks that endpoint is an absolute http or https URL with a host.
func validateEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "") {
		err = errors.New("no http or https scheme or no host")
	}
	if err != nil {
		return fmt.Errorf("%w: endpoint %q is not an http or https URL with a host, such as "+
			"https://ec2.example.com:8773/services/compute: %w", ErrInvalidRequest, endpoint, err)
	}
	return nil
}

// sleepContext waits for d or until ctx ends, whichever is first.
func sleepContext(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
