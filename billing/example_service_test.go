package billing_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"

	"github.com/instars/instars/billing"
	"github.com/instars/instars/bitcoin"
	"github.com/instars/instars/eucalyptus"
	"github.com/instars/instars/metering"
	"github.com/instars/instars/pgp"
)

// ExampleNewService wires the service from its parts: a SQLite store, the on-chain gateway
// watching a bitcoind node for the operator's watch-only account, the eucalyptus driver, the
// server's OpenPGP key and one plan. A portal then calls SubmitOrder, Invoice, Lease,
// Credentials and the List methods, and follows Subscribe for live pages.
func ExampleNewService() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	store, err := billing.OpenSQLite(ctx, "/var/lib/instars/billing.db", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	account, err := bitcoin.ParseAccountKey(os.Getenv("INSTARS_XPUB"), bitcoin.Mainnet,
		bitcoin.ScriptTypeUnspecified)
	if err != nil {
		log.Fatal(err)
	}
	node, err := bitcoin.DialRPC(ctx, bitcoin.RPCSourceConfig{Kind: bitcoin.NodeBitcoind,
		Host: "127.0.0.1:8332", User: "instars", Password: os.Getenv("INSTARS_RPC_PASSWORD"),
		DisableTLS: true, Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()
	gateway, err := billing.NewOnChainGateway(billing.OnChainGatewayConfig{Account: account,
		Source: node, Cursors: billing.StoreCursor{Store: store, Name: "bitcoin-mainnet"},
		Logger: logger})
	if err != nil {
		log.Fatal(err)
	}
	driver, err := eucalyptus.New(ctx, eucalyptus.Config{
		Endpoint: "https://ec2.example.com:8773/services/compute"})
	if err != nil {
		log.Fatal(err)
	}
	serverKey, _, err := pgp.LoadOrGenerateServerKey("/var/lib/instars/server.asc",
		pgp.ServerKeyOptions{})
	if err != nil {
		log.Fatal(err)
	}
	server, err := pgp.NewServer(serverKey, pgp.ServerOptions{})
	if err != nil {
		log.Fatal(err)
	}

	svc, err := billing.NewService(ctx, billing.Config{
		Store: store, Gateway: gateway, Provisioner: billing.EucalyptusProvisioner{Driver: driver},
		ServerKey: server, Network: bitcoin.Mainnet.Params,
		Plans: []metering.Plan{{
			ID: "small-1d", Name: "Small, per day", InstanceType: "m1.small",
			ImageID: "emi-0d1e2b3c", Unit: metering.UnitDay,
			Price: metering.Price{Sats: 20_000}, MinUnits: 1, MaxUnits: 30,
			GraceSeconds: 3600, ReminderSeconds: []int64{86400, 3600},
		}},
		Logger: logger,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		log.Fatal(err)
	}
	events, cancel := svc.Subscribe(0)
	defer cancel()
	go func() {
		for ev := range events {
			logger.Info("event", "type", ev.Kind, "subject", ev.Subject)
		}
	}()
	<-ctx.Done()
	if err := svc.Stop(context.Background()); err != nil {
		log.Print(err)
	}
}

// ExampleVerifyWebhookSignature checks a webhook request as a receiver does, before it reads
// the body as an event.
func ExampleVerifyWebhookSignature() {
	secret := []byte("the endpoint's secret, at least 16 bytes")
	body := []byte(`{"id":"evt_1","type":"invoice.settled"}`)
	header := billing.SignWebhook(secret, body) // what the service sends in X-InStaRS-Signature

	fmt.Println(billing.VerifyWebhookSignature(secret, body, header))
	tampered := []byte(`{"id":"evt_1","type":"invoice.expired"}`)
	fmt.Println(billing.VerifyWebhookSignature(secret, tampered, header))
	// Output:
	// <nil>
	// billing: webhook signature mismatch
}
