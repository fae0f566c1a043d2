package main

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"time"
)

// pageNames are the page templates; each is parsed together with base.html.
var pageNames = []string{"home", "order", "invoice", "lease", "dev", "admin", "admin_invoices",
	"admin_leases", "admin_instances", "admin_webhooks", "admin_refunds", "admin_reconcile"}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"safeURL": func(s string) template.URL { return template.URL(s) },
		"duration": func(seconds int64) string {
			return (time.Duration(seconds) * time.Second).String()
		},
		"sats": func(v int64) string { return fmt.Sprintf("%d sat", v) },
		"svg":  func(s string) template.HTML { return template.HTML(s) },
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(webFiles,
			"web/templates/base.html", "web/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parsing page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// pageData is what every page template gets; Page carries the page's own data.
type pageData struct {
	Title       string
	Dev         bool
	ClockOffset string
	PublicURL   string
	Flash       string
	Error       string

	Plans       []planJSON
	FirstPlan   string
	ServerKey   serverKeyJSON
	Now         string
	Order       string
	PublicKey   string
	Invoice     *invoiceJSON
	Lease       *leaseJSON
	Credentials string
	DevInfo     *devInfo
	Admin       any
}

func (w *webServer) newPage(title string) *pageData {
	d := &pageData{Title: title, Dev: w.dev != nil, PublicURL: w.publicURL}
	if w.dev != nil {
		if offset := w.dev.offset(); offset > 0 {
			d.ClockOffset = offset.String()
		}
	}
	return d
}

// render executes a page into a buffer first, so that a template error sends a clean 500.
func (w *webServer) render(rw http.ResponseWriter, r *http.Request, name string, status int,
	data *pageData,
) {
	var buf bytes.Buffer
	if err := w.pages[name].ExecuteTemplate(&buf, "base", data); err != nil {
		w.logger.Error("rendering page failed", "page", name, "error", err)
		http.Error(rw, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	rw.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "+
		"style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	rw.WriteHeader(status)
	_, _ = buf.WriteTo(rw)
}

// pageError shows an error page with the status the error maps to.
func (w *webServer) pageError(rw http.ResponseWriter, r *http.Request, err error) {
	status, _ := statusFor(err)
	message := err.Error()
	if status == http.StatusInternalServerError {
		w.logger.Error("page failed", "path", r.URL.Path, "error", err)
		message = "internal error; the server log has the details"
	}
	data := w.newPage(http.StatusText(status))
	data.Error = message
	data.Plans = w.planViews()
	data.ServerKey = w.serverKeyView()
	w.render(rw, r, "order", status, data)
}

func (w *webServer) registerPages() {
	w.handle("GET", "/{$}", public, w.homePage)
	w.handle("GET", "/order", public, w.orderPage)
	w.handle("POST", "/order", public, w.orderSubmit)
	w.handle("GET", "/invoices/{id}", public, w.invoicePage)
	w.handle("GET", "/leases/{id}", public, w.leasePage)
}

func (w *webServer) homePage(rw http.ResponseWriter, r *http.Request) {
	data := w.newPage("Plans")
	data.Plans = w.planViews()
	data.ServerKey = w.serverKeyView()
	w.render(rw, r, "home", http.StatusOK, data)
}

func (w *webServer) orderData() *pageData {
	data := w.newPage("Order")
	data.Plans = w.planViews()
	if len(data.Plans) > 0 {
		data.FirstPlan = data.Plans[0].ID
	}
	data.ServerKey = w.serverKeyView()
	data.Now = w.st.service.Now().UTC().Format(time.RFC3339)
	return data
}

func (w *webServer) orderPage(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, "order", http.StatusOK, w.orderData())
}

// orderSubmit takes the order form and sends the customer to the invoice page.
func (w *webServer) orderSubmit(rw http.ResponseWriter, r *http.Request) {
	wait, ok := w.limiter.allow(clientAddress(r))
	if !ok {
		rw.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		data := w.orderData()
		data.Error = fmt.Sprintf("Too many orders from your address: try again in %d s.",
			int(wait.Seconds())+1)
		w.render(rw, r, "order", http.StatusTooManyRequests, data)
		return
	}
	inv, err := w.submitOrder(r.Context(), r, "")
	if err != nil {
		status, _ := statusFor(err)
		data := w.orderData()
		data.Error = err.Error()
		if status == http.StatusInternalServerError {
			w.logger.Error("order failed", "error", err)
			data.Error = "internal error; the server log has the details"
		}
		data.Order, data.PublicKey = r.PostFormValue("order"), r.PostFormValue("public_key")
		w.render(rw, r, "order", status, data)
		return
	}
	http.Redirect(rw, r, "/invoices/"+inv.ID, http.StatusSeeOther)
}

func (w *webServer) invoicePage(rw http.ResponseWriter, r *http.Request) {
	inv, err := w.st.service.Invoice(r.Context(), r.PathValue("id"))
	if err != nil {
		w.pageError(rw, r, err)
		return
	}
	view, err := w.st.invoiceView(r.Context(), inv)
	if err != nil {
		w.pageError(rw, r, err)
		return
	}
	data := w.newPage("Invoice " + inv.ID)
	data.Invoice = &view
	w.render(rw, r, "invoice", http.StatusOK, data)
}

func (w *webServer) leasePage(rw http.ResponseWriter, r *http.Request) {
	lease, err := w.st.service.Lease(r.Context(), r.PathValue("id"))
	if err != nil {
		w.pageError(rw, r, err)
		return
	}
	view := leaseView(lease, w.st.service.Now())
	data := w.newPage("Lease " + lease.ID)
	data.Lease = &view
	if view.CredentialsReady {
		armored, err := w.st.service.Credentials(r.Context(), lease.ID)
		if err != nil {
			data.Credentials = "not available yet: " + err.Error()
		} else {
			data.Credentials = armored
		}
	}
	w.render(rw, r, "lease", http.StatusOK, data)
}
