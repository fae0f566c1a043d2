package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/skip2/go-qrcode"
)

// liveInterval is how often a live invoice stream checks for changes that raise no event,
// such as one more confirmation.
const liveInterval = time.Second

// invoiceEvents streams the invoice's view as server-sent events: one at once, then one
// each time it changes, until the client goes away or the invoice's story ends.
func (w *webServer) invoiceEvents(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	inv, err := w.st.service.Invoice(ctx, id)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	flusher, ok := rw.(http.Flusher)
	if !ok {
		http.Error(rw, "streaming is not supported", http.StatusInternalServerError)
		return
	}
	events, unsubscribe := w.st.service.Subscribe(64)
	defer unsubscribe()
	rw.Header().Set("Content-Type", "text/event-stream")
	rw.Header().Set("Cache-Control", "no-store")
	rw.Header().Set("X-Accel-Buffering", "no")
	rw.WriteHeader(http.StatusOK)
	fmt.Fprint(rw, "retry: 2000\n\n")

	ticker := time.NewTicker(liveInterval)
	defer ticker.Stop()
	var last []byte
	for {
		view, err := w.st.invoiceView(ctx, inv)
		if err != nil {
			return
		}
		data, _ := json.Marshal(view)
		if !bytes.Equal(data, last) {
			if _, err := fmt.Fprintf(rw, "event: invoice\ndata: %s\n\n", data); err != nil {
				return
			}
			flusher.Flush()
			last = data
		}
		select {
		case <-ctx.Done():
			return
		case <-events:
		case <-ticker.C:
		}
		if inv, err = w.st.service.Invoice(ctx, id); err != nil {
			return
		}
	}
}

// invoiceQR serves the invoice's BIP21 URI as a PNG QR code.
func (w *webServer) invoiceQR(rw http.ResponseWriter, r *http.Request) {
	inv, err := w.st.service.Invoice(r.Context(), r.PathValue("id"))
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	png, err := qrcode.Encode(w.st.payableURI(inv), qrcode.Medium, 320)
	if err != nil {
		w.writeError(rw, r, err)
		return
	}
	rw.Header().Set("Content-Type", "image/png")
	// The amount falls after a part payment, so a cached image would ask for too much.
	rw.Header().Set("Cache-Control", "no-cache")
	_, _ = rw.Write(png)
}
