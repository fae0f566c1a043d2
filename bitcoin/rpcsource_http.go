package bitcoin

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/btcsuite/btcd/btcjson"
)

// ErrAuthentication is wrapped by errors of a node that rejected the RPC user name and
// password.
var ErrAuthentication = errors.New("authentication failed: check rpcuser/rpcpassword")

// ErrUnreachable is wrapped by errors of a node that could not be connected to.
var ErrUnreachable = errors.New("node unreachable: check that it runs and listens for RPC " +
	"on this address (rpcbind, rpcallowip, rpcport)")

// ErrUntrustedCertificate is wrapped by errors of a node whose TLS certificate is not
// trusted.
var ErrUntrustedCertificate = errors.New("node's TLS certificate is not trusted: set " +
	"Certificates to the node's rpc.cert, or DisableTLS if it serves plain HTTP")

// connectError wraps err, from connecting to the node, in ErrUntrustedCertificate when the
// TLS handshake rejected the node's certificate and in ErrUnreachable otherwise.
func connectError(err error) error {
	var verifyErr *tls.CertificateVerificationError
	var authorityErr x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	if errors.As(err, &verifyErr) || errors.As(err, &authorityErr) ||
		errors.As(err, &hostnameErr) {
		return fmt.Errorf("%w: %w", ErrUntrustedCertificate, err)
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}

// rpcCaller sends one JSON-RPC call and decodes its result into result, if not nil. Errors
// the node returns come back as *btcjson.RPCError.
type rpcCaller interface {
	call(ctx context.Context, method string, result any, params ...any) error
}

// jsonRPCClient sends JSON-RPC 1.0 requests over HTTP POST, as bitcoind and btcd accept
// them. Unlike rpcclient's HTTP mode, it honours each call's context, sends calls
// concurrently, and does not retry: retrying is the tracker's job.
type jsonRPCClient struct {
	url    string
	host   string
	user   string
	pass   string
	client *http.Client
	nextID atomic.Uint64
}

func newJSONRPCClient(cfg RPCSourceConfig) (*jsonRPCClient, error) {
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     time.Minute,
	}
	scheme := "http"
	if !cfg.DisableTLS {
		scheme = "https"
		pool := x509.NewCertPool()
		if len(cfg.Certificates) > 0 && !pool.AppendCertsFromPEM(cfg.Certificates) {
			return nil, errors.New("bitcoin: rpc source: Certificates contains no PEM " +
				"certificate: expected the node's rpc.cert")
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if len(cfg.Certificates) == 0 {
			transport.TLSClientConfig.RootCAs = nil
		}
	}
	return &jsonRPCClient{
		url:    scheme + "://" + cfg.Host,
		host:   cfg.Host,
		user:   cfg.User,
		pass:   cfg.Password,
		client: &http.Client{Transport: transport, Timeout: cfg.CallTimeout},
	}, nil
}

type jsonRPCResponse struct {
	Result json.RawMessage   `json:"result"`
	Error  *btcjson.RPCError `json:"error"`
}

func (c *jsonRPCClient) call(ctx context.Context, method string, result any,
	params ...any) error {

	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{
		"jsonrpc": "1.0", "id": c.nextID.Add(1), "method": method, "params": params,
	})
	if err != nil {
		return fmt.Errorf("encode %s request: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build %s request: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(c.user, c.pass)
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("bitcoin: node RPC at %s: %s: %w", c.host, method, connectError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("bitcoin: node RPC at %s: %w (HTTP %d)", c.host, ErrAuthentication,
			resp.StatusCode)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("bitcoin: node RPC at %s: read %s response: %w", c.host, method, err)
	}
	var decoded jsonRPCResponse
	if err := json.Unmarshal(data, &decoded); err != nil {
		return fmt.Errorf("bitcoin: node RPC at %s: %s: HTTP %d with a body that is not "+
			"JSON-RPC: %.200q", c.host, method, resp.StatusCode, data)
	}
	if decoded.Error != nil {
		return decoded.Error
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(decoded.Result, result); err != nil {
		return fmt.Errorf("bitcoin: node RPC at %s: decode %s result: %w", c.host, method, err)
	}
	return nil
}

// rpcErrorCode returns the JSON-RPC error code of err, if the node returned one.
func rpcErrorCode(err error) (btcjson.RPCErrorCode, bool) {
	var rpcErr *btcjson.RPCError
	if errors.As(err, &rpcErr) {
		return rpcErr.Code, true
	}
	return 0, false
}
