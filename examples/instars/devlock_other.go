//go:build !unix

package main

// lockDataFolder does nothing where flock is not available: two dev processes on one data
// folder are then not prevented.
func lockDataFolder(string) (release func(), err error) { return func() {}, nil }
