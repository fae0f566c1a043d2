package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/instars/instars/internal/testenv"
	"github.com/instars/instars/pgp"
)

// screenshotFolder is where the browser test writes its screenshots: INSTARS_SCREENSHOTS
// when set (docs/screenshots keeps the current ones), otherwise a new temporary folder.
func screenshotFolder(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("INSTARS_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dir, err := os.MkdirTemp("", "instars-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// newBrowser starts headless chromium with a temporary profile.
func newBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1100, 900)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// sealedOrder makes an order the way a customer without the client does: a key of their
// own, the order JSON signed and encrypted to the server key the site shows.
func sealedOrder(t *testing.T, dev *devProcess) (order, publicKey string) {
	t.Helper()
	var sk serverKeyJSON
	dev.getJSON(t, "/api/v1/server-key", &sk)
	serverKey, err := pgp.ParsePublicKey([]byte(sk.Armored), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	customer, err := pgp.GenerateKey(pgp.GenerateOptions{Name: "browser customer"})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]string{
		"plan":           "small-hour",
		"ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl browser",
		"nonce":          base64.RawURLEncoding.EncodeToString([]byte(t.Name() + "-nonce-1")),
		"created_at":     sk.ServerTime.UTC().Format(time.RFC3339),
	})
	envelope, err := pgp.SealOrder(payload, customer, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(envelope), string(customer.PublicKey().Armored())
}

func TestBrowserWalksTheFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium, a regtest node, the emulator and the server")
	}
	chromium := testenv.RequireCommand(t, "chromium",
		"install chromium (apt-get install chromium)")
	server, client := buildBinaries(t)
	dev := startDev(t, server, client)
	ctx := newBrowser(t, chromium)
	shots := screenshotFolder(t)
	shoot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(selector string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
		if err != nil {
			t.Fatalf("reading %s: %v", selector, err)
		}
		return strings.TrimSpace(s)
	}
	waitText := func(selector, want string) {
		t.Helper()
		expr := fmt.Sprintf(`(document.querySelector(%q)||{textContent:""}).textContent`+
			`.includes(%q)`, selector, want)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
			chromedp.WithPollingTimeout(90*time.Second))); err != nil {
			t.Fatalf("waiting for %q in %s (now %q): %v", want, selector, text(selector), err)
		}
	}

	// clickAndLoad clicks a button whose form posts and redirects, and waits until the new
	// document has replaced the current one.
	clickAndLoad := func(selector string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.oldPage = true`)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the page after "+selector, 30*time.Second, func() bool {
			// Errors are expected while the old document goes away.
			loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
				`window.oldPage === undefined && document.readyState === "complete"`))
			return err == nil && loaded
		})
	}

	// The plans page lists the offers and the server key.
	if err := chromedp.Do(ctx, chromedp.Navigate(dev.url+"/")); err != nil {
		t.Fatal(err)
	}
	if got := text("main table"); !strings.Contains(got, "small-hour") {
		t.Fatalf("plans table lacks small-hour: %q", got)
	}
	shoot("01-plans")

	// The order page: paste an armored order and the public key.
	order, publicKey := sealedOrder(t, dev)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(dev.url+"/order"),
		chromedp.SetValue(chromedp.ID("order"), order),
		chromedp.SetValue(chromedp.ID("public_key"), publicKey),
	); err != nil {
		t.Fatal(err)
	}
	shoot("02-order")
	clickAndLoad(`form[action="/order"] button[type=submit]`)
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	invoiceID := location[strings.LastIndex(location, "/")+1:]
	if !strings.HasPrefix(invoiceID, "inv_") {
		t.Fatalf("the order led to %s, not an invoice page", location)
	}
	if got := text("#state"); got != "New" {
		t.Errorf("new invoice state = %q, want New", got)
	}
	if got := text("#countdown"); !strings.Contains(got, "left") {
		t.Errorf("countdown = %q", got)
	}
	qrLoaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.querySelector('.pay img').naturalWidth > 0`))
	if err != nil || !qrLoaded {
		t.Errorf("the QR code image did not load: %v", err)
	}
	shoot("03-invoice-new")

	// A part payment from outside turns the payment request into one for the rest.
	dev.post(t, "/api/v1/dev/invoices/"+invoiceID+"/pay?sat=10000")
	dev.post(t, "/api/v1/dev/mine?blocks=2")
	waitText("#paymenturi", "amount=0.00015&")

	// Pay the rest from the dev tools on the page, then mine from outside: the status must
	// change on the page that stays loaded.
	clickAndLoad("#devpay")
	waitText("#state", "Processing")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.stayedLoaded = true`)); err != nil {
		t.Fatal(err)
	}
	shoot("04-invoice-processing")
	dev.post(t, "/api/v1/dev/mine?blocks=2")
	waitText("#state", "Settled")
	waitText("#leaselink", "instance running")
	stayed, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.stayedLoaded === true`))
	if err != nil || !stayed {
		t.Errorf("the page reloaded instead of updating live: %v", err)
	}
	shoot("05-invoice-settled")

	// The lease page shows the instance and the armored credentials.
	clickAndLoad("#leaseanchor")
	if got := text("#leasestatus"); got != "running" {
		t.Errorf("lease status = %q, want running", got)
	}
	if got := text("#credentials"); !strings.Contains(got, "BEGIN PGP MESSAGE") {
		t.Errorf("credentials are not an armored message: %q", got)
	}
	leaseURL, _ := chromedp.Run(ctx, chromedp.Location())
	leaseID := leaseURL[strings.LastIndex(leaseURL, "/")+1:]
	instances := dev.emulatorInstances(t, leaseID)
	if len(instances) != 1 || instances[0].State != "running" {
		t.Fatalf("emulator instances of %s = %+v, want one running", leaseID, instances)
	}
	shoot("06-lease-running")

	// Fast-forward from the dev tools page past the paid hour and the grace.
	if err := chromedp.Do(ctx, chromedp.Navigate(dev.url+"/dev"),
		chromedp.SetValue(chromedp.ID("by"), "75m")); err != nil {
		t.Fatal(err)
	}
	clickAndLoad(`form[action="/dev/advance"] button`)
	if got := text(".flash"); !strings.Contains(got, "1h15m") {
		t.Errorf("dev page after fast-forward says %q", got)
	}
	shoot("07-dev-tools")
	waitFor(t, "the instance's termination", time.Minute, func() bool {
		instances := dev.emulatorInstances(t, leaseID)
		return len(instances) == 1 && instances[0].State == "terminated"
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(leaseURL)); err != nil {
		t.Fatal(err)
	}
	waitText("#leasestatus", "ended")
	shoot("08-lease-ended")

	// The settled invoice's countdown is final from the page's own markup, without waiting
	// for a live update, although the server's clock runs 75 minutes ahead of the browser's.
	blockEvents := func(patterns []*network.BlockPattern) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tgt, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tgt, network.SetBlockedURLs,
				network.SetBlockedURLsParams{URLPatterns: patterns})
			return err
		})
	}
	eventsPattern := []*network.BlockPattern{
		{URLPattern: "*://*:*/api/v1/invoices/*/events", Block: true}}
	if err := chromedp.Do(ctx, blockEvents(eventsPattern),
		chromedp.Navigate(dev.url+"/invoices/"+invoiceID)); err != nil {
		t.Fatal(err)
	}
	if got := text("#countdown"); got != "closed" {
		t.Errorf("countdown of the settled invoice before live updates = %q, want closed", got)
	}
	if err := chromedp.Do(ctx, blockEvents(nil)); err != nil {
		t.Fatal(err)
	}

	// The admin area requires credentials, then shows the charts.
	resp, err := http.Get(dev.url + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /admin without credentials = %s, want 401", resp.Status)
	}
	password, err := readSecretFile(filepath.Join(dev.dir, "data", devAdminFile))
	if err != nil {
		t.Fatal(err)
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+password))
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tgt, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tgt, network.SetExtraHTTPHeaders,
			network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
		return err
	}), chromedp.Navigate(dev.url+"/admin"), chromedp.WaitVisible(chromedp.CSS("svg.chart"))); err != nil {
		t.Fatal(err)
	}
	if got := text(".figures"); !strings.Contains(got, "25000 sat") {
		t.Errorf("admin revenue does not show the payment: %q", got)
	}
	shoot("09-admin")
	if err := chromedp.Do(ctx, chromedp.Navigate(dev.url+"/admin/reconcile"),
		chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatal(err)
	}
	shoot("10-admin-reconcile")
}
