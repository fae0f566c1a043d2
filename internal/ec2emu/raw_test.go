package ec2emu_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// rawRequest is a hand-built EC2 Query request, signed by the SDK's own SigV4 signer, for the
// cases the SDK client refuses to send or cannot show (unknown actions, missing parameters,
// HTTP status codes).
type rawRequest struct {
	url                  string
	form                 url.Values
	accessKey, secretKey string
	region               string
	signedAt             time.Time
	method               string
	// tamper changes the body after signing when set.
	tamper func(body string) string
}

type rawResponse struct {
	status int
	body   string
}

func (b *testBundle) rawCall(t *testing.T, form url.Values) rawResponse {
	t.Helper()
	return rawRequest{url: b.url, form: form}.do(t)
}

func (r rawRequest) do(t *testing.T) rawResponse {
	t.Helper()
	if r.accessKey == "" {
		r.accessKey, r.secretKey = testAccessKey, testSecretKey
	}
	if r.region == "" {
		r.region = testRegion
	}
	if r.signedAt.IsZero() {
		r.signedAt = time.Now()
	}
	if !r.form.Has("Version") && r.form.Has("Action") {
		r.form.Set("Version", "2016-11-15")
	}

	var body string
	target := r.url + "/"
	if r.method == http.MethodGet {
		target += "?" + r.form.Encode()
	} else {
		r.method = http.MethodPost
		body = r.form.Encode()
	}
	req, err := http.NewRequestWithContext(t.Context(), r.method, target,
		strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}

	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: r.accessKey, SecretAccessKey: r.secretKey}
	err = v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), "ec2",
		r.region, r.signedAt)
	if err != nil {
		t.Fatal(err)
	}
	if r.tamper != nil {
		tampered := r.tamper(body)
		req.Body = io.NopCloser(strings.NewReader(tampered))
		req.ContentLength = int64(len(tampered))
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("raw request: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, body: string(data)}
}

// ec2ErrorBody is the EC2 error document, parsed strictly by element names.
type ec2ErrorBody struct {
	XMLName   xml.Name `xml:"Response"`
	Code      string   `xml:"Errors>Error>Code"`
	Message   string   `xml:"Errors>Error>Message"`
	RequestID string   `xml:"RequestID"`
}

// requireError fails the test unless the response is an EC2 error document with the status
// and code.
func (r rawResponse) requireError(t *testing.T, status int, code string) ec2ErrorBody {
	t.Helper()
	var e ec2ErrorBody
	if err := xml.NewDecoder(bytes.NewReader([]byte(r.body))).Decode(&e); err != nil {
		t.Fatalf("response is not an EC2 error document: %v\n%s", err, r.body)
	}
	if r.status != status || e.Code != code {
		t.Fatalf("got HTTP %d %s (%s), want HTTP %d %s", r.status, e.Code, e.Message, status,
			code)
	}
	if e.RequestID == "" || e.Message == "" {
		t.Errorf("error document lacks a RequestID or a Message:\n%s", r.body)
	}
	return e
}
