package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/instars/instars/bitcoin"
)

// The account key and addresses of the BIP84 test vectors.
const (
	bip84AccountZpub = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSd" +
		"VCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
	bip84AccountZprv = "zprvAdG4iTXWBoARxkkzNpNh8r6Qag3irQB8PzEMkAFeTRXxHpbF9z4QgEvBRmfvqWvGp42" +
		"t42nvgGpNgYSJA9iefm1yYNZKEm7z6qUWCroSQnE"
)

func runAddressesForTest(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runAddresses(context.Background(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestAddressesPrintsBIP84Vectors(t *testing.T) {
	stdout, _, err := runAddressesForTest(t, "--key", bip84AccountZpub, "--count", "2")
	if err != nil {
		t.Fatal(err)
	}
	want := "0 bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu\n" +
		"1 bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g\n"
	if stdout != want {
		t.Errorf("output = %q, want %q", stdout, want)
	}
}

func TestAddressesFromAndChange(t *testing.T) {
	stdout, _, err := runAddressesForTest(t, "--key", bip84AccountZpub, "--from", "1",
		"--count", "1")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "1 bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g\n" {
		t.Errorf("--from 1 output = %q", stdout)
	}
	stdout, _, err = runAddressesForTest(t, "--key", bip84AccountZpub, "--change",
		"--count", "1")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "0 bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el\n" {
		t.Errorf("--change output = %q", stdout)
	}
}

func TestAddressesScriptTypeAndNetwork(t *testing.T) {
	// The BIP86 account key, a plain xpub, gives BIP86 addresses as p2tr.
	const bip86AccountXpub = "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWc" +
		"LteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ"
	stdout, _, err := runAddressesForTest(t, "--key", bip86AccountXpub, "--script-type",
		"p2tr", "--network", "mainnet", "--count", "1")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "0 bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr\n" {
		t.Errorf("p2tr output = %q", stdout)
	}
	// BIP49's testnet account key on signet, which shares testnet's address encoding.
	const bip49AccountUpub = "upub5EFU65HtV5TeiSHmZZm7FUffBGy8UKeqp7vw43jYbvZPpoVsgU93oac" +
		"7Wk3u6moKegAEWtGNF8DehrnHtv21XXEMYRUocHqguyjknFHYfgY"
	stdout, _, err = runAddressesForTest(t, "--key", bip49AccountUpub, "--network", "signet",
		"--count", "1")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "0 2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2\n" {
		t.Errorf("signet output = %q", stdout)
	}
}

// TestAddressesNotesPlainXpubDefault checks that a plain xpub without --script-type, which
// many wallets export for segwit accounts too, gets a note on stderr about the p2pkh default.
func TestAddressesNotesPlainXpubDefault(t *testing.T) {
	const bip86AccountXpub = "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWc" +
		"LteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ"
	tests := []struct {
		name string
		args []string
		note bool
	}{
		{"plain xpub", []string{"--key", bip86AccountXpub}, true},
		{"plain xpub with script type", []string{"--key", bip86AccountXpub, "--script-type",
			"p2pkh"}, false},
		{"pkh descriptor", []string{"--key", "pkh(" + bip86AccountXpub + "/0/*)"}, false},
		{"zpub", []string{"--key", bip84AccountZpub}, false},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			stdout, stderr, err := runAddressesForTest(t, append(test.args, "--count", "1")...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(stdout, "script-type") {
				t.Errorf("stdout %q carries the note; it must hold addresses only", stdout)
			}
			if got := strings.Contains(stderr, "--script-type p2wpkh"); got != test.note {
				t.Errorf("stderr %q: note printed = %v, want %v", stderr, got, test.note)
			}
		})
	}
}

func TestAddressesRejects(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		sentinel error
		message  string
	}{
		{"private key", []string{"--key", bip84AccountZprv}, bitcoin.ErrPrivateKey,
			"give the account's public key"},
		{"wrong network", []string{"--key", bip84AccountZpub, "--network", "testnet"},
			bitcoin.ErrWrongNetwork, "mainnet key"},
		{"bad key", []string{"--key", "zpub-not-a-key"}, bitcoin.ErrInvalidAccountKey,
			"invalid --key"},
		{"conflicting script type", []string{"--key", bip84AccountZpub, "--script-type",
			"p2tr"}, bitcoin.ErrScriptTypeConflict, "p2tr"},
		{"unknown script type", []string{"--key", bip84AccountZpub, "--script-type", "p2wsh"},
			bitcoin.ErrUnsupportedScript, "--script-type"},
		{"missing key", nil, nil, "missing --key"},
		{"zero count", []string{"--key", bip84AccountZpub, "--count", "0"}, nil,
			"invalid --count"},
		{"beyond last index", []string{"--key", bip84AccountZpub, "--from", "2147483647",
			"--count", "2"}, nil, "highest unhardened index"},
		{"from that wraps the last index", []string{"--key", bip84AccountZpub, "--from",
			"18446744073709551611", "--count", "10"}, nil, "highest unhardened index"},
		{"from above unhardened", []string{"--key", bip84AccountZpub, "--from", "2147483648"},
			nil, "highest unhardened index"},
		{"testnet4", []string{"--key", bip84AccountZpub, "--network", "testnet4"}, nil,
			"no parameters for testnet4"},
		{"unknown network", []string{"--key", bip84AccountZpub, "--network", "moon"}, nil,
			"unknown bitcoin network"},
		{"extra argument", []string{"--key", bip84AccountZpub, "extra"}, nil,
			"unexpected argument"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			stdout, _, err := runAddressesForTest(t, test.args...)
			if err == nil {
				t.Fatalf("no error; output %q", stdout)
			}
			if test.sentinel != nil && !errors.Is(err, test.sentinel) {
				t.Errorf("error %v does not wrap %v", err, test.sentinel)
			}
			if !strings.Contains(err.Error(), test.message) {
				t.Errorf("error %q does not contain %q", err, test.message)
			}
			if stdout != "" {
				t.Errorf("printed %q before failing", stdout)
			}
		})
	}
}

func TestAddressesExitStatus(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"addresses", "--key", bip84AccountZprv},
		&stdout, &stderr)
	if code == 0 {
		t.Fatal("exit status 0 for a private key")
	}
	if strings.Contains(stderr.String(), bip84AccountZprv[4:]) {
		t.Errorf("stderr repeats the private key: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "private key") {
		t.Errorf("stderr %q does not say the key is private", stderr.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"addresses", "--key", bip84AccountZpub,
		"--count", "3"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d for a valid key: %s", code, stderr.String())
	}
	if lines := strings.Count(stdout.String(), "\n"); lines != 3 {
		t.Errorf("printed %d lines, want 3", lines)
	}
}
