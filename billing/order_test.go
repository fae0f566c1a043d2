package billing

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
)

var orderNow = time.Date(2026, 12, 4, 15, 4, 5, 0, time.UTC)

func orderOptions() OrderParseOptions {
	return OrderParseOptions{Now: orderNow, Network: &chaincfg.RegressionNetParams}
}

// validPayload returns an order payload as a map, for cases to change one field.
func validPayload() map[string]any {
	return map[string]any{
		"plan":           "small-1d",
		"ssh_public_key": testSSHKey,
		"refund_address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
		"nonce":          "3q2mUOkFcIhbhA0yXQjbpg",
		"created_at":     orderNow.Add(-time.Minute).Format(time.RFC3339),
		"extends_lease":  "lease-7f3a",
	}
}

func encodePayload(t *testing.T, fields map[string]any) []byte {
	t.Helper()
	data, err := json.Marshal(fields)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return data
}

func TestParseOrderPayloadAcceptsValid(t *testing.T) {
	got, err := ParseOrderPayload(encodePayload(t, validPayload()), orderOptions())
	if err != nil {
		t.Fatalf("ParseOrderPayload: %v", err)
	}
	want := OrderPayload{
		Plan:          "small-1d",
		SSHPublicKey:  testSSHKey,
		RefundAddress: "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
		Nonce:         "3q2mUOkFcIhbhA0yXQjbpg",
		CreatedAt:     orderNow.Add(-time.Minute),
		ExtendsLease:  "lease-7f3a",
	}
	if got != want {
		t.Errorf("payload = %+v\nwant %+v", got, want)
	}

	minimal := validPayload()
	delete(minimal, "refund_address")
	delete(minimal, "extends_lease")
	if _, err := ParseOrderPayload(encodePayload(t, minimal), orderOptions()); err != nil {
		t.Errorf("payload without optional fields: %v", err)
	}
}

// withoutKeyOrLease encodes a valid payload for a new instance that lacks its SSH key.
func withoutKeyOrLease(t *testing.T) []byte {
	t.Helper()
	fields := validPayload()
	delete(fields, "ssh_public_key")
	delete(fields, "extends_lease")
	return encodePayload(t, fields)
}

func TestParseOrderPayloadRejects(t *testing.T) {
	with := func(key string, value any) []byte {
		fields := validPayload()
		if value == nil {
			delete(fields, key)
		} else {
			fields[key] = value
		}
		return encodePayload(t, fields)
	}
	valid := string(encodePayload(t, validPayload()))
	cases := []struct {
		name     string
		data     []byte
		contains string
	}{
		{"unknown field", with("price", "0"), "unknown field"},
		{"repeated field", []byte(strings.Replace(valid, `"plan":"small-1d"`,
			`"plan":"small-1d","plan":"large-1d"`, 1)), "more than once"},
		{"field repeated in another case", []byte(strings.Replace(valid, `"plan":"small-1d"`,
			`"plan":"small-1d","Plan":"large-1d"`, 1)), "unknown field"},
		{"field in upper case", []byte(strings.Replace(valid, `"plan":`, `"PLAN":`, 1)),
			"unknown field"},
		{"field with a Kelvin sign", []byte(strings.Replace(valid, `"ssh_public_key":`,
			`"ssh_public_Key":`, 1)), "unknown field"},
		{"array", []byte(`[` + valid + `]`), "expected a JSON object"},
		{"trailing data", []byte(valid + `{}`), "after the JSON object"},
		{"not JSON", []byte(`plan=small`), "invalid JSON"},
		{"invalid UTF-8", []byte("{\"plan\":\"\xff\"}"), "UTF-8"},
		{"too large", with("plan", strings.Repeat("a", MaxOrderPayloadSize)), "bytes"},
		{"missing plan", with("plan", nil), "invalid plan"},
		{"plan with space", with("plan", "small 1d"), "invalid plan"},
		{"missing ssh key", withoutKeyOrLease(t), "missing ssh_public_key"},
		{"garbage ssh key", with("ssh_public_key", "ssh-ed25519 AAAA"), "ssh_public_key"},
		{"two ssh keys", with("ssh_public_key", testSSHKey+"\n"+testSSHKey), "single line"},
		{"ssh key options", with("ssh_public_key", `command="sh" `+testSSHKey), "options"},
		{"mainnet refund address", with("refund_address",
			"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"), "refund_address"},
		{"garbage refund address", with("refund_address", "not-an-address"), "refund_address"},
		{"short nonce", with("nonce", "abc"), "invalid nonce"},
		{"nonce with symbols", with("nonce", "3q2mUOkFcIhbhA0y/Qjbpg"), "invalid nonce"},
		{"missing nonce", with("nonce", nil), "invalid nonce"},
		{"missing created_at", with("created_at", nil), "missing created_at"},
		{"created_at too old", with("created_at",
			orderNow.Add(-DefaultOrderMaxAge-time.Second).Format(time.RFC3339)), "in the past"},
		{"created_at in the future", with("created_at",
			orderNow.Add(DefaultOrderMaxSkew+time.Second).Format(time.RFC3339)), "future"},
		{"created_at not a time", with("created_at", "yesterday"), "created_at"},
		{"bad lease id", with("extends_lease", "../lease"), "extends_lease"},
		{"plan as number", with("plan", 7), "plan"},
	}
	for _, tc := range cases {
		_, err := ParseOrderPayload(tc.data, orderOptions())
		if !errors.Is(err, ErrInvalidOrder) {
			t.Errorf("%s: err = %v, want ErrInvalidOrder", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%s: err = %q, want it to mention %q", tc.name, err, tc.contains)
		}
	}

	noNetwork := orderOptions()
	noNetwork.Network = nil
	if _, err := ParseOrderPayload([]byte(valid), noNetwork); err == nil {
		t.Errorf("refund address without a network: got no error")
	}
}

func TestParseOrderPayloadTimeWindow(t *testing.T) {
	for _, offset := range []time.Duration{-DefaultOrderMaxAge, DefaultOrderMaxSkew, 0} {
		fields := validPayload()
		fields["created_at"] = orderNow.Add(offset).Format(time.RFC3339)
		if _, err := ParseOrderPayload(encodePayload(t, fields), orderOptions()); err != nil {
			t.Errorf("created_at at now%+v: %v", offset, err)
		}
	}
	opts := orderOptions()
	opts.MaxAge = time.Hour
	fields := validPayload()
	fields["created_at"] = orderNow.Add(-59 * time.Minute).Format(time.RFC3339)
	if _, err := ParseOrderPayload(encodePayload(t, fields), opts); err != nil {
		t.Errorf("created_at within a MaxAge of an hour: %v", err)
	}
}

func TestNewOrder(t *testing.T) {
	payload := encodePayload(t, validPayload())
	order, err := NewOrder(strings.ToLower(testCustomer), payload, orderOptions())
	if err != nil {
		t.Fatalf("NewOrder: %v", err)
	}
	if order.Customer != testCustomer {
		t.Errorf("customer = %s, want the upper-case %s", order.Customer, testCustomer)
	}
	if !strings.HasPrefix(order.ID, "ord_") || string(order.RawPayload) != string(payload) {
		t.Errorf("order = %+v", order)
	}
	if !order.ReceivedAt.Equal(orderNow) || order.Payload.Plan != "small-1d" {
		t.Errorf("order = %+v", order)
	}
	for _, fingerprint := range []string{"", "ABC", testCustomer + "0", strings.Repeat("G", 40)} {
		if _, err := NewOrder(fingerprint, payload, orderOptions()); !errors.Is(err,
			ErrInvalidOrder) {
			t.Errorf("fingerprint %q: err = %v, want ErrInvalidOrder", fingerprint, err)
		}
	}
	v6 := strings.Repeat("AB", 32)
	if _, err := NewOrder(v6, payload, orderOptions()); err != nil {
		t.Errorf("v6 fingerprint: %v", err)
	}
}

func TestConfirmationPolicy(t *testing.T) {
	policy := ConfirmationPolicy{HighValueThreshold: 1_000_000}
	if got := policy.RequiredDepth(999_999); got != DefaultDepth {
		t.Errorf("depth below the threshold = %d, want %d", got, DefaultDepth)
	}
	if got := policy.RequiredDepth(1_000_000); got != DefaultHighValueDepth {
		t.Errorf("depth at the threshold = %d, want %d", got, DefaultHighValueDepth)
	}
	invalid := []ConfirmationPolicy{
		{Depth: -1}, {Depth: maxDepth + 1}, {HighValueDepth: -1}, {HighValueThreshold: -1},
		{ZeroConfMax: -1},
	}
	for _, p := range invalid {
		if err := p.Validate(); err == nil {
			t.Errorf("Validate(%+v): got no error", p)
		}
	}
	if err := (ConfirmationPolicy{Depth: 3, ZeroConf: true}).Validate(); err != nil {
		t.Errorf("valid policy: %v", err)
	}
}

// FuzzParseOrderPayload checks that no input panics, that every error is an invalid-order
// error, and that an accepted payload parses to the same value after encoding it again.
func FuzzParseOrderPayload(f *testing.F) {
	seed, err := json.Marshal(validPayload())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"plan":"a","plan":"b"}`))
	f.Add([]byte(`{"nonce":"\u0000"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, err := ParseOrderPayload(data, orderOptions())
		if err != nil {
			if !errors.Is(err, ErrInvalidOrder) {
				t.Fatalf("error %v does not wrap ErrInvalidOrder", err)
			}
			return
		}
		again, err := json.Marshal(payload)
		if err != nil {
			t.Fatalf("marshal accepted payload: %v", err)
		}
		reparsed, err := ParseOrderPayload(again, orderOptions())
		if err != nil {
			t.Fatalf("re-encoded payload rejected: %v", err)
		}
		if !reparsed.CreatedAt.Equal(payload.CreatedAt) {
			t.Fatalf("created_at changed: %v to %v", payload.CreatedAt, reparsed.CreatedAt)
		}
		reparsed.CreatedAt = payload.CreatedAt
		if reparsed != payload {
			t.Fatalf("payload changed on re-encoding: %+v to %+v", payload, reparsed)
		}
	})
}

// TestOrderPayloadFieldsMatchTags keeps the list of accepted keys in step with the struct.
func TestOrderPayloadFieldsMatchTags(t *testing.T) {
	payloadType := reflect.TypeFor[OrderPayload]()
	for i := range payloadType.NumField() {
		name, _, _ := strings.Cut(payloadType.Field(i).Tag.Get("json"), ",")
		if !orderPayloadFields[name] {
			t.Errorf("field %s (json %q) is missing from orderPayloadFields",
				payloadType.Field(i).Name, name)
		}
	}
	if len(orderPayloadFields) != payloadType.NumField() {
		t.Errorf("orderPayloadFields has %d names, OrderPayload %d fields",
			len(orderPayloadFields), payloadType.NumField())
	}
}
