//go:build !unix

package regtest

import "errors"

// lockFile fails where advisory file locks are not available; set INSTARS_BTCD there.
func lockFile(string) (func(), error) {
	return nil, errors.New("file locking is not supported on this platform")
}
