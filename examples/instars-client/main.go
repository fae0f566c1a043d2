// Command instars-client is the customer's side of InStaRS: it builds, signs and encrypts an
// order with the customer's own OpenPGP key, shows the invoice, follows it, and opens the
// credentials of the instance.
//
//	instars-client keygen --out customer.asc
//	instars-client plans
//	instars-client --key customer.asc order --plan small-hour --units 3 --ssh-key ~/.ssh/id_ed25519.pub
//	instars-client invoice INVOICE
//	instars-client --key customer.asc follow INVOICE
//	instars-client --key customer.asc credentials LEASE
//	instars-client --key customer.asc extend LEASE --units 2
//
// The key is an armored private key file (--key, or INSTARS_KEY), or a key in the GnuPG
// keyring used through the gpg command (--local-user). The server is --server, or
// INSTARS_SERVER, or the address of `instars dev`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// defaultServer is the address `instars dev` listens on.
const defaultServer = "http://127.0.0.1:7080"

// command is one subcommand.
type command struct {
	summary string
	usage   string
	run     func(ctx context.Context, c *client, args []string) error
}

var commands = map[string]command{}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the global flags, then runs the subcommand; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("instars-client", flag.ContinueOnError)
	flags.SetOutput(stderr)
	server := flags.String("server", envOr("INSTARS_SERVER", defaultServer),
		"the InStaRS server's URL (env INSTARS_SERVER)")
	keyFile := flags.String("key", os.Getenv("INSTARS_KEY"),
		"your armored OpenPGP private key file (env INSTARS_KEY)")
	passphraseFile := flags.String("passphrase-file", "",
		"a file holding the passphrase of the --key file, when it has one")
	localUser := flags.String("local-user", os.Getenv("INSTARS_LOCAL_USER"),
		"use this key of your GnuPG keyring through the gpg command instead of --key")
	gpgPath := flags.String("gpg", "gpg", "the gpg command, for --local-user")
	flags.Usage = func() { usage(stderr, flags) }
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() == 0 {
		usage(stderr, flags)
		return 2
	}
	name := flags.Arg(0)
	if name == "help" {
		usage(stderr, flags)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "instars-client: unknown command %q\n\n", name)
		usage(stderr, flags)
		return 2
	}
	c := &client{server: *server, keyFile: *keyFile, passphraseFile: *passphraseFile,
		localUser: *localUser, gpgPath: *gpgPath, stdout: stdout, stderr: stderr}
	if err := cmd.run(ctx, c, flags.Args()[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "instars-client %s: %v\n", name, err)
		return 1
	}
	return 0
}

func usage(w io.Writer, flags *flag.FlagSet) {
	fmt.Fprintln(w, "usage: instars-client [flags] COMMAND [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-12s %s\n", name, commands[name].summary)
		fmt.Fprintf(w, "  %-12s   %s\n", "", commands[name].usage)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "flags:")
	flags.PrintDefaults()
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
