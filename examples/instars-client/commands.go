package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/skip2/go-qrcode"
	"golang.org/x/crypto/ssh"

	"github.com/instars/instars/pgp"
)

func init() {
	commands["keygen"] = command{summary: "make a new customer key pair",
		usage: "keygen --out FILE [--name NAME] [--passphrase-file FILE]", run: runKeygen}
	commands["plans"] = command{summary: "list the server's plans", usage: "plans",
		run: runPlans}
	commands["order"] = command{summary: "sign, encrypt and submit an order; prints the invoice",
		usage: "order --plan ID --ssh-key FILE [--units N] [--refund-address ADDR]",
		run:   runOrder}
	commands["invoice"] = command{summary: "show an invoice with its payment URI and QR code",
		usage: "invoice ID", run: runInvoice}
	commands["follow"] = command{summary: "follow an invoice until its instance runs",
		usage: "follow ID", run: runFollow}
	commands["lease"] = command{summary: "show a lease", usage: "lease LEASE", run: runLease}
	commands["credentials"] = command{
		summary: "fetch, decrypt and verify a lease's credentials",
		usage:   "credentials LEASE [--armored]", run: runCredentials}
	commands["extend"] = command{summary: "order more time for a lease; prints the invoice",
		usage: "extend LEASE [--units N]", run: runExtend}
}

// plan is the part of a server's plan the client shows.
type plan struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	InstanceType  string `json:"instance_type"`
	ImageID       string `json:"image_id"`
	Unit          string `json:"unit"`
	PriceText     string `json:"price_text"`
	MinUnits      int64  `json:"min_units"`
	MaxUnits      int64  `json:"max_units"`
	UnitsPerOrder int64  `json:"units_per_order"`
	Duration      string `json:"duration"`
}

// invoice is the server's invoice view.
type invoice struct {
	ID                    string    `json:"id"`
	State                 string    `json:"state"`
	Status                string    `json:"status"`
	AmountSat             int64     `json:"amount_sat"`
	AmountBTC             string    `json:"amount_btc"`
	PaidSat               int64     `json:"paid_sat"`
	Price                 string    `json:"price"`
	Address               string    `json:"address"`
	PaymentURI            string    `json:"payment_uri"`
	Confirmations         int32     `json:"confirmations"`
	RequiredConfirmations int32     `json:"required_confirmations"`
	Payments              int       `json:"payments"`
	ExpiresAt             time.Time `json:"expires_at"`
	SecondsLeft           int64     `json:"seconds_left"`
	Final                 bool      `json:"final"`
	Message               string    `json:"message"`
	Lease                 *lease    `json:"lease"`
}

// lease is the server's lease view.
type lease struct {
	ID               string     `json:"id"`
	InvoiceID        string     `json:"invoice_id"`
	Plan             string     `json:"plan"`
	Customer         string     `json:"customer"`
	Status           string     `json:"status"`
	State            string     `json:"state"`
	InstanceID       string     `json:"instance_id"`
	Address          string     `json:"address"`
	EndsAt           *time.Time `json:"ends_at"`
	SecondsLeft      int64      `json:"seconds_left"`
	CredentialsReady bool       `json:"credentials_ready"`
	InstanceRunning  bool       `json:"instance_running"`
	InstanceFinished bool       `json:"instance_finished"`
}

// credentials is the decrypted payload of a lease's credentials.
type credentials struct {
	LeaseID    string `json:"lease_id"`
	InstanceID string `json:"instance_id"`
	Address    string `json:"address"`
	HostKeys   []struct {
		Type        string `json:"type"`
		Fingerprint string `json:"fingerprint"`
		PublicKey   string `json:"public_key"`
	} `json:"host_keys"`
	StartedAt   time.Time `json:"started_at"`
	EndsAt      time.Time `json:"ends_at"`
	GraceEndsAt time.Time `json:"grace_ends_at"`
}

func newFlags(c *client, name string) *flag.FlagSet {
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.SetOutput(c.stderr)
	return flags
}

// oneArgument parses flags that may come before or after the one positional argument.
func oneArgument(flags *flag.FlagSet, args []string, what string) (string, error) {
	var positional []string
	for len(args) > 0 {
		if err := flags.Parse(args); err != nil {
			return "", err
		}
		args = flags.Args()
		if len(args) > 0 {
			positional = append(positional, args[0])
			args = args[1:]
		}
	}
	if len(positional) != 1 {
		return "", fmt.Errorf("expected one argument: the %s", what)
	}
	return positional[0], nil
}

func runKeygen(ctx context.Context, c *client, args []string) error {
	flags := newFlags(c, "keygen")
	out := flags.String("out", "", "file to write the armored private key to (0600); "+
		"the public key goes to FILE.pub")
	name := flags.String("name", "instars customer", "the key's user ID")
	passphraseFile := flags.String("passphrase-file", "", "protect the key with the "+
		"passphrase in this file")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("missing --out: give the file to write the key to")
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("%s already exists: choose another --out so no key is overwritten", *out)
	}
	var passphrase []byte
	if *passphraseFile != "" {
		text, err := os.ReadFile(*passphraseFile)
		if err != nil {
			return err
		}
		passphrase = []byte(strings.TrimRight(string(text), "\r\n"))
	}
	key, err := pgp.GenerateKey(pgp.GenerateOptions{Name: *name})
	if err != nil {
		return err
	}
	armored, err := key.Armored(passphrase)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, armored, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(*out+".pub", key.PublicKey().Armored(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "New key %s\n  private key: %s (keep it; it opens your "+
		"credentials)\n  public key:  %s.pub\n", key.Fingerprint(), *out, *out)
	return nil
}

func runPlans(ctx context.Context, c *client, args []string) error {
	if len(args) > 0 {
		return errors.New("expected no arguments")
	}
	var body struct {
		Plans []plan `json:"plans"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/plans", nil, &body); err != nil {
		return err
	}
	table := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(table, "PLAN\tNAME\tTYPE\tPRICE\tUNITS PER ORDER (--units)")
	for _, p := range body.Plans {
		fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%d to %d %s, default %d (%s)\n", p.ID, p.Name,
			p.InstanceType, p.PriceText+"/"+p.Unit, p.MinUnits, p.MaxUnits, p.Unit,
			p.UnitsPerOrder, p.Duration)
	}
	return table.Flush()
}

// orderPayload is the order JSON the customer signs. An extension carries no SSH key because
// the instance keeps the lease's key. A zero Units is omitted, so the server sells the plan's
// minimum.
type orderPayload struct {
	Plan          string    `json:"plan"`
	Units         int64     `json:"units,omitempty"`
	SSHPublicKey  string    `json:"ssh_public_key,omitempty"`
	RefundAddress string    `json:"refund_address,omitempty"`
	Nonce         string    `json:"nonce"`
	CreatedAt     time.Time `json:"created_at"`
	ExtendsLease  string    `json:"extends_lease,omitempty"`
}

// submit seals the payload and posts it to path, printing the invoice it returns.
func (c *client) submit(ctx context.Context, path string, payload orderPayload) error {
	id, err := c.loadIdentity()
	if err != nil {
		return err
	}
	serverPub, sk, err := c.fetchServerKey(ctx)
	if err != nil {
		return err
	}
	// The server checks created_at against its own clock, which dev mode can move forward.
	payload.CreatedAt = sk.ServerTime.UTC().Truncate(time.Second)
	if payload.CreatedAt.IsZero() {
		payload.CreatedAt = time.Now().UTC().Truncate(time.Second)
	}
	nonce := make([]byte, 18)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	payload.Nonce = base64.RawURLEncoding.EncodeToString(nonce)
	data, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	envelope, err := id.sealOrder(data, serverPub)
	if err != nil {
		return fmt.Errorf("signing and encrypting the order: %w", err)
	}
	var inv invoice
	body := map[string]string{"order": string(envelope), "public_key": string(id.publicKey())}
	if err := c.do(ctx, http.MethodPost, path, body, &inv); err != nil {
		return err
	}
	c.printInvoice(inv)
	return nil
}

func runOrder(ctx context.Context, c *client, args []string) error {
	flags := newFlags(c, "order")
	planID := flags.String("plan", "", "the plan's ID, as instars-client plans lists them")
	sshKey := flags.String("ssh-key", "", "your SSH public key file, such as "+
		"~/.ssh/id_ed25519.pub")
	refund := flags.String("refund-address", "", "where an overpayment or refund goes")
	units := flags.Int64("units", 0, "billing units to buy, within the plan's range "+
		"(as instars-client plans lists it); default the plan's minimum")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; expected only flags", flags.Arg(0))
	}
	if *planID == "" {
		return errors.New("missing --plan: `instars-client plans` lists them")
	}
	if *units < 0 {
		return fmt.Errorf("invalid --units %d: expected a positive number", *units)
	}
	line, err := readSSHKey(*sshKey)
	if err != nil {
		return err
	}
	return c.submit(ctx, "/api/v1/orders", orderPayload{Plan: *planID, Units: *units,
		SSHPublicKey: line, RefundAddress: *refund})
}

func (c *client) getInvoice(ctx context.Context, id string) (invoice, error) {
	var inv invoice
	err := c.do(ctx, http.MethodGet, "/api/v1/invoices/"+url.PathEscape(id), nil, &inv)
	return inv, err
}

func runInvoice(ctx context.Context, c *client, args []string) error {
	id, err := oneArgument(newFlags(c, "invoice"), args, "invoice ID")
	if err != nil {
		return err
	}
	inv, err := c.getInvoice(ctx, id)
	if err != nil {
		return err
	}
	c.printInvoice(inv)
	if inv.State == "Expired" {
		return fmt.Errorf("invoice %s expired at %s; submit a new order", inv.ID,
			inv.ExpiresAt.Local().Format(time.RFC1123))
	}
	return nil
}

func (c *client) printInvoice(inv invoice) {
	w := c.stdout
	fmt.Fprintf(w, "Invoice   %s\n", inv.ID)
	fmt.Fprintf(w, "State     %s", inv.State)
	if inv.Status != "" && inv.Status != "None" {
		fmt.Fprintf(w, " (%s)", inv.Status)
	}
	fmt.Fprintf(w, " - %s\n", inv.Message)
	fmt.Fprintf(w, "Amount    %s BTC (%d sat)", inv.AmountBTC, inv.AmountSat)
	if inv.Price != "" {
		fmt.Fprintf(w, ", price %s", inv.Price)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Address   %s\n", inv.Address)
	fmt.Fprintf(w, "Pay with  %s\n", inv.PaymentURI)
	fmt.Fprintf(w, "Expires   %s (%s left)\n", inv.ExpiresAt.Local().Format(time.RFC1123),
		time.Duration(inv.SecondsLeft)*time.Second)
	if inv.Lease != nil {
		fmt.Fprintf(w, "Lease     %s (%s)\n", inv.Lease.ID, inv.Lease.Status)
	}
	if !inv.Final && inv.PaymentURI != "" {
		if qr, err := qrcode.New(inv.PaymentURI, qrcode.Medium); err == nil {
			fmt.Fprint(w, qr.ToSmallString(false))
		}
	}
}

// errInvoiceEnded is returned by follow when the invoice can no longer lead to an instance.
var errInvoiceEnded = errors.New("the invoice will not lead to an instance")

func runFollow(ctx context.Context, c *client, args []string) error {
	flags := newFlags(c, "follow")
	timeout := flags.Duration("timeout", 0, "give up after this long; 0 waits until the end")
	id, err := oneArgument(flags, args, "invoice ID")
	if err != nil {
		return err
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	last := ""
	var result error
	err = c.streamEvents(ctx, "/api/v1/invoices/"+url.PathEscape(id)+"/events",
		func(data []byte) (bool, error) {
			var inv invoice
			if err := json.Unmarshal(data, &inv); err != nil {
				return false, fmt.Errorf("unexpected event: %w", err)
			}
			line := followLine(inv)
			if line != last {
				fmt.Fprintf(c.stdout, "%s  %s\n", time.Now().Format("15:04:05"), line)
				last = line
			}
			switch {
			case inv.Lease != nil && inv.Lease.InstanceRunning:
				fmt.Fprintf(c.stdout, "The instance runs. Next: instars-client credentials %s\n",
					inv.Lease.ID)
				return true, nil
			case inv.Lease != nil && (inv.Lease.Status == "failed" || inv.Lease.InstanceFinished):
				result = fmt.Errorf("%w: lease %s is %s", errInvoiceEnded, inv.Lease.ID,
					inv.Lease.Status)
				return true, nil
			case inv.Lease == nil && (inv.State == "Expired" || inv.State == "Invalid"):
				result = fmt.Errorf("%w: invoice %s is %s; submit a new order", errInvoiceEnded,
					inv.ID, inv.State)
				return true, nil
			}
			return false, nil
		})
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s: the invoice is still %s", *timeout, last)
	}
	if err != nil {
		return err
	}
	return result
}

func followLine(inv invoice) string {
	line := fmt.Sprintf("%s: %s", inv.State, inv.Message)
	if inv.Payments > 0 && inv.Lease == nil {
		line += fmt.Sprintf(" [%d/%d confirmations]", inv.Confirmations,
			inv.RequiredConfirmations)
	}
	return line
}

func runLease(ctx context.Context, c *client, args []string) error {
	id, err := oneArgument(newFlags(c, "lease"), args, "lease ID")
	if err != nil {
		return err
	}
	var l lease
	if err := c.do(ctx, http.MethodGet, "/api/v1/leases/"+url.PathEscape(id), nil,
		&l); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Lease     %s (plan %s)\nStatus    %s, metering %s\n", l.ID, l.Plan,
		l.Status, l.State)
	if l.InstanceID != "" {
		fmt.Fprintf(c.stdout, "Instance  %s %s\n", l.InstanceID, l.Address)
	}
	if l.EndsAt != nil {
		fmt.Fprintf(c.stdout, "Paid until %s (%s left)\n", l.EndsAt.Local().Format(time.RFC1123),
			time.Duration(l.SecondsLeft)*time.Second)
	}
	return nil
}

func runCredentials(ctx context.Context, c *client, args []string) error {
	flags := newFlags(c, "credentials")
	armoredOnly := flags.Bool("armored", false, "print the armored message without "+
		"decrypting it")
	id, err := oneArgument(flags, args, "lease ID")
	if err != nil {
		return err
	}
	var armored string
	err = c.do(ctx, http.MethodGet, "/api/v1/leases/"+url.PathEscape(id)+"/credentials", nil,
		&armored)
	var se *errServer
	if errors.As(err, &se) && se.code == "not_ready" {
		invoice := "INVOICE"
		var l lease
		if c.do(ctx, http.MethodGet, "/api/v1/leases/"+url.PathEscape(id), nil, &l) == nil {
			invoice = l.InvoiceID
		}
		return fmt.Errorf("the credentials of lease %s are not ready: the instance is not "+
			"running yet; wait with `instars-client follow %s`", id, invoice)
	}
	if err != nil {
		return err
	}
	var body struct {
		Armored string `json:"armored"`
	}
	if json.Unmarshal([]byte(armored), &body) == nil && body.Armored != "" {
		armored = body.Armored
	}
	if *armoredOnly {
		fmt.Fprint(c.stdout, armored)
		return nil
	}
	identity, err := c.loadIdentity()
	if err != nil {
		return err
	}
	serverPub, _, err := c.fetchServerKey(ctx)
	if err != nil {
		return err
	}
	payload, err := identity.openCredentials([]byte(armored), serverPub)
	var l lease
	if errors.Is(err, pgp.ErrWrongRecipient) &&
		c.do(ctx, http.MethodGet, "/api/v1/leases/"+url.PathEscape(id), nil, &l) == nil &&
		l.Customer != "" && l.Customer != identity.fingerprint() {
		return fmt.Errorf("the credentials of lease %s open only with key %s, not with %s: "+
			"use the key that made the order, with --key or --local-user", id, l.Customer,
			identity.fingerprint())
	}
	if err != nil {
		return fmt.Errorf("cannot open the credentials with key %s: %w; use the key that "+
			"made the order", identity.fingerprint(), err)
	}
	var cred credentials
	if err := json.Unmarshal(payload, &cred); err != nil {
		_, _ = io.WriteString(c.stdout, string(payload))
		return nil
	}
	w := c.stdout
	fmt.Fprintf(w, "Credentials of lease %s, signed by the server %s\n", cred.LeaseID,
		serverPub.Fingerprint())
	fmt.Fprintf(w, "Instance  %s\nAddress   %s\n", cred.InstanceID, cred.Address)
	fmt.Fprintf(w, "Paid until %s (grace until %s)\n", cred.EndsAt.Local().Format(time.RFC1123),
		cred.GraceEndsAt.Local().Format(time.RFC1123))
	for _, k := range cred.HostKeys {
		fmt.Fprintf(w, "Host key  %s %s\n", k.Type, k.Fingerprint)
	}
	if cred.Address != "" {
		fmt.Fprintf(w, "Connect   ssh root@%s   (check the host key against the "+
			"fingerprints above)\n", cred.Address)
	}
	return nil
}

func runExtend(ctx context.Context, c *client, args []string) error {
	flags := newFlags(c, "extend")
	units := flags.Int64("units", 0, "billing units to add, within the plan's range "+
		"(as instars-client plans lists it); default the plan's minimum")
	id, err := oneArgument(flags, args, "lease ID")
	if err != nil {
		return err
	}
	if *units < 0 {
		return fmt.Errorf("invalid --units %d: expected a positive number", *units)
	}
	var l lease
	if err := c.do(ctx, http.MethodGet, "/api/v1/leases/"+url.PathEscape(id), nil,
		&l); err != nil {
		return err
	}
	// The server checks units against the plan and names the allowed range.
	return c.submit(ctx, "/api/v1/leases/"+url.PathEscape(id)+"/extend",
		orderPayload{Plan: l.Plan, Units: *units, ExtendsLease: l.ID})
}

// readSSHKey reads an SSH public key file and rejects a private key.
func readSSHKey(path string) (string, error) {
	if path == "" {
		return "", errors.New("missing --ssh-key: give your SSH public key file")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the SSH key: %w", err)
	}
	line := strings.TrimSpace(string(data))
	if strings.Contains(line, "PRIVATE KEY") {
		return "", fmt.Errorf("%s is a private key; give the .pub file", path)
	}
	_, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil || strings.ContainsAny(line, "\r\n") || len(rest) > 0 {
		return "", fmt.Errorf("%s is not an SSH public key: expected one line such as "+
			"\"ssh-ed25519 AAAA... you@host\", as in the .pub file ssh-keygen writes", path)
	}
	return line, nil
}
