// Package internal holds what the tests and the example programs share and importers of the
// library should not depend on: the local EC2 emulator, the regtest harness helpers and test
// fixtures, each in its own subpackage.
package internal
