// Live invoice status: server-sent events, with polling when they are unavailable.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  var id = live.getAttribute("data-invoice");
  var countdown = document.getElementById("countdown");
  var expires = Date.parse(live.getAttribute("data-expires"));
  // Until the first live update, the page's markup provides the server's clock. The
  // countdown starts from the server's seconds left, not from the browser's clock.
  var skew = countdown ?
    expires - Date.now() - Number(countdown.getAttribute("data-seconds")) * 1000 : 0;
  var final = live.getAttribute("data-final") === "true";

  function text(elementId, value) {
    var el = document.getElementById(elementId);
    if (el && el.textContent !== String(value)) { el.textContent = String(value); }
  }

  function show(inv) {
    var state = document.getElementById("state");
    state.textContent = inv.state;
    state.className = "state state-" + inv.state;
    text("substatus", inv.status && inv.status !== "None" ? "(" + inv.status + ")" : "");
    text("message", inv.message);
    text("confirmations", inv.confirmations);
    text("required", inv.required_confirmations);
    text("payments", inv.payments);
    text("paid", inv.paid_sat);
    text("confirmed", inv.confirmed_sat);
    var progress = document.getElementById("confprogress");
    progress.max = inv.required_confirmations;
    progress.value = Math.min(inv.confirmations, inv.required_confirmations);
    // After a partial payment the URI requests the remaining amount, so show it and redraw
    // the QR code.
    var uri = document.getElementById("paymenturi");
    if (uri && inv.payment_uri && uri.getAttribute("href") !== inv.payment_uri) {
      uri.setAttribute("href", inv.payment_uri);
      uri.textContent = inv.payment_uri;
      var qr = document.getElementById("qr");
      if (qr) {
        qr.src = "/api/v1/invoices/" + encodeURIComponent(id) + "/qr.png?paid=" + inv.paid_sat;
      }
    }
    skew = Date.parse(inv.expires_at) - Date.now() - inv.seconds_left * 1000;
    final = inv.final;
    var link = document.getElementById("leaselink");
    if (inv.lease) {
      link.hidden = false;
      link.innerHTML = "";
      var a = document.createElement("a");
      a.href = "/leases/" + encodeURIComponent(inv.lease.id);
      a.id = "leaseanchor";
      a.textContent = "Lease " + inv.lease.id + ": " + inv.lease.status +
        (inv.lease.instance_running ? " (instance running)" : "");
      link.appendChild(a);
    }
  }

  function tick() {
    if (!countdown) { return; }
    if (final) { countdown.textContent = "closed"; return; }
    var left = Math.max(0, Math.round((expires - skew - Date.now()) / 1000));
    if (left === 0) { countdown.textContent = "expired"; return; }
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    var padded = seconds < 10 ? "0" + seconds : String(seconds);
    countdown.textContent = minutes + " min " + padded + " s left";
  }
  setInterval(tick, 1000);
  tick();

  function poll() {
    fetch("/api/v1/invoices/" + encodeURIComponent(id), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (inv) { if (inv) { show(inv); } })
      .catch(function () {})
      .finally(function () { setTimeout(poll, 3000); });
  }

  if (window.EventSource) {
    var source = new EventSource("/api/v1/invoices/" + encodeURIComponent(id) + "/events");
    var failures = 0;
    source.addEventListener("invoice", function (e) { failures = 0; show(JSON.parse(e.data)); });
    source.onerror = function () {
      failures++;
      if (failures > 3) { source.close(); poll(); }
    };
  } else {
    poll();
  }
}());
