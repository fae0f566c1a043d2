package bitcoin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/rpcclient"
)

// wsCaller sends calls over btcd's websocket. btcd closes every HTTP POST connection after
// one reply, so each HTTP call would pay for a new TLS handshake; the websocket stays open.
// While it is down, rpcclient holds calls and sends them again after reconnecting; the
// timeout ends a call that waits too long.
type wsCaller struct {
	client  *rpcclient.Client
	host    string
	timeout time.Duration
}

func (c *wsCaller) call(ctx context.Context, method string, result any,
	params ...any) error {

	raw := make([]json.RawMessage, len(params))
	for i, param := range params {
		encoded, err := json.Marshal(param)
		if err != nil {
			return fmt.Errorf("encode %s parameter %d: %w", method, i, err)
		}
		raw[i] = encoded
	}
	future := c.client.RawRequestAsync(method, raw)

	type reply struct {
		data json.RawMessage
		err  error
	}
	done := make(chan reply, 1)
	go func() {
		data, err := future.Receive()
		done <- reply{data, err}
	}()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	var r reply
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("bitcoin: node websocket at %s: %s: no reply within %s: %w",
			c.host, method, c.timeout, ErrUnreachable)
	case r = <-done:
	}
	if r.err != nil {
		var rpcErr *btcjson.RPCError
		if errors.As(r.err, &rpcErr) {
			return rpcErr
		}
		return fmt.Errorf("bitcoin: node websocket at %s: %s: %w", c.host, method, r.err)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(r.data, result); err != nil {
		return fmt.Errorf("bitcoin: node websocket at %s: decode %s result: %w", c.host,
			method, err)
	}
	return nil
}
