package ec2emu

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseAuthorization checks that any Authorization header is either rejected or parsed
// into a complete credential scope, without panicking.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20261204/eucalyptus/ec2/aws4_request, " +
		"SignedHeaders=host;x-amz-date, Signature=abcd")
	f.Add("AWS4-HMAC-SHA256 Credential=/a/b/c/aws4_request")
	f.Add("AWS AKID:signature")
	f.Fuzz(func(t *testing.T, header string) {
		auth, apiErr := parseAuthorization(header)
		if apiErr != nil {
			return
		}
		if auth.accessKeyID == "" || auth.signature == "" || len(auth.signedHeaders) == 0 {
			t.Errorf("parseAuthorization(%q) accepted an incomplete header: %+v", header, auth)
		}
	})
}

// FuzzParams checks that list, filter and tag decoding never panics on any query string and
// keeps list entries in index order.
func FuzzParams(f *testing.F) {
	f.Add("InstanceId.2=i-2&InstanceId.1=i-1&Filter.1.Name=tag:a&Filter.1.Value.1=b")
	f.Add("TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=k")
	f.Add("InstanceId.-1=x&InstanceId.0=y&InstanceId.99999999999999999999=z")
	f.Fuzz(func(t *testing.T, query string) {
		values, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		p := params(values)
		ids := p.list("InstanceId")
		if len(ids) > len(values) {
			t.Errorf("list returned %d entries from %d parameters", len(ids), len(values))
		}
		p.filters()
		p.tags("Tag")
		_, _ = p.tagSpecifications("instance")
		if strings.Contains(p.fingerprint(), "Action=") {
			t.Errorf("fingerprint includes the Action parameter")
		}
	})
}

func FuzzMatchGlob(f *testing.F) {
	f.Add("a*b?c", "aXXbYc")
	f.Add("**", "")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !strings.ContainsAny(pattern, "*?") && matchGlob(pattern, s) != (pattern == s) {
			t.Errorf("matchGlob(%q, %q) differs from equality for a plain pattern", pattern, s)
		}
		if matchGlob("*", s) != true {
			t.Errorf("matchGlob(\"*\", %q) = false", s)
		}
	})
}
