//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// devLockFile is the data folder's lock, held by the one dev process that uses the folder.
const devLockFile = "dev.lock"

// lockDataFolder takes the data folder for this process, so that a second `instars dev` on
// the same folder stops at once instead of sharing its database and emulator state. The
// lock is an flock, so the kernel releases it when the process ends, even on a crash.
func lockDataFolder(dir string) (release func(), err error) {
	path := filepath.Join(dir, devLockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the data folder's lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("the data folder %s is in use by another instars dev "+
				"(process %s): stop it, or give this one another --data folder", dir,
				strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("locking the data folder: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { _ = f.Close() }, nil
}
