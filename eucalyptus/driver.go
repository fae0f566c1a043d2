package eucalyptus

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/logging"
)

// awsRegionPattern matches the shape of AWS region names, such as us-east-1 or
// us-gov-west-1, which become part of the endpoint's host name.
var awsRegionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// Driver launches, describes, terminates and reconciles instances over the EC2 API. It is safe
// for concurrent use.
type Driver struct {
	client *ec2.Client
	cfg    Config
	logger *slog.Logger

	region             string
	endpointURL        string
	endpointConfigured bool
	accessKeyID        string
}

// New builds a Driver from cfg and the standard AWS settings. It resolves the region, endpoint
// and credentials but sends nothing to EC2; call [Driver.Check] to test them against the cloud.
// Credentials that need a call to obtain (an assumed role, SSO) are obtained here.
//
// The SDK's instance metadata client is disabled, so no setting, default or fallback makes the
// driver contact the EC2 instance metadata service.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rt := newRetryer(cfg.Retry, cfg.Logger)
	opts := []func(*config.LoadOptions) error{
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
		config.WithRetryer(func() aws.Retryer { return rt }),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(cfg.RequestTimeout)),
		config.WithLogger(sdkLogger(cfg.Logger)),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	if cfg.CABundlePath != "" {
		pem, err := os.ReadFile(cfg.CABundlePath)
		if err != nil {
			return nil, fmt.Errorf("eucalyptus: cannot read CA bundle: %w", err)
		}
		// The SDK's own error for a file without certificates names neither the file nor the
		// field.
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CABundlePath %s contains no PEM certificate; expected "+
				"one or more -----BEGIN CERTIFICATE----- blocks", ErrInvalidRequest,
				cfg.CABundlePath)
		}
		opts = append(opts, config.WithCustomCABundle(bytes.NewReader(pem)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("eucalyptus: cannot load AWS configuration: %w", err)
	}

	client := ec2.NewFromConfig(awsCfg, func(o *ec2.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		if o.Region == "" && o.BaseEndpoint != nil {
			o.Region = DefaultRegion
		}
		o.APIOptions = append(o.APIOptions, addRequireClientToken)
	})
	d := &Driver{client: client, cfg: cfg, logger: cfg.Logger}
	options := client.Options()
	d.region = options.Region
	if options.BaseEndpoint != nil {
		d.endpointConfigured = true
		d.endpointURL = *options.BaseEndpoint
	}
	if d.region == "" {
		return nil, fmt.Errorf("%w: set EC2_URL in the eucarc, Config.Endpoint or "+
			"AWS_ENDPOINT_URL_EC2 for a Eucalyptus or other EC2-compatible cloud, or "+
			"Config.Region or AWS_REGION for AWS", ErrMissingEndpoint)
	}
	if !d.endpointConfigured {
		if !awsRegionPattern.MatchString(d.region) {
			return nil, fmt.Errorf("%w %q: without an endpoint the region names an AWS "+
				"endpoint, so it must look like us-east-1; set Config.Endpoint for another "+
				"cloud", ErrUnknownRegion, d.region)
		}
		d.endpointURL = "https://ec2." + d.region + ".amazonaws.com"
	}
	// Only the access key id is kept, to name it in errors; it is not secret.
	if creds, err := awsCfg.Credentials.Retrieve(ctx); err == nil {
		d.accessKeyID = creds.AccessKeyID
	} else {
		return nil, fmt.Errorf("eucalyptus: no usable credentials: set EC2_ACCESS_KEY and "+
			"EC2_SECRET_KEY in the eucarc, Config.AccessKeyID and SecretAccessKey, or the AWS "+
			"credentials settings: %w", err)
	}
	return d, nil
}

// Region returns the region requests are signed for.
func (d *Driver) Region() string { return d.region }

// Endpoint returns the URL of the EC2 endpoint the driver calls.
func (d *Driver) Endpoint() string { return d.endpointURL }

// Check makes two small read-only calls, DescribeRegions and DescribeAvailabilityZones, to
// confirm at startup that the endpoint responds, the credentials are accepted and the region
// (and the configured availability zone, if any) exist. The error wraps ErrUnreachable,
// ErrAuthFailure or ErrUnknownRegion when that is the cause.
func (d *Driver) Check(ctx context.Context) error {
	regions, err := d.client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return d.classify(ctx, "DescribeRegions", err)
	}
	var names []string
	for _, r := range regions.Regions {
		names = append(names, aws.ToString(r.RegionName))
	}
	if len(names) > 0 && !slices.Contains(names, d.region) {
		return fmt.Errorf("%w %q: the endpoint %s serves %s", ErrUnknownRegion, d.region,
			d.endpointURL, strings.Join(names, ", "))
	}
	zones, err := d.client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		return d.classify(ctx, "DescribeAvailabilityZones", err)
	}
	if d.cfg.AvailabilityZone == "" {
		return nil
	}
	var zoneNames []string
	for _, z := range zones.AvailabilityZones {
		zoneNames = append(zoneNames, aws.ToString(z.ZoneName))
	}
	if !slices.Contains(zoneNames, d.cfg.AvailabilityZone) {
		return fmt.Errorf("%w: availability zone %q is not in region %q, which has %s",
			ErrInvalidRequest, d.cfg.AvailabilityZone, d.region, strings.Join(zoneNames, ", "))
	}
	return nil
}

// now returns the current time from the configured clock.
func (d *Driver) now() time.Time { return d.cfg.Now() }

// sdkLogger sends the SDK's own log lines, such as configuration warnings, to logger.
func sdkLogger(logger *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(classification logging.Classification, format string,
		v ...any) {
		level := slog.LevelDebug
		if classification == logging.Warn {
			level = slog.LevelWarn
		}
		logger.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
	})
}
