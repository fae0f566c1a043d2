// Package regtest starts real btcd nodes in regression-test mode for the tests and the
// development mode of the example server.
//
// It builds btcd once per btcd version, the version this module requires, into the user's
// cache directory. A file lock guards the build, so test binaries of several packages that
// run at once share one binary. Each [Node] wraps a btcd
// integration/rpctest harness: a btcd process with a funded in-memory wallet, plus a small
// single-key wallet of its own whose coins can be spent with or without BIP125 replace-by-fee
// signalling, replaced, or double-spent on purpose.
//
// [Connect], [Disconnect] and [WaitSynced] join and split nodes so that tests can build two
// competing chains and force a reorganisation.
package regtest
