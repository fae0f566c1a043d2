package ec2emu_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/instars/instars/internal/ec2emu"
)

func TestSDKWithWrongSecretGetsAuthFailure(t *testing.T) {
	b := setup(t)
	client := newClient(t, b.url, testAccessKey, "not-the-secret", testRegion)
	_, err := client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	requireAPIError(t, err, "AuthFailure")
}

func TestSDKWithUnknownAccessKeyGetsAuthFailure(t *testing.T) {
	b := setup(t)
	client := newClient(t, b.url, "AKIDUNKNOWN", testSecretKey, testRegion)
	_, err := client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	requireAPIError(t, err, "AuthFailure")
}

func TestSDKWithOtherRegionGetsAuthFailure(t *testing.T) {
	b := setup(t)
	client := newClient(t, b.url, testAccessKey, testSecretKey, "us-east-1")
	_, err := client.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	requireAPIError(t, err, "AuthFailure")
}

func TestExtraRegionIsAccepted(t *testing.T) {
	b := setup(t, func(c *ec2emu.Config) { c.ExtraRegions = []string{"us-east-1"} })
	client := newClient(t, b.url, testAccessKey, testSecretKey, "us-east-1")
	out, err := client.DescribeRegions(ctx(t), &ec2.DescribeRegionsInput{})
	if err != nil {
		t.Fatalf("DescribeRegions signed for an extra region: %v", err)
	}
	if len(out.Regions) != 2 {
		t.Errorf("DescribeRegions returned %d regions, want 2", len(out.Regions))
	}
}

func TestSignatureChecks(t *testing.T) {
	b := setup(t)
	describe := url.Values{"Action": {"DescribeRegions"}}
	cases := []struct {
		name   string
		req    rawRequest
		status int
		code   string
	}{
		{
			name:   "tampered body",
			req:    rawRequest{tamper: func(s string) string { return s + "&RegionName.1=x" }},
			status: http.StatusUnauthorized, code: "AuthFailure",
		},
		{
			name:   "signed 20 minutes ago",
			req:    rawRequest{signedAt: time.Now().Add(-20 * time.Minute)},
			status: http.StatusBadRequest, code: "RequestExpired",
		},
		{
			name:   "wrong secret over GET",
			req:    rawRequest{method: http.MethodGet, secretKey: "x", accessKey: testAccessKey},
			status: http.StatusUnauthorized, code: "AuthFailure",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.url = b.url
			tc.req.form = describe
			tc.req.do(t).requireError(t, tc.status, tc.code)
		})
	}
	if got := b.emu.Calls("DescribeRegions"); got != 0 {
		t.Errorf("rejected requests were counted as %d calls, want 0", got)
	}
}

func TestSignedGETIsAccepted(t *testing.T) {
	b := setup(t)
	resp := rawRequest{url: b.url, method: http.MethodGet,
		form: url.Values{"Action": {"DescribeRegions"}}}.do(t)
	if resp.status != http.StatusOK {
		t.Fatalf("signed GET returned HTTP %d:\n%s", resp.status, resp.body)
	}
	if !strings.Contains(resp.body, `xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"`) {
		t.Errorf("response lacks the EC2 namespace:\n%s", resp.body)
	}
	if !strings.Contains(resp.body, "<requestId>") {
		t.Errorf("response lacks a requestId:\n%s", resp.body)
	}
}

func TestUnsignedRequestIsRejected(t *testing.T) {
	b := setup(t)
	resp, err := http.PostForm(b.url+"/", url.Values{
		"Action": {"DescribeRegions"}, "Version": {"2016-11-15"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned request returned HTTP %d, want 401", resp.StatusCode)
	}
}

func TestUnknownActionAndMissingAction(t *testing.T) {
	b := setup(t)
	b.rawCall(t, url.Values{"Action": {"LaunchRocket"}}).
		requireError(t, http.StatusBadRequest, "InvalidAction")
	b.rawCall(t, url.Values{"Version": {"2016-11-15"}}).
		requireError(t, http.StatusBadRequest, "MissingParameter")
	b.rawCall(t, url.Values{"Action": {"DescribeRegions"}, "Version": {""}}).
		requireError(t, http.StatusBadRequest, "MissingParameter")
}
