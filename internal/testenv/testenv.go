// Package testenv lets tests that need an outside part (gpg, PostgreSQL, chromium, awscli) skip
// with a message saying what to install, except under CI, where every part must be present and a
// missing one fails the test instead.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// CIVariable is the environment variable that, when set to 1, turns skips into failures.
const CIVariable = "INSTARS_CI"

// InCI reports whether the tests run under .ci/run, where no part may be missing.
func InCI() bool { return os.Getenv(CIVariable) == "1" }

// Missing skips the test with the reason, or fails it under CI.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required part missing under %s=1: %s", CIVariable, reason)
	}
	t.Skip(reason)
}

// RequireCommand returns the path of the named program, or skips (fails under CI) with the hint
// on how to install it.
func RequireCommand(t testing.TB, name, installHint string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" not found on PATH; "+installHint)
	}
	return path
}

// PostgresDSN returns the PostgreSQL connection string tests use: INSTARS_TEST_POSTGRES if set,
// otherwise the trust-auth server on 127.0.0.1:5432 with database test that .ci/run starts.
func PostgresDSN() string {
	if dsn := os.Getenv("INSTARS_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}
