package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/instars/instars/billing"
	"github.com/instars/instars/bitcoin"
)

// problem is one thing wrong in a configuration file, at a field path such as
// "plans[1].price".
type problem struct {
	path    string
	message string
}

func (p problem) String() string { return p.path + ": " + p.message }

var (
	configType    = reflect.TypeOf(fileConfig{})
	durationType  = reflect.TypeOf(duration(0))
	unmarshalerTy = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
)

// unknownFields walks decoded JSON against the Go type it must fit and reports each object
// key that no field takes, and each invalid duration, so that every problem is named at once.
func unknownFields(value any, typ reflect.Type, path string) []problem {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == durationType {
		raw, _ := json.Marshal(value)
		if _, err := parseDurationJSON(raw); err != nil {
			return []problem{{path: path, message: err.Error()}}
		}
		return nil
	}
	if reflect.PointerTo(typ).Implements(unmarshalerTy) {
		return nil
	}
	var out []problem
	switch typ.Kind() {
	case reflect.Struct:
		object, ok := value.(map[string]any)
		if !ok {
			return nil
		}
		fields := map[string]reflect.Type{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			fields[name] = f.Type
		}
		keys := make([]string, 0, len(object))
		for key := range object {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			fieldType, ok := fields[key]
			if !ok {
				out = append(out, problem{path: joinPath(path, key),
					message: "unknown field" + suggestField(key, fields)})
				continue
			}
			out = append(out, unknownFields(object[key], fieldType, joinPath(path, key))...)
		}
	case reflect.Slice:
		list, ok := value.([]any)
		if !ok {
			return nil
		}
		for i, item := range list {
			out = append(out, unknownFields(item, typ.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggestField names the known fields, so the reader sees what was expected.
func suggestField(key string, fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	return "; expected one of " + strings.Join(names, ", ")
}

// validate checks every value that can be checked without contacting the node, the cloud or
// the database, and returns all problems.
func (c *fileConfig) validate() []problem {
	var out []problem
	add := func(path, format string, args ...any) {
		out = append(out, problem{path: path, message: fmt.Sprintf(format, args...)})
	}
	if c.Listen != "" {
		_, port, err := net.SplitHostPort(c.Listen)
		if _, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil {
			add("listen", "invalid address %q: expected host:port with a port up to "+
				"65535, such as 127.0.0.1:8080", c.Listen)
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || u.Host == "" ||
			(u.Scheme != "http" && u.Scheme != "https") {
			add("public_url", "invalid URL %q: expected http(s)://host[:port]", c.PublicURL)
		}
	}
	network, err := bitcoin.NetworkByName(c.Network)
	switch {
	case c.Network == "":
		add("network", "missing: expected mainnet, testnet3, signet or regtest")
	case err != nil:
		add("network", "%v", err)
	}
	script := bitcoin.ScriptTypeUnspecified
	if c.ScriptType != "" {
		if script, err = bitcoin.ParseScriptType(c.ScriptType); err != nil {
			add("script_type", "%v", err)
		}
	}
	switch {
	case c.AccountKey == "":
		add("account_key", "missing: expected the account's extended public key or descriptor")
	case network != nil:
		if _, err := bitcoin.ParseAccountKey(c.AccountKey, network, script); err != nil {
			add("account_key", "%v", err)
		}
	}

	out = append(out, c.Node.validate()...)
	out = append(out, c.Database.validate()...)
	if c.ServerKey.File == "" {
		add("server_key.file", "missing: expected the path of the server's OpenPGP key "+
			"(generated there at the first start)")
	}
	checkReadable(&out, "server_key.passphrase_file", c.ServerKey.PassphraseFile)
	out = append(out, c.Cloud.validate()...)
	out = append(out, c.validatePlans()...)
	out = append(out, c.validatePolicy()...)
	out = append(out, c.Rates.validate()...)
	out = append(out, c.validateWebhooks()...)
	out = append(out, c.Admin.validate()...)

	if c.RateLimit.OrdersPerMinute < 0 {
		add("rate_limit.orders_per_minute", "must not be negative")
	}
	if c.RateLimit.Burst < 0 {
		add("rate_limit.burst", "must not be negative")
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		add("log_level", "invalid level %q: expected debug, info, warn or error", c.LogLevel)
	}
	return out
}

func (n nodeConfig) validate() []problem {
	if n.EsploraURL != "" {
		return n.validateEsplora()
	}
	var out []problem
	switch n.Kind {
	case "bitcoind", "btcd":
	case "":
		out = append(out, problem{"node.kind", "missing: expected bitcoind or btcd, or " +
			"node.esplora_url in place of the RPC fields"})
	default:
		out = append(out, problem{"node.kind",
			fmt.Sprintf("unknown node %q: expected bitcoind or btcd", n.Kind)})
	}
	if n.Host == "" {
		out = append(out, problem{"node.host", "missing: expected the RPC address as host:port"})
	} else if _, _, err := net.SplitHostPort(n.Host); err != nil {
		out = append(out, problem{"node.host",
			fmt.Sprintf("invalid address %q: expected host:port", n.Host)})
	}
	checkReadable(&out, "node.password_file", n.PasswordFile)
	checkReadable(&out, "node.certificate_file", n.CertificateFile)
	if n.CertificateFile != "" && !n.TLS {
		out = append(out, problem{"node.certificate_file", "set, but node.tls is false"})
	}
	if n.Depth < 0 {
		out = append(out, problem{"node.depth", "must not be negative"})
	}
	return out
}

// validateEsplora checks a node read through Esplora: its URL, and that no RPC field is set
// beside it.
func (n nodeConfig) validateEsplora() []problem {
	var out []problem
	if u, err := url.Parse(n.EsploraURL); err != nil || u.Host == "" ||
		(u.Scheme != "http" && u.Scheme != "https") {
		out = append(out, problem{"node.esplora_url",
			fmt.Sprintf("invalid URL %q: expected http(s)://host[:port]/api", n.EsploraURL)})
	}
	rpcFields := []struct {
		name string
		set  bool
	}{
		{"kind", n.Kind != ""}, {"host", n.Host != ""}, {"user", n.User != ""},
		{"password_file", n.PasswordFile != ""}, {"tls", n.TLS},
		{"certificate_file", n.CertificateFile != ""},
	}
	for _, f := range rpcFields {
		if f.set {
			out = append(out, problem{"node." + f.name, "set together with node.esplora_url: " +
				"use either the RPC fields or esplora_url"})
		}
	}
	if n.Depth < 0 {
		out = append(out, problem{"node.depth", "must not be negative"})
	}
	return out
}

func (d databaseConfig) validate() []problem {
	set := 0
	for _, v := range []string{d.SQLite, d.Postgres, d.PostgresFile} {
		if v != "" {
			set++
		}
	}
	var out []problem
	switch {
	case set == 0:
		out = append(out, problem{"database",
			"missing: expected sqlite (a file path), postgres or postgres_file"})
	case set > 1:
		out = append(out, problem{"database",
			"sqlite, postgres and postgres_file exclude each other: set one"})
	}
	checkReadable(&out, "database.postgres_file", d.PostgresFile)
	return out
}

func (c cloudConfig) validate() []problem {
	var out []problem
	checkReadable(&out, "cloud.eucarc", c.Eucarc)
	checkReadable(&out, "cloud.secret_access_key_file", c.SecretAccessKeyFile)
	checkReadable(&out, "cloud.ca_bundle", c.CABundle)
	if (c.AccessKeyID == "") != (c.SecretAccessKeyFile == "") {
		out = append(out, problem{"cloud.access_key_id",
			"access_key_id and secret_access_key_file go together: set both or neither"})
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || u.Host == "" ||
			(u.Scheme != "http" && u.Scheme != "https") {
			out = append(out, problem{"cloud.endpoint",
				fmt.Sprintf("invalid URL %q: expected http(s)://host[:port]/path", c.Endpoint)})
		}
	}
	if c.LaunchTimeout < 0 {
		out = append(out, problem{"cloud.launch_timeout", "must not be negative"})
	}
	return out
}

func (c *fileConfig) validatePlans() []problem {
	var out []problem
	if len(c.Plans) == 0 {
		out = append(out, problem{"plans", "empty: expected at least one plan"})
	}
	seen := map[string]int{}
	for i, plan := range c.Plans {
		path := fmt.Sprintf("plans[%d]", i)
		if err := plan.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				out = append(out, problem{path, line})
			}
		}
		if first, ok := seen[plan.ID]; ok {
			out = append(out, problem{path + ".id",
				fmt.Sprintf("%q is also the id of plans[%d]", plan.ID, first)})
		}
		seen[plan.ID] = i
		if plan.Price.Currency != "" && len(c.Rates.Sources) == 0 && len(c.Rates.Fixed) == 0 {
			out = append(out, problem{path + ".price", fmt.Sprintf("priced in %s, but rates "+
				"has no sources: add rates.sources or rates.fixed", plan.Price.Currency)})
		}
	}
	return out
}

func (c *fileConfig) validatePolicy() []problem {
	if err := c.policy().Validate(); err != nil {
		return []problem{{"confirmations", err.Error()}}
	}
	var out []problem
	// The tracker stops reporting a payment at its follow depth, so a policy asking for more
	// confirmations could never settle. The tracker's default depth is 6.
	followDepth := c.Node.Depth
	if followDepth <= 0 {
		followDepth = 6
	}
	if c.Confirmations.Depth > followDepth {
		out = append(out, problem{"confirmations.depth", fmt.Sprintf("%d is deeper than "+
			"node.depth %d, the depth the tracker follows", c.Confirmations.Depth, followDepth)})
	}
	if policy := c.policy(); policy.HighValueThreshold > 0 &&
		policy.RequiredDepth(policy.HighValueThreshold) > followDepth {
		depth := policy.RequiredDepth(policy.HighValueThreshold)
		what := fmt.Sprintf("%d", depth)
		if c.Confirmations.HighValueDepth == 0 {
			what = fmt.Sprintf("unset, so %d (the default),", depth)
		}
		out = append(out, problem{"confirmations.high_value_depth", fmt.Sprintf("%s is "+
			"deeper than node.depth %d, the depth the tracker follows: invoices above "+
			"high_value_threshold_sat could never settle", what, followDepth)})
	}
	if c.Invoices.Expiry < 0 || c.Invoices.Monitoring < 0 {
		out = append(out, problem{"invoices", "durations must not be negative"})
	}
	if c.Invoices.ToleranceBasisPoints > billing.MaxToleranceBasisPoints {
		out = append(out, problem{"invoices.tolerance_basis_points",
			fmt.Sprintf("must be at most %d (%d %%)", billing.MaxToleranceBasisPoints,
				billing.MaxToleranceBasisPoints/100)})
	}
	if _, err := c.Invoices.latePaymentPolicy(); err != nil {
		out = append(out, problem{"invoices.late_payments", err.Error()})
	}
	return out
}

// latePaymentPolicy maps late_payments to billing's policy; empty means accept.
func (c invoicesConfig) latePaymentPolicy() (billing.LatePaymentPolicy, error) {
	switch c.LatePayments {
	case "", "accept":
		return billing.LateAccept, nil
	case "decline":
		return billing.LateDecline, nil
	case "hold":
		return billing.LateHold, nil
	}
	return billing.LateAccept, fmt.Errorf("invalid policy %q: expected accept, decline or hold",
		c.LatePayments)
}

func (r ratesConfig) validate() []problem {
	var out []problem
	for i, name := range r.Sources {
		switch name {
		case "kraken", "coinbase", "bitstamp":
		default:
			out = append(out, problem{fmt.Sprintf("rates.sources[%d]", i),
				fmt.Sprintf("unknown source %q: expected kraken, coinbase or bitstamp", name)})
		}
	}
	for currency, rate := range r.Fixed {
		if _, err := billing.CurrencyExponent(currency); err != nil {
			out = append(out, problem{"rates.fixed." + currency, err.Error()})
		}
		if rate <= 0 {
			out = append(out, problem{"rates.fixed." + currency,
				"must be positive: the price of 1 BTC in minor units"})
		}
	}
	if r.SpreadBasisPoints > 5000 {
		out = append(out, problem{"rates.spread_basis_points", "must be at most 5000"})
	}
	return out
}

func (c *fileConfig) validateWebhooks() []problem {
	var out []problem
	names := map[string]bool{}
	for i, w := range c.Webhooks {
		path := fmt.Sprintf("webhooks[%d]", i)
		if w.Name == "" {
			out = append(out, problem{path + ".name", "missing"})
		} else if names[w.Name] {
			out = append(out, problem{path + ".name", fmt.Sprintf("%q appears twice", w.Name)})
		}
		names[w.Name] = true
		if u, err := url.Parse(w.URL); err != nil || u.Host == "" ||
			(u.Scheme != "http" && u.Scheme != "https") {
			out = append(out, problem{path + ".url",
				fmt.Sprintf("invalid URL %q: expected http(s)://host/path", w.URL)})
		}
		if w.SecretFile == "" {
			out = append(out, problem{path + ".secret_file", "missing: expected a file " +
				"holding the HMAC key, at least 32 bytes"})
		} else if secret, err := os.ReadFile(w.SecretFile); err != nil {
			out = append(out, problem{path + ".secret_file", err.Error()})
		} else if len(strings.TrimSpace(string(secret))) < 32 {
			out = append(out, problem{path + ".secret_file",
				"the secret is shorter than 32 bytes"})
		}
	}
	return out
}

func (a adminConfig) validate() []problem {
	var out []problem
	if a.User == "" {
		out = append(out, problem{"admin.user", "missing: expected the admin's user name"})
	}
	switch {
	case a.PasswordHash == "" && a.PasswordFile == "":
		out = append(out, problem{"admin", "missing password_hash or password_file"})
	case a.PasswordHash != "" && a.PasswordFile != "":
		out = append(out, problem{"admin", "password_hash and password_file exclude each " +
			"other: set one"})
	case a.PasswordHash != "":
		if _, err := bcrypt.Cost([]byte(a.PasswordHash)); err != nil {
			out = append(out, problem{"admin.password_hash", "not a bcrypt hash: run " +
				"`instars hash-password` to make one"})
		}
	default:
		checkReadable(&out, "admin.password_file", a.PasswordFile)
	}
	return out
}

// checkReadable reports a file that is set but cannot be read.
func checkReadable(out *[]problem, path, file string) {
	if file == "" {
		return
	}
	f, err := os.Open(file)
	if err != nil {
		*out = append(*out, problem{path, err.Error()})
		return
	}
	_ = f.Close()
}

func (c *fileConfig) policy() billing.ConfirmationPolicy {
	return billing.ConfirmationPolicy{
		Depth:              c.Confirmations.Depth,
		HighValueThreshold: btcAmount(c.Confirmations.HighValueThreshold),
		HighValueDepth:     c.Confirmations.HighValueDepth,
		ZeroConf:           c.Confirmations.ZeroConf,
		ZeroConfMax:        btcAmount(c.Confirmations.ZeroConfMax),
	}
}
