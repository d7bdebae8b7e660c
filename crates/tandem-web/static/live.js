// Live monitor: follows /live/stream (server-sent events) and puts each new event at the top
// of the table, linked to its event (or finding) and place, keeping at most 200 rows (alarms
// stay on /alarms). Without this script the page still lists the latest events and offers a
// refresh link. No framework, nothing fetched from elsewhere.
// Times arrive formatted by the server in the reader's zone (UTC on hover), as the page's own.
(function () {
  "use strict";
  var MAX_ROWS = 200;
  var body = document.getElementById("live-rows");
  var state = document.getElementById("live-state");
  if (!body || !state || !window.EventSource) return;
  var columns = ["time", "alert", "class", "activity", "who", "where", "site", "message"];

  function show(text, kind) {
    state.textContent = text;
    state.className = "live-state " + kind;
  }

  // <time datetime="…Z" title="… UTC">… CET</time>, as the server writes it.
  function time(t) {
    var el = document.createElement("time");
    if (!t || typeof t !== "object") t = { text: t };
    el.setAttribute("datetime", t.datetime || "");
    el.title = t.utc || "";
    el.textContent = t.text || "";
    return el;
  }

  // A link to one of Tandem's own pages: only a path on this site ("/x", never "//x").
  function link(href, child) {
    if (!/^\/[^\/]/.test(href || "")) return child;
    var a = document.createElement("a");
    a.setAttribute("href", href);
    return a.appendChild(child) && a;
  }

  function row(e) {
    var tr = document.createElement("tr");
    if (e.kind) tr.className = e.kind;
    columns.forEach(function (name) {
      var td = document.createElement("td");
      var text = e[name] || "";
      var href = { time: e.href, where: e.place_href, message: e.href }[name];
      if (name === "time" || href) {
        td.appendChild(link(href, name === "time" ? time(e.time) : document.createTextNode(text)));
      } else if (name === "alert" && text) {
        td.appendChild(document.createElement("strong")).textContent = text;
      } else {
        td.textContent = text;
      }
      tr.appendChild(td);
    });
    return tr;
  }

  var source = new EventSource(body.getAttribute("data-stream"));
  source.addEventListener("ready", function () {
    show("Live: new events appear at the top as they arrive.", "ok");
  });
  source.addEventListener("row", function (message) {
    var e;
    try { e = JSON.parse(message.data); } catch (err) { return; }
    var empty = body.querySelector("tr.empty");
    if (empty) body.removeChild(empty);
    body.insertBefore(row(e), body.firstChild);
    while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  });
  source.addEventListener("skipped", function (message) {
    show("Live, but this page fell behind and skipped " + message.data +
      " batches of events; search to see everything.", "warn");
  });
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) {
      show("Disconnected. Reload the page to reconnect.", "bad");
    } else {
      show("Connection lost; reconnecting…", "bad");
    }
  };
})();
