package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/instars/instars/bitcoin"
)

func init() {
	commands["addresses"] = command{
		summary: "print the receive addresses an account key gives, to check them in your wallet",
		run:     runAddresses,
	}
}

// maxAddressCount bounds --count so that a typo cannot start hours of derivation.
const maxAddressCount = 100_000

// runAddresses prints "INDEX ADDRESS" lines for a range of receive (or change) addresses of
// an account key, so that an operator can compare them with their own wallet before the
// server hands any of them out.
func runAddresses(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("addresses", flag.ContinueOnError)
	flags.SetOutput(stderr)
	key := flags.String("key", "", "the account's extended public key (xpub, ypub, zpub, "+
		"tpub, upub, vpub) or output descriptor such as wpkh([fingerprint/84h/0h/0h]xpub…/<0;1>/*)")
	networkName := flags.String("network", "mainnet",
		"bitcoin network: mainnet, testnet3, signet or regtest")
	from := flags.Uint("from", 0, "first address index")
	count := flags.Uint("count", 10, fmt.Sprintf("number of addresses, 1 to %d", maxAddressCount))
	scriptName := flags.String("script-type", "", "script type of a plain xpub or tpub: "+
		"p2pkh (the default), p2sh-p2wpkh, p2wpkh or p2tr; other keys state their own")
	change := flags.Bool("change", false, "print change addresses instead of receive addresses")

	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: instars addresses --key KEY [--network NET] [--from I] "+
			"[--count N] [--script-type T] [--change]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Prints INDEX ADDRESS lines. Only the public key is needed; a "+
			"private key is rejected.")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return err
	}

	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; expected only flags", flags.Arg(0))
	}
	if *key == "" {
		return errors.New("missing --key: give the account's extended public key or descriptor")
	}
	if *count < 1 || *count > maxAddressCount {
		return fmt.Errorf("invalid --count %d: expected 1 to %d", *count, maxAddressCount)
	}
	// Checking --from on its own first keeps the sum below from wrapping around.
	if *from > math.MaxInt32 {
		return fmt.Errorf("invalid --from %d: expected 0 to %d, the highest unhardened index",
			*from, math.MaxInt32)
	}
	lastIndex := uint64(*from) + uint64(*count) - 1
	if lastIndex > math.MaxInt32 {
		return fmt.Errorf("invalid --from %d with --count %d: the last index %d is above %d, "+
			"the highest unhardened index", *from, *count, lastIndex, math.MaxInt32)
	}

	network, err := bitcoin.NetworkByName(*networkName)
	if err != nil {
		return fmt.Errorf("invalid --network: %w", err)
	}
	script := bitcoin.ScriptTypeUnspecified
	if *scriptName != "" {
		if script, err = bitcoin.ParseScriptType(*scriptName); err != nil {
			return fmt.Errorf("invalid --script-type: %w", err)
		}
	}
	account, err := bitcoin.ParseAccountKey(*key, network, script)
	if err != nil {
		return fmt.Errorf("invalid --key: %w", err)
	}

	// Many wallets export a plain xpub for segwit and taproot accounts as well, and the
	// addresses then differ from the wallet's in their first characters only.
	isPlainKey := !strings.Contains(*key, "(")
	if script == bitcoin.ScriptTypeUnspecified && account.ScriptType() == bitcoin.P2PKH &&
		isPlainKey {
		fmt.Fprintln(stderr, "note: a plain xpub or tpub gives p2pkh addresses (1…, m… or n…); "+
			"if your wallet shows 3…, bc1q… or bc1p… addresses, add --script-type "+
			"p2sh-p2wpkh, --script-type p2wpkh or --script-type p2tr")
	}

	derive := account.DeriveReceive
	if *change {
		derive = account.DeriveChange
	}
	for index := uint32(*from); uint64(index) <= lastIndex; index++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		derived, err := derive(index)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%d %s\n", index, derived.Address.EncodeAddress())
		if _, err := io.WriteString(stdout, line); err != nil {
			return err
		}
	}
	return nil
}
