package regtest

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// BtcdPathVariable names the environment variable that, when set, gives the btcd executable
// to run instead of building one.
const BtcdPathVariable = "INSTARS_BTCD"

const btcdModule = "github.com/btcsuite/btcd"

var (
	btcdPathOnce sync.Once
	btcdPath     string
	btcdPathErr  error
)

// BtcdPath returns the path of a btcd executable, building it on first use.
//
// The binary is cached as <user cache dir>/instars/btcd-<version>/btcd, where the version is
// the btcd module version this program was built with, so a second run and a parallel test
// binary reuse it. Building needs the go command and, on first use, the module proxy or a
// module cache that holds btcd's dependencies.
//
// NOTE: btcd is installed with its own go.mod (`go install github.com/btcsuite/btcd@VERSION`)
// rather than built inside this module, because this module requires btcec/v2 v2.3.4, whose
// ecdsa.SignCompact no longer returns an error, and btcd v0.24.2's RPC server does not compile
// against it.
func BtcdPath() (string, error) {
	btcdPathOnce.Do(func() {
		btcdPath, btcdPathErr = findOrBuildBtcd()
	})
	return btcdPath, btcdPathErr
}

func findOrBuildBtcd() (string, error) {
	if path := os.Getenv(BtcdPathVariable); path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("btcd executable from %s: %w", BtcdPathVariable, err)
		}
		return path, nil
	}
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		cacheRoot = os.TempDir()
	}
	version, err := btcdVersion()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheRoot, "instars", "btcd-"+version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create btcd cache directory: %w", err)
	}
	exe := filepath.Join(dir, "btcd")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	if isExecutable(exe) {
		return exe, nil
	}

	unlock, err := lockFile(filepath.Join(dir, "build.lock"))
	if err != nil {
		return "", fmt.Errorf("lock btcd cache directory %s: %w", dir, err)
	}
	defer unlock()

	// Another process may have finished the build while this one waited for the lock.
	if isExecutable(exe) {
		return exe, nil
	}
	if err := buildBtcd(dir, version); err != nil {
		return "", err
	}
	return exe, nil
}

// buildBtcd installs btcd into a fresh folder and renames the binary into dir, so that no
// reader ever sees a partly written file.
func buildBtcd(dir, version string) error {
	if _, err := exec.LookPath("go"); err != nil {
		return fmt.Errorf("build btcd: the go command is not on PATH; install Go or set %s "+
			"to a btcd executable: %w", BtcdPathVariable, err)
	}
	staging, err := os.MkdirTemp(dir, "install-")
	if err != nil {
		return fmt.Errorf("build btcd: %w", err)
	}
	defer os.RemoveAll(staging)

	slog.Info("regtest: building btcd once for this version; this can take a minute",
		"version", version, "dir", dir)
	cmd := exec.Command("go", "install", btcdModule+"@"+version)
	// Outside of this module's graph: GOFLAGS such as -mod=vendor would not apply.
	cmd.Env = append(os.Environ(), "GOBIN="+staging, "GOFLAGS=")
	cmd.Dir = staging
	output, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build btcd with %q (or set %s to a btcd executable): %w: %s",
			strings.Join(cmd.Args, " "), BtcdPathVariable, err,
			strings.TrimSpace(string(output)))
	}
	name := "btcd"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if err := os.Rename(filepath.Join(staging, name), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("install built btcd: %w", err)
	}
	return nil
}

// btcdVersion returns the btcd module version this program links, read from its build
// information or, in test binaries, which carry none, from the go command in the current
// module.
func btcdVersion() (string, error) {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path != btcdModule {
				continue
			}
			if dep.Replace != nil && dep.Replace.Version != "" {
				return dep.Replace.Version, nil
			}
			return dep.Version, nil
		}
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", btcdModule)
	output, err := cmd.Output()
	version := strings.TrimSpace(string(output))
	if err != nil || version == "" {
		return "", fmt.Errorf("find the btcd module version with %q (run inside the instars "+
			"module, or set %s to a btcd executable): %v", strings.Join(cmd.Args, " "),
			BtcdPathVariable, err)
	}
	return version, nil
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	if err != nil {
		return false
	}
	return info.Mode().IsRegular() && (runtime.GOOS == "windows" || info.Mode()&0o111 != 0)
}
