// Command instars-client is the customer's side of InStaRS: it builds, signs and encrypts an
// order with the customer's own OpenPGP key, shows the invoice, follows it, and opens the
// credentials of the instance.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "usage: instars-client COMMAND (not assembled yet)")
	os.Exit(2)
}
