package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/instars/instars/pgp"
)

// client is an API client for one InStaRS server, acting for one customer.
type client struct {
	server         string
	keyFile        string
	passphraseFile string
	localUser      string
	gpgPath        string
	stdout, stderr io.Writer
	http           *http.Client
}

// apiError is the server's JSON error body.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// errServer is an error response from the server, with its status and message.
type errServer struct {
	status  int
	message string
	code    string
}

func (e *errServer) Error() string {
	return fmt.Sprintf("the server responded %d %s: %s", e.status, http.StatusText(e.status),
		e.message)
}

func (c *client) httpClient() *http.Client {
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	return c.http
}

// do sends a request and decodes the JSON response into out. Its error explains why the
// server could not be reached or why it rejected the request.
func (c *client) do(ctx context.Context, method, path string, body any, out any) error {
	base, err := url.Parse(c.server)
	if err != nil || base.Host == "" {
		return fmt.Errorf("invalid --server %q: expected a URL such as %s", c.server,
			defaultServer)
	}
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.server, "/")+path,
		reader)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return c.unreachable(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("reading the response from %s: %w", c.server, err)
	}
	if resp.StatusCode >= 300 {
		var e apiError
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		se := &errServer{status: resp.StatusCode, message: e.Error, code: e.Code}
		if resp.StatusCode == http.StatusTooManyRequests {
			se.message += " (Retry-After: " + resp.Header.Get("Retry-After") + " s)"
		}
		return se
	}
	if out == nil {
		return nil
	}
	if s, ok := out.(*string); ok {
		*s = string(data)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the response from %s is not the expected JSON: %w", c.server, err)
	}
	return nil
}

func (c *client) unreachable(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	hint := ""
	if strings.TrimRight(c.server, "/") == defaultServer {
		hint = " (is `go run ./examples/instars dev` running?)"
	}
	return fmt.Errorf("cannot reach the server at %s%s: %w", c.server, hint, err)
}

// serverKey is the server's public key, with the server's clock.
type serverKey struct {
	Fingerprint string    `json:"fingerprint"`
	Armored     string    `json:"armored"`
	ServerTime  time.Time `json:"server_time"`
}

// fetchServerKey reads the server's key and checks it against the fingerprint pinned at
// the first contact, so that a different key is noticed.
func (c *client) fetchServerKey(ctx context.Context) (*pgp.PublicKey, serverKey, error) {
	var sk serverKey
	if err := c.do(ctx, http.MethodGet, "/api/v1/server-key", nil, &sk); err != nil {
		return nil, sk, err
	}
	key, err := pgp.ParsePublicKey([]byte(sk.Armored), time.Now())
	if err != nil {
		return nil, sk, fmt.Errorf("the server's key is not usable: %w", err)
	}
	if key.Fingerprint() != sk.Fingerprint {
		return nil, sk, fmt.Errorf("the server's key has fingerprint %s, not the %s it "+
			"states", key.Fingerprint(), sk.Fingerprint)
	}
	if err := c.checkPinned(key.Fingerprint()); err != nil {
		return nil, sk, err
	}
	return key, sk, nil
}

// streamEvents reads server-sent events from path and calls fn with each data field until
// fn returns done or an error, or the stream ends.
func (c *client) streamEvents(ctx context.Context, path string,
	fn func(data []byte) (done bool, err error),
) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimRight(c.server, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return c.unreachable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e apiError
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &errServer{status: resp.StatusCode, message: e.Error, code: e.Code}
	}
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	var data []byte
	for scanner.Scan() {
		line := scanner.Text()
		switch {
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...)
		case line == "" && len(data) > 0:
			done, err := fn(data)
			if err != nil || done {
				return err
			}
			data = nil
		}
	}
	if err := scanner.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("the event stream broke: %w", err)
	}
	return ctx.Err()
}
