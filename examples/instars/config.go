package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/instars/instars/metering"
)

// fileConfig is the configuration file of `instars serve`. Its JSON form is documented in
// instars.example.json and docs/configuration.md; unknown fields are rejected, so a typo
// never silently falls back to a default.
type fileConfig struct {
	// Listen is the address the web server listens on. Default 127.0.0.1:8080.
	Listen string `json:"listen"`
	// PublicURL is the address customers reach the server at, shown in the pages and in the
	// client instructions. Default http:// + Listen.
	PublicURL string `json:"public_url"`
	// Network is mainnet, testnet3, signet or regtest.
	Network string `json:"network"`
	// AccountKey is the operator's watch-only account: an extended public key or an output
	// descriptor. ScriptType names the script of a plain xpub or tpub.
	AccountKey string `json:"account_key"`
	ScriptType string `json:"script_type"`
	// GapLimit is the operator wallet's gap limit, for the admin warning. Default 20.
	GapLimit uint32 `json:"gap_limit"`

	Node          nodeConfig          `json:"node"`
	Database      databaseConfig      `json:"database"`
	ServerKey     serverKeyConfig     `json:"server_key"`
	Cloud         cloudConfig         `json:"cloud"`
	Plans         []metering.Plan     `json:"plans"`
	Confirmations confirmationsConfig `json:"confirmations"`
	Invoices      invoicesConfig      `json:"invoices"`
	Rates         ratesConfig         `json:"rates"`
	Webhooks      []webhookConfig     `json:"webhooks"`
	Admin         adminConfig         `json:"admin"`
	RateLimit     rateLimitConfig     `json:"rate_limit"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `json:"log_level"`
}

// nodeConfig is the bitcoin node the payment tracker reads: over JSON-RPC (Kind, Host and
// the fields after them) or through an Esplora HTTP API (EsploraURL), never both.
type nodeConfig struct {
	// Kind is bitcoind or btcd.
	Kind string `json:"kind"`
	// Host is the node's RPC address as host:port.
	Host string `json:"host"`
	// User and PasswordFile are the node's rpcuser and a file holding its rpcpassword.
	User         string `json:"user"`
	PasswordFile string `json:"password_file"`
	// TLS talks HTTPS, as btcd does; CertificateFile is the node's PEM certificate
	// (btcd's rpc.cert), empty for the system's roots.
	TLS             bool   `json:"tls"`
	CertificateFile string `json:"certificate_file"`
	// EsploraURL is the API root of an Esplora server, such as
	// https://esplora.example/api, read in place of a node's RPC.
	EsploraURL string `json:"esplora_url"`
	// Depth is how many confirmations the tracker follows a payment to. Default 6.
	Depth int32 `json:"depth"`
}

// databaseConfig selects SQLite (one file) or PostgreSQL (several servers can share it).
type databaseConfig struct {
	SQLite string `json:"sqlite"`
	// Postgres is a connection string; PostgresFile names a file holding one, to keep its
	// password out of the configuration file.
	Postgres     string `json:"postgres"`
	PostgresFile string `json:"postgres_file"`
}

// serverKeyConfig is the server's OpenPGP key file; it is generated at the first start when
// the file does not exist.
type serverKeyConfig struct {
	File           string `json:"file"`
	PassphraseFile string `json:"passphrase_file"`
}

// cloudConfig is the EC2-compatible cloud: a eucarc file, or the usual AWS settings with an
// optional endpoint. Fields set here win over the eucarc's.
type cloudConfig struct {
	Eucarc              string   `json:"eucarc"`
	Endpoint            string   `json:"endpoint"`
	Region              string   `json:"region"`
	Profile             string   `json:"profile"`
	AccessKeyID         string   `json:"access_key_id"`
	SecretAccessKeyFile string   `json:"secret_access_key_file"`
	CABundle            string   `json:"ca_bundle"`
	SubnetID            string   `json:"subnet_id"`
	SecurityGroupIDs    []string `json:"security_group_ids"`
	AvailabilityZone    string   `json:"availability_zone"`
	LaunchTimeout       duration `json:"launch_timeout"`
}

// confirmationsConfig is the confirmation policy: when a payment is final.
type confirmationsConfig struct {
	Depth              int32 `json:"depth"`
	HighValueThreshold int64 `json:"high_value_threshold_sat"`
	HighValueDepth     int32 `json:"high_value_depth"`
	ZeroConf           bool  `json:"zero_conf"`
	ZeroConfMax        int64 `json:"zero_conf_max_sat"`
}

// invoicesConfig sets how long invoices stay open and how strictly they are paid.
type invoicesConfig struct {
	Expiry               duration `json:"expiry"`
	Monitoring           duration `json:"monitoring"`
	ToleranceBasisPoints uint32   `json:"tolerance_basis_points"`
	// LatePayments is what an invoice paid only after its expiry buys: accept (start or
	// extend the lease as usual), decline (record a refund) or hold (wait for the admin to
	// accept or decline it). Default accept.
	LatePayments string `json:"late_payments"`
}

// ratesConfig lists the exchange rate sources for fiat-priced plans, asked in order.
type ratesConfig struct {
	// Sources are kraken, coinbase and bitstamp.
	Sources []string `json:"sources"`
	// Fixed maps a currency to the price of 1 BTC in its minor units. It is asked after
	// Sources, so alone it fixes the rate, which suits test networks.
	Fixed             map[string]int64 `json:"fixed"`
	Refresh           duration         `json:"refresh"`
	SpreadBasisPoints uint32           `json:"spread_basis_points"`
}

// webhookConfig is one receiver of signed event notifications.
type webhookConfig struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// SecretFile holds the HMAC key, at least 32 bytes.
	SecretFile string `json:"secret_file"`
	// Events limits the event types sent; empty sends all.
	Events []string `json:"events"`
}

// adminConfig guards the admin pages with HTTP Basic authentication. Give a bcrypt
// PasswordHash (`instars hash-password` prints one) or a PasswordFile holding the password.
type adminConfig struct {
	User         string `json:"user"`
	PasswordHash string `json:"password_hash"`
	PasswordFile string `json:"password_file"`
}

// rateLimitConfig bounds order submissions per client address with a token bucket.
type rateLimitConfig struct {
	// OrdersPerMinute refills the bucket. Default 6.
	OrdersPerMinute float64 `json:"orders_per_minute"`
	// Burst is the bucket's size. Default 3.
	Burst int `json:"burst"`
}

// duration is a time.Duration written as a Go duration string such as "15m".
type duration time.Duration

// UnmarshalJSON reads a duration string. An invalid value leaves zero and no error, so that
// decoding goes on to the other fields; unknownFields reports it with its field path.
func (d *duration) UnmarshalJSON(data []byte) error {
	parsed, err := parseDurationJSON(data)
	if err == nil {
		*d = duration(parsed)
	}
	return nil
}

func parseDurationJSON(data []byte) (time.Duration, error) {
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		return 0, fmt.Errorf("expected a duration string such as \"15m\"")
	}
	parsed, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: expected a form such as \"90s\" or \"15m\"",
			text)
	}
	return parsed, nil
}

func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// loadFileConfig reads and decodes a configuration file. It returns every problem it finds
// (unknown fields, wrong types and invalid values), each naming its field path.
func loadFileConfig(path string) (*fileConfig, []problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading configuration: %w", err)
	}
	cfg, problems := decodeFileConfig(data)
	if cfg == nil {
		return nil, problems, nil
	}
	problems = append(problems, cfg.validate()...)
	return cfg, problems, nil
}

// decodeFileConfig decodes data strictly. A nil config means the JSON could not be read at
// all.
func decodeFileConfig(data []byte) (*fileConfig, []problem) {
	var generic any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, []problem{{path: "(file)", message: describeJSONError(data, err)}}
	}
	if dec.More() {
		return nil, []problem{{path: "(file)", message: "unexpected data after the JSON object"}}
	}
	problems := unknownFields(generic, configType, "")
	var cfg fileConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			problems = append(problems, problem{path: typeErr.Field,
				message: fmt.Sprintf("expected %s, found a JSON %s", typeErr.Type, typeErr.Value)})
		case errors.As(err, &syntaxErr):
			problems = append(problems, problem{path: "(file)", message: err.Error()})
		default:
			problems = append(problems, problem{path: "(file)", message: err.Error()})
		}
	}
	return &cfg, problems
}

// describeJSONError words a syntax error with its line number.
func describeJSONError(data []byte, err error) string {
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		line := bytes.Count(data[:min(int(syntaxErr.Offset), len(data))], []byte("\n")) + 1
		return fmt.Sprintf("invalid JSON on line %d: %v", line, err)
	}
	return fmt.Sprintf("invalid JSON: %v", err)
}
