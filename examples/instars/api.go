package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/instars/instars/billing"
	"github.com/instars/instars/pgp"
)

// maxOrderRequest bounds an order request body: an armored envelope and a public key.
const maxOrderRequest = 256 << 10

// orderRequest is the body of POST /api/v1/orders and of the lease extension.
type orderRequest struct {
	// Order is the ASCII-armored OpenPGP message: the order JSON signed by the customer and
	// encrypted to the server's key.
	Order string `json:"order"`
	// PublicKey is the customer's ASCII-armored public key, which signed the order.
	PublicKey string `json:"public_key"`
}

// serverKeyJSON is the server's public key, which orders are encrypted to.
type serverKeyJSON struct {
	Fingerprint string `json:"fingerprint"`
	Armored     string `json:"armored"`
	// ServerTime is the server's clock, which orders' created_at is checked against.
	ServerTime time.Time `json:"server_time"`
}

func (w *webServer) registerAPI() {
	w.handle("GET", "/api/openapi.json", public, w.apiOpenAPI)
	w.handle("GET", "/api/v1/plans", public, w.apiPlans)
	w.handle("GET", "/api/v1/server-key", public, w.apiServerKey)
	w.handle("GET", "/server-key.asc", public, w.serverKeyFile)
	w.handle("POST", "/api/v1/orders", public, w.apiSubmitOrder)
	w.handle("GET", "/api/v1/invoices/{id}", public, w.apiInvoice)
	w.handle("GET", "/api/v1/invoices/{id}/events", public, w.invoiceEvents)
	w.handle("GET", "/api/v1/invoices/{id}/qr.png", public, w.invoiceQR)
	w.handle("GET", "/api/v1/leases/{id}", public, w.apiLease)
	w.handle("GET", "/api/v1/leases/{id}/credentials", public, w.apiCredentials)
	w.handle("POST", "/api/v1/leases/{id}/extend", public, w.apiExtend)
	w.handle("GET", "/healthz", public, w.healthz)
	w.handle("GET", "/metrics", public, w.serveMetrics)
}

func (w *webServer) apiOpenAPI(rw http.ResponseWriter, r *http.Request) {
	data, err := webFiles.ReadFile("web/openapi.json")
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	_, _ = rw.Write(data)
}

func (w *webServer) planViews() []planJSON {
	var out []planJSON
	for _, p := range w.st.service.Plans() {
		out = append(out, planView(p))
	}
	return out
}

func (w *webServer) apiPlans(rw http.ResponseWriter, r *http.Request) {
	writeJSON(rw, http.StatusOK, map[string]any{"plans": w.planViews()})
}

func (w *webServer) serverKeyView() serverKeyJSON {
	key := w.st.serverKey.PublicKey()
	return serverKeyJSON{Fingerprint: key.Fingerprint(), Armored: string(key.Armored()),
		ServerTime: w.st.service.Now().UTC()}
}

func (w *webServer) apiServerKey(rw http.ResponseWriter, r *http.Request) {
	writeJSON(rw, http.StatusOK, w.serverKeyView())
}

// serverKeyFile serves the armored public key as a file to encrypt orders to by hand.
func (w *webServer) serverKeyFile(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Type", "application/pgp-keys")
	rw.Header().Set("Content-Disposition", `attachment; filename="server.asc"`)
	_, _ = rw.Write(w.st.serverKey.PublicKey().Armored())
}

// readOrderRequest reads an order from JSON or from the order page's form.
func readOrderRequest(r *http.Request) (orderRequest, error) {
	var req orderRequest
	r.Body = http.MaxBytesReader(nil, r.Body, maxOrderRequest)
	// A JSON client may name a charset, as in "application/json; charset=utf-8".
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "application/json" {
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return req, fmt.Errorf("%w: body: %v; expected {\"order\": ARMORED, "+
				"\"public_key\": ARMORED}", errBadRequest, bodyError(err))
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return req, fmt.Errorf("%w: %v", errBadRequest, bodyError(err))
		}
		req.Order, req.PublicKey = r.PostFormValue("order"), r.PostFormValue("public_key")
	}
	switch {
	case req.Order == "":
		return req, fmt.Errorf("%w: order is empty: expected the armored, signed and "+
			"encrypted order", errBadRequest)
	case req.PublicKey == "":
		return req, fmt.Errorf("%w: public_key is empty: expected the armored public key "+
			"that signed the order", errBadRequest)
	}
	return req, nil
}

// bodyError names the size limit when a request body exceeds it.
func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("the body is larger than %d bytes", tooLarge.Limit)
	}
	return err
}

// submitOrder checks the rate limit and passes the order to the service; extend makes it
// an extension of the lease.
func (w *webServer) submitOrder(ctx context.Context, r *http.Request, extend string) (
	*billing.Invoice, error,
) {
	req, err := readOrderRequest(r)
	if err != nil {
		return nil, err
	}
	key, err := pgp.ParsePublicKey([]byte(req.PublicKey), w.st.service.Now())
	if err != nil {
		return nil, fmt.Errorf("%w: public_key: %v", errBadRequest, err)
	}
	if extend == "" {
		return w.st.service.SubmitOrder(ctx, []byte(req.Order), key)
	}
	return w.st.service.ExtendLease(ctx, extend, []byte(req.Order), key)
}

// allow applies the order rate limit and writes a 429 response when the bucket is empty.
func (w *webServer) allow(rw http.ResponseWriter, r *http.Request) bool {
	wait, ok := w.limiter.allow(clientAddress(r))
	if ok {
		return true
	}
	seconds := int(wait.Seconds()) + 1
	rw.Header().Set("Retry-After", fmt.Sprint(seconds))
	writeJSON(rw, http.StatusTooManyRequests, apiError{Code: "rate_limited",
		Error: fmt.Sprintf("too many orders from this address: retry in %d s", seconds)})
	return false
}

func (w *webServer) apiSubmitOrder(rw http.ResponseWriter, r *http.Request) {
	if !w.allow(rw, r) {
		return
	}
	inv, err := w.submitOrder(r.Context(), r, "")
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	w.writeInvoice(rw, r, inv, http.StatusCreated)
}

func (w *webServer) apiExtend(rw http.ResponseWriter, r *http.Request) {
	if !w.allow(rw, r) {
		return
	}
	inv, err := w.submitOrder(r.Context(), r, r.PathValue("id"))
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	w.writeInvoice(rw, r, inv, http.StatusCreated)
}

func (w *webServer) writeInvoice(rw http.ResponseWriter, r *http.Request, inv *billing.Invoice,
	status int,
) {
	view, err := w.st.invoiceView(r.Context(), inv)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	if status == http.StatusCreated {
		rw.Header().Set("Location", "/api/v1/invoices/"+inv.ID)
	}
	writeJSON(rw, status, view)
}

func (w *webServer) apiInvoice(rw http.ResponseWriter, r *http.Request) {
	inv, err := w.st.service.Invoice(r.Context(), r.PathValue("id"))
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	w.writeInvoice(rw, r, inv, http.StatusOK)
}

func (w *webServer) apiLease(rw http.ResponseWriter, r *http.Request) {
	lease, err := w.st.service.Lease(r.Context(), r.PathValue("id"))
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, leaseView(lease, w.st.service.Now()))
}

// apiCredentials returns the armored credentials as text/plain, or as JSON when asked.
func (w *webServer) apiCredentials(rw http.ResponseWriter, r *http.Request) {
	armored, err := w.st.service.Credentials(r.Context(), r.PathValue("id"))
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	if r.Header.Get("Accept") == "application/json" {
		writeJSON(rw, http.StatusOK, map[string]string{"lease_id": r.PathValue("id"),
			"armored": armored, "server_fingerprint": w.st.serverKey.Fingerprint()})
		return
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(rw, armored)
}

// notFound reports whether err means the thing does not exist.
func notFound(err error) bool { return errors.Is(err, billing.ErrNotFound) }
