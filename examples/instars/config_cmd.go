package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"golang.org/x/crypto/bcrypt"
)

func init() {
	commands["config"] = command{
		summary: "config check FILE: validate a configuration file and name every problem",
		run:     runConfig,
	}
	commands["hash-password"] = command{
		summary: "read an admin password on stdin and print its bcrypt hash for the config",
		run:     runHashPassword,
	}
}

// stdin is where hash-password reads the password; tests replace it.
var stdin io.Reader = os.Stdin

// errInvalidConfig is returned by `config check` after it printed the problems.
var errInvalidConfig = errors.New("the configuration is invalid")

func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: instars config check FILE")
		return errors.New("expected the subcommand check")
	}
	flags := flag.NewFlagSet("config check", flag.ContinueOnError)
	flags.SetOutput(stderr)
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	if flags.NArg() != 1 {
		return errors.New("expected one argument: the configuration file")
	}
	path := flags.Arg(0)
	_, problems, err := loadFileConfig(path)
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		fmt.Fprintf(stdout, "%s: valid\n", path)
		return nil
	}
	for _, p := range problems {
		fmt.Fprintf(stdout, "%s: %s\n", path, p)
	}
	return fmt.Errorf("%w: %s", errInvalidConfig, problemCount(len(problems)))
}

func runHashPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return errors.New("expected no arguments: type the password on stdin")
	}
	fmt.Fprintln(stderr, "password (one line, then Enter):")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("reading the password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if len(password) < 8 {
		return errors.New("the password is shorter than 8 characters")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(hash))
	return nil
}

func btcAmount(sats int64) btcutil.Amount { return btcutil.Amount(sats) }

// problemCount words a number of configuration problems, "1 problem" or "3 problems".
func problemCount(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}
