package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestWelcomeNamesNonDefaultServer(t *testing.T) {
	env := &devEnvironment{dir: t.TempDir(), fresh: true}
	tests := []struct {
		url        string
		wantExport bool
	}{
		{"http://" + defaultDevListen, false},
		{"http://127.0.0.1:7081", true},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		env.printWelcome(&out, tt.url, "http://127.0.0.1:8773")
		text := out.String()
		export := "export INSTARS_SERVER=" + tt.url
		if got := strings.Contains(text, export); got != tt.wantExport {
			t.Errorf("welcome at %s: has %q = %v, want %v:\n%s",
				tt.url, export, got, tt.wantExport, text)
		}
		for _, want := range []string{devAccessKey, devCloudSecret, "extend LEASE-ID",
			tt.url + "/api/v1/dev/advance"} {
			if !strings.Contains(text, want) {
				t.Errorf("welcome at %s lacks %q:\n%s", tt.url, want, text)
			}
		}
	}
}

func TestLockDataFolderOnce(t *testing.T) {
	dir := t.TempDir()
	release, err := lockDataFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDataFolder(dir); err == nil ||
		!strings.Contains(err.Error(), "in use by another instars dev") {
		t.Errorf("second lock of %s: %v, want in use", dir, err)
	}
	release()
	again, err := lockDataFolder(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again()
}
