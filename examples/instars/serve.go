package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

func init() {
	commands["serve"] = command{
		summary: "serve --config FILE: run the production server from a configuration file",
		run:     runServe,
	}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "", "the configuration file (JSON; see "+
		"examples/instars/instars.example.json)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *configPath == "" {
		return errors.New("missing --config: give the configuration file")
	}
	cfg, problems, err := loadFileConfig(*configPath)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "%s: %s\n", *configPath, p)
		}
		return fmt.Errorf("%w: %s; `instars config check %s` lists them",
			errInvalidConfig, problemCount(len(problems)), *configPath)
	}
	logger := newLogger(stderr, cfg.LogLevel)
	st, err := openStack(ctx, cfg, stackOptions{}, logger)
	if err != nil {
		return err
	}
	defer st.close()
	listen := cmpOr(cfg.Listen, "127.0.0.1:8080")
	publicURL := cmpOr(cfg.PublicURL, "http://"+listen)
	web, err := newWebServer(st, nil, publicURL,
		newRateLimiter(cfg.RateLimit.OrdersPerMinute, cfg.RateLimit.Burst))
	if err != nil {
		return err
	}
	return runServer(ctx, st, web, listen, func(url string) {
		fmt.Fprintf(stdout, "instars: serving %s on %s (network %s)\n", publicURL, url,
			st.network.Name)
	})
}

// runServer starts the service and the web server, calls ready with the server's URL, and
// stops both when ctx ends.
func runServer(ctx context.Context, st *stack, web *webServer, listen string,
	ready func(url string),
) error {
	listener, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
	}
	if err := st.service.Start(ctx); err != nil {
		_ = listener.Close()
		return err
	}
	server := &http.Server{Handler: web, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:    slog.NewLogLogger(st.logger.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return ctx }}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	ready("http://" + listener.Addr().String())
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = server.Shutdown(stopCtx)
	if stopErr := st.service.Stop(stopCtx); stopErr != nil {
		st.logger.Warn("stopping the billing service", "error", stopErr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func cmpOr(value, fallback string) string {
	if value != "" {
		return value
	}
	return fallback
}
