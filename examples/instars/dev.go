package main

import (
	"context"
	"fmt"
	"io"
)

func init() {
	commands["dev"] = command{
		summary: "run everything on 127.0.0.1 with no set-up (regtest node, EC2 emulator, web)",
		run:     runDev,
	}
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintln(stdout, "instars dev: the all-in-one mode is not assembled yet;")
	fmt.Fprintln(stdout, "try: go run ./examples/instars addresses --help")
	return nil
}
