// Live monitor: follows /live/stream (server-sent events) and puts each new event at the top
// of the table, keeping at most 200 rows (alarms stay on /alarms until cleared; each row links
// to its event or finding and its place). Without this script the page still lists the
// latest events and offers a refresh link. No framework, nothing fetched from elsewhere.
// Times arrive formatted by the server in the reader's chosen zone (with the UTC reading for
// the hover title), so a row added here reads exactly like the rows the page came with.
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
    if (!t || typeof t !== "object") {
      el.textContent = t || "";
      return el;
    }
    el.setAttribute("datetime", t.datetime || "");
    el.title = t.utc || "";
    el.textContent = t.text || "";
    return el;
  }

  // A link to one of Tandem's own pages (the server gives only paths starting with "/").
  function link(href, child) {
    if (!href || href.charAt(0) !== "/" || href.charAt(1) === "/") return child;
    var a = document.createElement("a");
    a.setAttribute("href", href);
    a.appendChild(child);
    return a;
  }

  function row(e) {
    var tr = document.createElement("tr");
    if (e.kind) tr.className = e.kind;
    columns.forEach(function (name) {
      var td = document.createElement("td");
      var text = e[name] || "";
      if (name === "time") {
        td.appendChild(link(e.href, time(e.time)));
      } else if (name === "where" && e.place_href) {
        td.appendChild(link(e.place_href, document.createTextNode(text)));
      } else if (name === "message" && e.href) {
        td.appendChild(link(e.href, document.createTextNode(text)));
      } else if (name === "alert" && text) {
        var strong = document.createElement("strong");
        strong.textContent = text;
        td.appendChild(strong);
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
