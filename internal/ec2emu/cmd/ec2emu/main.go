// Command ec2emu serves the local EC2 emulator of package ec2emu until interrupted.
//
//	ec2emu -listen 127.0.0.1:8773 -access-key AKIDEXAMPLE -secret-key secret \
//		-region eucalyptus -state /tmp/ec2emu.json -pending 5s \
//		-fault throttle,action=RunInstances,count=2
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/instars/instars/internal/ec2emu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, errorLine(err))
		os.Exit(1)
	}
}

// errorLine returns err's message with the command name in front, once: errors from package
// ec2emu already start with it.
func errorLine(err error) string {
	return "ec2emu: " + strings.TrimPrefix(err.Error(), "ec2emu: ")
}

// faultFlags collects repeated -fault flags.
type faultFlags []ec2emu.Fault

func (f *faultFlags) String() string { return fmt.Sprint(len(*f), " faults") }

func (f *faultFlags) Set(spec string) error {
	fault, err := ec2emu.ParseFault(spec)
	if err != nil {
		return err
	}
	*f = append(*f, fault)
	return nil
}

// run serves the emulator configured by args until ctx ends. It calls started, when not nil,
// with the base URL once the server listens.
func run(ctx context.Context, args []string, logOutput io.Writer, started func(url string)) error {
	flags := flag.NewFlagSet("ec2emu", flag.ContinueOnError)
	flags.SetOutput(logOutput)
	defaults := ec2emu.DefaultTimings
	listen := flags.String("listen", "127.0.0.1:8773",
		"address to serve on; 8773 is the port of Eucalyptus' EC2 API. Keep it on "+
			"127.0.0.1: the /_emu/ control endpoints take no signature")
	accessKey := flags.String("access-key", "AKIDEXAMPLE", "access key id clients sign with")
	secretKey := flags.String("secret-key", "",
		"secret access key (default: the EC2EMU_SECRET_KEY environment variable)")
	region := flags.String("region", "eucalyptus", "region name signatures must be scoped to")
	extraRegions := flags.String("extra-regions", "", "comma-separated further region names")
	stateFile := flags.String("state", "", "JSON file to keep the state in across restarts")
	pending := flags.Duration("pending", defaults.Pending, "how long instances stay pending")
	shuttingDown := flags.Duration("shutting-down", defaults.ShuttingDown,
		"how long terminated instances stay shutting-down")
	visible := flags.Duration("terminated-visible", defaults.TerminatedVisible,
		"how long terminated instances stay visible")
	propagation := flags.Duration("propagation-delay", 0,
		"how long a new instance stays unknown to actions other than its RunInstances")
	publicRange := flags.String("public-ips", "",
		"IPv4 prefix to hand out public addresses from, such as 127.0.1.0/24 "+
			"(default: the documentation ranges of RFC 5737)")
	maxInstances := flags.Int("max-instances", 20, "how many instances may be active at once")
	longIDs := flags.Bool("long-ids", false, "use 17-digit instance ids as AWS does today")
	verbose := flags.Bool("v", false, "log every request")
	var faults faultFlags
	flags.Var(&faults, "fault", "inject a fault, repeatable: KIND[,action=ACTION][,count=N]"+
		"[,p=PROBABILITY][,seed=N][,latency=DURATION]; KIND is latency, internal-error, "+
		"unavailable, throttle, lost-response or drop-connection")
	if err := flags.Parse(args); errors.Is(err, flag.ErrHelp) {
		// The flag package has printed the usage, which is all -h requests.
		return nil
	} else if err != nil {
		return err
	}

	if *secretKey == "" {
		*secretKey = os.Getenv("EC2EMU_SECRET_KEY")
	}
	if *secretKey == "" {
		return fmt.Errorf("no secret key: set -secret-key or EC2EMU_SECRET_KEY")
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(logOutput, &slog.HandlerOptions{Level: level}))
	cfg := ec2emu.Config{
		Credentials: map[string]string{*accessKey: *secretKey},
		Region:      *region,
		Timings: &ec2emu.Timings{
			Pending: *pending, ShuttingDown: *shuttingDown, TerminatedVisible: *visible,
		},
		StateFile:        *stateFile,
		PropagationDelay: *propagation,
		MaxInstances:     *maxInstances,
		LongIDs:          *longIDs,
		Logger:           logger,
	}
	if *publicRange != "" {
		addrs, err := ec2emu.AddressRange(*publicRange)
		if err != nil {
			return err
		}
		cfg.PublicIPs = addrs
	}
	if *extraRegions != "" {
		for name := range strings.SplitSeq(*extraRegions, ",") {
			cfg.ExtraRegions = append(cfg.ExtraRegions, strings.TrimSpace(name))
		}
	}

	server, err := ec2emu.New(cfg)
	if err != nil {
		return err
	}
	for _, f := range faults {
		if err := server.InjectFault(f); err != nil {
			return err
		}
	}

	url, err := server.Start(*listen)
	if err != nil {
		return err
	}
	if started != nil {
		started(url)
	}
	<-ctx.Done()
	logger.Info("ec2 emulator stopping")
	server.Close()
	return nil
}
