package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

func TestRunServesWithFlags(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	stateFile := filepath.Join(t.TempDir(), "state.json")
	ctx, cancel := context.WithCancel(t.Context())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"-listen", "127.0.0.1:0", "-access-key", "AKIDCMD", "-secret-key", "s3cret",
			"-region", "test-1", "-state", stateFile, "-pending", "0s",
			"-fault", "throttle,action=DescribeRegions,count=1",
		}, io.Discard, func(url string) { urls <- url })
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("run returned before serving: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not start serving within 10s")
	}
	client := ec2.NewFromConfig(aws.Config{
		Region:           "test-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDCMD", "s3cret", ""),
		RetryMaxAttempts: 1,
	}, func(o *ec2.Options) { o.BaseEndpoint = aws.String(url) })

	_, err := client.DescribeRegions(t.Context(), &ec2.DescribeRegionsInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "RequestLimitExceeded" {
		t.Errorf("first DescribeRegions with a -fault flag: %v, want RequestLimitExceeded", err)
	}
	out, err := client.DescribeRegions(t.Context(), &ec2.DescribeRegionsInput{})
	if err != nil {
		t.Fatalf("second DescribeRegions: %v", err)
	}
	if got := aws.ToString(out.Regions[0].RegionName); got != "test-1" {
		t.Errorf("region = %s, want test-1 from -region", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	cases := map[string][]string{
		"no secret":      {"-secret-key", ""},
		"bad fault":      {"-secret-key", "x", "-fault", "explode,count=1"},
		"unknown flag":   {"-secret-key", "x", "-colour", "red"},
		"negative timer": {"-secret-key", "x", "-pending", "-1s"},
	}
	t.Setenv("EC2EMU_SECRET_KEY", "")
	for name, args := range cases {
		err := run(t.Context(), append(args, "-listen", "127.0.0.1:0"), io.Discard, nil)
		if err == nil {
			t.Errorf("run with %s returned no error", name)
		}
	}
}

func TestRunHelpIsNotAnError(t *testing.T) {
	var output strings.Builder
	if err := run(t.Context(), []string{"-h"}, &output, nil); err != nil {
		t.Errorf("run -h error = %v, want nil so the command exits 0", err)
	}
	if !strings.Contains(output.String(), "-listen") {
		t.Errorf("run -h printed %q, want the flag list", output.String())
	}
}

func TestErrorLineHasOnePrefix(t *testing.T) {
	cases := map[string]string{
		"ec2emu: state file x.json is not valid JSON": "ec2emu: state file x.json is not valid JSON",
		"no secret key: set -secret-key":              "ec2emu: no secret key: set -secret-key",
	}
	for message, want := range cases {
		if got := errorLine(errors.New(message)); got != want {
			t.Errorf("errorLine(%q) = %q, want %q", message, got, want)
		}
	}
}

func TestRunTrimsExtraRegions(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx, cancel := context.WithCancel(t.Context())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-secret-key", "s3cret", "-access-key", "AKIDCMD",
			"-listen", "127.0.0.1:0", "-extra-regions", "test-2, test-3"}, io.Discard,
			func(url string) { urls <- url })
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("run with -extra-regions \"test-2, test-3\": %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not start serving within 10s")
	}
	client := ec2.NewFromConfig(aws.Config{
		Region:           "test-3",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDCMD", "s3cret", ""),
		RetryMaxAttempts: 1,
	}, func(o *ec2.Options) { o.BaseEndpoint = aws.String(url) })
	if _, err := client.DescribeRegions(t.Context(), &ec2.DescribeRegionsInput{}); err != nil {
		t.Errorf("DescribeRegions signed for test-3: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}
