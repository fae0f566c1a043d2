package ec2emu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	amzDateLayout  = "20060102T150405Z"
	// maxClockSkew is how far a request's signing time may be from the server's time.
	maxClockSkew = 15 * time.Minute
)

// signedRequest contains the parts of an HTTP request, body included, that SigV4 signs.
type signedRequest struct {
	method string
	// path is the path as sent, still percent-encoded. The canonical request encodes it once
	// more, as SigV4 does for every service but S3.
	path   string
	query  url.Values
	header http.Header
	host   string
	body   []byte
}

// authorization is the parsed Authorization header of a SigV4 request.
type authorization struct {
	accessKeyID   string
	date          string // yyyymmdd from the credential scope
	region        string
	service       string
	signedHeaders []string
	signature     string
}

// verifySignature checks the request's SigV4 signature, from the Authorization header or from
// a presigned URL's query, against the configured secrets and regions. It returns the access
// key id that signed the request.
func (s *Server) verifySignature(req signedRequest, now time.Time) (string, *apiError) {
	var auth authorization
	var apiErr *apiError
	amzDate := req.header.Get("X-Amz-Date")
	validFor := maxClockSkew
	switch {
	case req.query.Has("X-Amz-Algorithm"):
		auth, validFor, apiErr = parsePresigned(req.query)
		amzDate = req.query.Get("X-Amz-Date")
		req.query = maps.Clone(req.query)
		req.query.Del("X-Amz-Signature")
	case req.header.Get("Authorization") != "":
		auth, apiErr = parseAuthorization(req.header.Get("Authorization"))
	default:
		apiErr = newAPIError(http.StatusUnauthorized, "MissingAuthenticationToken",
			"The request must contain a valid AWS access key ID and an AWS Signature "+
				"Version 4 Authorization header or presigned query")
	}
	if apiErr != nil {
		return "", apiErr
	}

	secret, ok := s.cfg.Credentials[auth.accessKeyID]
	if !ok {
		return "", authFailure("AWS was not able to validate the provided access credentials")
	}
	if auth.service != "ec2" {
		return "", authFailure("Credential should be scoped to correct service: 'ec2'")
	}
	if !slices.Contains(s.cfg.regions(), auth.region) {
		return "", authFailure("Credential should be scoped to a valid region, not '%s'",
			auth.region)
	}

	signedAt, parseErr := time.Parse(amzDateLayout, amzDate)
	if parseErr != nil {
		return "", newAPIError(http.StatusBadRequest, "IncompleteSignature",
			"X-Amz-Date %q is missing or not in the form YYYYMMDDThhmmssZ", amzDate)
	}
	if amzDate[:8] != auth.date {
		return "", authFailure("Credential scope date %s does not match X-Amz-Date %s",
			auth.date, amzDate)
	}
	if age := now.Sub(signedAt); age > validFor || age < -maxClockSkew {
		return "", badRequest("RequestExpired",
			"Request has expired: signed at %s, server time %s", amzDate,
			now.UTC().Format(amzDateLayout))
	}

	if !slices.Contains(auth.signedHeaders, "host") {
		return "", authFailure("The host header must be signed")
	}
	payloadHash := sha256Hex(req.body)
	if claimed := req.header.Get("X-Amz-Content-Sha256"); claimed != "" &&
		claimed != payloadHash {
		return "", authFailure("The provided X-Amz-Content-Sha256 header does not match " +
			"what was computed")
	}

	canonical := canonicalRequest(req, auth.signedHeaders, payloadHash)
	scope := strings.Join([]string{auth.date, auth.region, auth.service, "aws4_request"}, "/")
	stringToSign := strings.Join([]string{
		sigV4Algorithm, amzDate, scope, sha256Hex([]byte(canonical)),
	}, "\n")
	key := signingKey(secret, auth.date, auth.region, auth.service)
	want := hex.EncodeToString(hmacSHA256(key, []byte(stringToSign)))
	if !hmac.Equal([]byte(want), []byte(auth.signature)) {
		return "", authFailure("AWS was not able to validate the provided access credentials")
	}
	return auth.accessKeyID, nil
}

// maxPresignedExpiry is the longest X-Amz-Expires SigV4 allows, seven days.
const maxPresignedExpiry = 7 * 24 * time.Hour

// parsePresigned reads the X-Amz-* query parameters of a presigned URL and returns how long
// after its signing time the URL stays valid.
func parsePresigned(query url.Values) (authorization, time.Duration, *apiError) {
	var auth authorization
	incomplete := func(format string, args ...any) *apiError {
		return newAPIError(http.StatusBadRequest, "IncompleteSignature",
			"Presigned query is invalid: "+format, args...)
	}
	if algorithm := query.Get("X-Amz-Algorithm"); algorithm != sigV4Algorithm {
		return auth, 0, incomplete("X-Amz-Algorithm is %q, expected %s", algorithm,
			sigV4Algorithm)
	}

	scope := strings.Split(query.Get("X-Amz-Credential"), "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[0] == "" {
		return auth, 0, incomplete("expected X-Amz-Credential=ID/DATE/REGION/SERVICE/" +
			"aws4_request")
	}
	signedHeaders, signature := query.Get("X-Amz-SignedHeaders"), query.Get("X-Amz-Signature")
	if signedHeaders == "" || signature == "" {
		return auth, 0, incomplete("X-Amz-SignedHeaders or X-Amz-Signature is missing")
	}

	seconds, err := strconv.Atoi(query.Get("X-Amz-Expires"))
	expires := time.Duration(seconds) * time.Second
	if err != nil || seconds < 1 || expires > maxPresignedExpiry {
		return auth, 0, incomplete("X-Amz-Expires %q is not 1 to %d seconds",
			query.Get("X-Amz-Expires"), int(maxPresignedExpiry.Seconds()))
	}

	auth = authorization{
		accessKeyID:   scope[0],
		date:          scope[1],
		region:        scope[2],
		service:       scope[3],
		signedHeaders: strings.Split(signedHeaders, ";"),
		signature:     signature,
	}
	return auth, expires, nil
}

// parseAuthorization parses
// "AWS4-HMAC-SHA256 Credential=ID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b,
// Signature=HEX".
func parseAuthorization(header string) (authorization, *apiError) {
	var auth authorization
	incomplete := func(what string) *apiError {
		return newAPIError(http.StatusBadRequest, "IncompleteSignature",
			"Authorization header is invalid: %s", what)
	}
	algorithm, rest, ok := strings.Cut(header, " ")
	if !ok || algorithm != sigV4Algorithm {
		return auth, incomplete("expected the algorithm " + sigV4Algorithm)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return auth, incomplete("expected Name=Value, got " + part)
		}
		fields[name] = value
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || scope[0] == "" {
		return auth, incomplete("expected Credential=ID/DATE/REGION/SERVICE/aws4_request")
	}
	if fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return auth, incomplete("SignedHeaders or Signature is missing")
	}
	auth = authorization{
		accessKeyID:   scope[0],
		date:          scope[1],
		region:        scope[2],
		service:       scope[3],
		signedHeaders: strings.Split(fields["SignedHeaders"], ";"),
		signature:     fields["Signature"],
	}
	return auth, nil
}

// canonicalRequest builds the SigV4 canonical request.
func canonicalRequest(req signedRequest, signedHeaders []string, payloadHash string) string {
	path := req.path
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString(req.method)
	b.WriteString("\n")
	b.WriteString(uriEncode(path, false))
	b.WriteString("\n")
	b.WriteString(canonicalQuery(req.query))
	b.WriteString("\n")
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteString(":")
		b.WriteString(canonicalHeaderValue(req, name))
		b.WriteString("\n")
	}
	b.WriteString("\n")
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteString("\n")
	b.WriteString(payloadHash)
	return b.String()
}

func canonicalHeaderValue(req signedRequest, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{req.host}
	case "content-length":
		values = req.header.Values("Content-Length")
		if len(values) == 0 {
			values = []string{"0"}
		}
	default:
		values = req.header.Values(name)
	}
	trimmed := make([]string, len(values))
	for i, v := range values {
		trimmed[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(trimmed, ",")
}

func canonicalQuery(query url.Values) string {
	pairs := make([]string, 0, len(query))
	for name, values := range query {
		for _, v := range values {
			pairs = append(pairs, uriEncode(name, true)+"="+uriEncode(v, true))
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}

// uriEncode percent-encodes every byte except the unreserved characters, and except "/" when
// encodeSlash is false, as SigV4 requires.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func signingKey(secret, date, region, service string) []byte {
	key := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	key = hmacSHA256(key, []byte(region))
	key = hmacSHA256(key, []byte(service))
	return hmacSHA256(key, []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(data)
	return mac.Sum(nil)
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
