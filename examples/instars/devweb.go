package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// devControls are the tester's controls that only dev mode has.
type devControls interface {
	// pay sends the invoice's amount to its address from the regtest wallet.
	pay(ctx context.Context, address string, amountSat int64) (txid string, err error)
	// mine mines blocks and returns the new height.
	mine(ctx context.Context, blocks int) (int32, error)
	// advance moves the service's clock forward and runs the work that became due.
	advance(ctx context.Context, by time.Duration) error
	// offset is how far the clock has been moved forward.
	offset() time.Duration
	// info describes the dev environment for the dev page.
	info(ctx context.Context) (*devInfo, error)
	// webhookReceiver receives the server's own webhook deliveries.
	webhookReceiver() http.Handler
}

// devInfo is the dev page's data and the body of GET /api/v1/dev/status.
type devInfo struct {
	EmulatorURL string        `json:"emulator_url"`
	DataDir     string        `json:"data_dir"`
	Height      int32         `json:"height"`
	Now         time.Time     `json:"now"`
	Offset      string        `json:"clock_offset"`
	Instances   []devInstance `json:"instances"`
	// Webhooks are the latest events the dev webhook receiver accepted, newest first.
	Webhooks []receivedWebhook `json:"webhooks"`
}

// devInstance is an instance as the emulator reports it.
type devInstance struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	InstanceType string `json:"instance_type"`
	ImageID      string `json:"image_id"`
	PublicIP     string `json:"public_ip,omitempty"`
	Lease        string `json:"lease,omitempty"`
}

// maxAdvance bounds one fast-forward, so that a typo does not end every lease at once.
const maxAdvance = 400 * 24 * time.Hour

func (w *webServer) registerDev() {
	w.handle("GET", "/dev", devOnly, w.devPage)
	w.handle("POST", "/dev/pay", devOnly, w.devPayForm)
	w.handle("POST", "/dev/mine", devOnly, w.devMineForm)
	w.handle("POST", "/dev/advance", devOnly, w.devAdvanceForm)
	w.handle("POST", "/dev/webhook", devOnly, w.dev.webhookReceiver().ServeHTTP)
	w.handle("GET", "/api/v1/dev/status", devOnly, w.apiDevStatus)
	w.handle("POST", "/api/v1/dev/invoices/{id}/pay", devOnly, w.apiDevPay)
	w.handle("POST", "/api/v1/dev/mine", devOnly, w.apiDevMine)
	w.handle("POST", "/api/v1/dev/advance", devOnly, w.apiDevAdvance)
}

func (w *webServer) devPage(rw http.ResponseWriter, r *http.Request) {
	info, err := w.dev.info(r.Context())
	if err != nil {
		w.pageError(rw, r, err)
		return
	}
	data := w.newPage("Dev tools")
	data.DevInfo = info
	data.Flash = r.URL.Query().Get("done")
	w.render(rw, r, "dev", http.StatusOK, data)
}

// maxDevPayment bounds one dev payment of a chosen amount: one bitcoin.
const maxDevPayment = 100_000_000

// devPayInvoice pays an invoice from the regtest wallet: what it still lacks, or exactly
// satText satoshis when given, so that a tester can pay too little, top up, or pay twice.
func (w *webServer) devPayInvoice(ctx context.Context, id, satText string) (string, error) {
	inv, err := w.st.service.Invoice(ctx, id)
	if err != nil {
		return "", err
	}
	if satText != "" {
		sat, err := strconv.ParseInt(satText, 10, 64)
		if err != nil || sat < 1 || sat > maxDevPayment {
			return "", fmt.Errorf("%w: invalid sat %q: expected 1 to %d satoshis",
				errBadRequest, satText, maxDevPayment)
		}
		return w.dev.pay(ctx, inv.Destination, sat)
	}
	due := int64(inv.Amount) - int64(inv.Paid)
	if due <= 0 {
		return "", fmt.Errorf("%w: invoice %s is already paid in full; give sat=N to pay "+
			"it again", errBadRequest, id)
	}
	return w.dev.pay(ctx, inv.Destination, due)
}

func (w *webServer) devPayForm(rw http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("invoice")
	if _, err := w.devPayInvoice(r.Context(), id, r.PostFormValue("sat")); err != nil {
		w.pageError(rw, r, err)
		return
	}
	http.Redirect(rw, r, "/invoices/"+url.PathEscape(id), http.StatusSeeOther)
}

func (w *webServer) devMineForm(rw http.ResponseWriter, r *http.Request) {
	blocks, err := formInt(r, "blocks", 1, 100)
	if err != nil {
		w.pageError(rw, r, err)
		return
	}
	height, err := w.dev.mine(r.Context(), blocks)
	if err != nil {
		w.pageError(rw, r, err)
		return
	}
	back := r.PostFormValue("back")
	if back == "" || back[0] != '/' || (len(back) > 1 && back[1] == '/') {
		back = "/dev?done=" + url.QueryEscape(fmt.Sprintf("Mined %d blocks; height %d.",
			blocks, height))
	}
	http.Redirect(rw, r, back, http.StatusSeeOther)
}

func parseAdvance(r *http.Request) (time.Duration, error) {
	by, err := time.ParseDuration(r.FormValue("by"))
	if err != nil || by <= 0 || by > maxAdvance {
		return 0, fmt.Errorf("%w: invalid by %q: expected a positive duration up to %s, "+
			"such as 90s or 25h", errBadRequest, r.FormValue("by"), maxAdvance)
	}
	return by, nil
}

func (w *webServer) devAdvanceForm(rw http.ResponseWriter, r *http.Request) {
	by, err := parseAdvance(r)
	if err != nil {
		w.pageError(rw, r, err)
		return
	}
	if err := w.dev.advance(r.Context(), by); err != nil {
		w.pageError(rw, r, err)
		return
	}
	http.Redirect(rw, r, "/dev?done="+url.QueryEscape("Clock moved forward by "+by.String()+
		"."), http.StatusSeeOther)
}

func (w *webServer) apiDevStatus(rw http.ResponseWriter, r *http.Request) {
	info, err := w.dev.info(r.Context())
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, info)
}

func (w *webServer) apiDevPay(rw http.ResponseWriter, r *http.Request) {
	txid, err := w.devPayInvoice(r.Context(), r.PathValue("id"), r.FormValue("sat"))
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]string{"txid": txid})
}

func (w *webServer) apiDevMine(rw http.ResponseWriter, r *http.Request) {
	blocks, err := formInt(r, "blocks", 1, 100)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	height, err := w.dev.mine(r.Context(), blocks)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]int32{"height": height})
}

func (w *webServer) apiDevAdvance(rw http.ResponseWriter, r *http.Request) {
	by, err := parseAdvance(r)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	if err := w.dev.advance(r.Context(), by); err != nil {
		w.writeError(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]string{"clock_offset": w.dev.offset().String(),
		"now": w.st.service.Now().UTC().Format(time.RFC3339)})
}
