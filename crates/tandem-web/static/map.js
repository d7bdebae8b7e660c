// Maps: keeps the floor plan and the site overview live, and lets those who may edit maps
// drag markers into place and upload a floor plan. The server draws the maps and their
// tables; without this script they show the state as of loading the page, and the form
// beside the plan places items without dragging. No framework, nothing fetched from
// elsewhere; every change goes through the audited API with the page's CSRF token.
(function () {
  "use strict";
  var floor = document.getElementById("floor-map");
  var sites = document.getElementById("site-map");
  var status = document.getElementById("map-state");

  function show(text, kind) {
    if (!status) return;
    status.textContent = text;
    status.className = "live-state " + kind;
  }

  function byData(root, name, value) {
    var out = [];
    var all = root.querySelectorAll("[data-" + name + "]");
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("data-" + name) === value) out.push(all[i]);
    }
    return out;
  }

  function follow(url, onRow) {
    if (!window.EventSource || !url) return;
    var source = new EventSource(url);
    source.addEventListener("ready", function () {
      show("Live: door states and alarms change here as events arrive.", "ok");
    });
    source.addEventListener("row", function (message) {
      var e;
      try { e = JSON.parse(message.data); } catch (err) { return; }
      onRow(e);
    });
    source.addEventListener("skipped", function () {
      show("Live, but this page fell behind and missed some events; reload to catch up.", "warn");
    });
    source.onerror = function () {
      show(source.readyState === EventSource.CLOSED
        ? "Disconnected. Reload the page to reconnect."
        : "Connection lost; reconnecting…", "bad");
    };
  }

  // A door event: the marker's colour and title, and the table's state and time.
  function doorEvent(e) {
    if (!e.door) return;
    byData(floor, "id", e.door).forEach(function (marker) {
      marker.classList.toggle("alarm", !!e.door_alarm);
      var title = marker.querySelector("title");
      if (title) title.textContent = marker.getAttribute("data-label") + ": " + e.door_state;
    });
    byData(document, "id", e.door).forEach(function (row) {
      if (row.tagName !== "TR") return;
      row.classList.toggle("alarm", !!e.door_alarm);
      var cell = row.querySelector("td.state");
      if (cell) {
        cell.textContent = "";
        if (e.door_alarm) {
          var strong = document.createElement("strong");
          strong.className = "alarm";
          strong.textContent = "⚠ " + e.door_state;
          cell.appendChild(strong);
        } else {
          cell.textContent = e.door_state;
        }
      }
      var since = row.querySelector("td.since");
      if (since) {
        since.textContent = "";
        var span = document.createElement("time");
        var t = e.time || {};
        span.setAttribute("datetime", t.datetime || "");
        span.title = (t.text || "") + " (" + (t.utc || "") + ")";
        span.textContent = "just now";
        since.appendChild(span);
      }
    });
    var link = byData(document, "id", e.door).filter(function (el) { return el.tagName === "TR"; })[0];
    var name = link ? link.querySelector("a").textContent : (e.where || e.door);
    if (e.door_alarm) show("Alarm: " + e.door_state + " at " + name + ".", "bad");
  }

  // A door alarm at a site: the site's count goes up and its marker turns red.
  function siteEvent(e) {
    if (e.kind !== "alarm" || !e.site) return;
    var matches = byData(sites.parentNode.parentNode, "site", e.site)
      .concat(byData(sites.parentNode.parentNode, "name", e.site));
    matches.forEach(function (el) {
      el.classList.add("alarm");
      var count = el.querySelector("td.alarms");
      if (count) count.textContent = String((parseInt(count.textContent, 10) || 0) + 1);
    });
    show(e.alert + " at " + (e.where || e.site) + ".", "bad");
  }

  if (sites) follow(sites.getAttribute("data-stream"), siteEvent);
  if (!floor) return;
  follow(floor.getAttribute("data-stream"), doorEvent);
  if (!floor.hasAttribute("data-edit")) return;

  var csrf = floor.getAttribute("data-csrf");
  var width = parseFloat(floor.getAttribute("data-width"));
  var height = parseFloat(floor.getAttribute("data-height"));
  var floorId = floor.getAttribute("data-floor");

  function point(ev) {
    var m = floor.getScreenCTM();
    if (!m) return null;
    var p = floor.createSVGPoint();
    p.x = ev.clientX;
    p.y = ev.clientY;
    p = p.matrixTransform(m.inverse());
    return { x: Math.min(Math.max(p.x, 0), width), y: Math.min(Math.max(p.y, 0), height) };
  }

  function send(method, url, type, body, done) {
    var xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("Content-Type", type);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.onload = function () {
      var answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = {}; }
      done(xhr.status >= 200 && xhr.status < 300, answer.error || ("HTTP " + xhr.status));
    };
    xhr.onerror = function () { done(false, "the server could not be reached"); };
    xhr.send(body);
  }

  var dragging = null;
  var suppressClick = false;
  // A press on a marker becomes a drag once the pointer moves a few pixels; a press without
  // a move is a click and opens the marker's place as usual.
  floor.addEventListener("pointerdown", function (ev) {
    var marker = ev.target.closest ? ev.target.closest(".marker") : null;
    if (!marker || ev.button !== 0) return;
    dragging = { marker: marker, circle: marker.querySelector("circle"), text: marker.querySelector("text"),
      moved: false, startX: ev.clientX, startY: ev.clientY, pointer: ev.pointerId };
  });
  floor.addEventListener("pointermove", function (ev) {
    if (!dragging) return;
    if (!dragging.moved) {
      if (Math.abs(ev.clientX - dragging.startX) + Math.abs(ev.clientY - dragging.startY) < 4) return;
      dragging.moved = true;
      floor.setPointerCapture(dragging.pointer);
    }
    ev.preventDefault();
    var p = point(ev);
    if (!p) return;
    dragging.circle.setAttribute("cx", p.x);
    dragging.circle.setAttribute("cy", p.y);
    if (dragging.text) {
      dragging.text.setAttribute("x", p.x);
      dragging.text.setAttribute("y", p.y);
    }
  });
  floor.addEventListener("pointerup", function (ev) {
    if (!dragging) return;
    var d = dragging;
    dragging = null;
    // Without a move it was a click: the link opens as usual.
    if (!d.moved) return;
    suppressClick = true;
    var p = point(ev);
    if (!p) return;
    var id = d.marker.getAttribute("data-id");
    var body = JSON.stringify({ x: p.x / width, y: p.y / height, map_floor: floorId });
    send("PUT", "/api/v1/places/" + encodeURIComponent(id) + "/position", "application/json", body,
      function (ok, error) {
        show(ok ? "Moved; the change is saved and audited." : "Not saved: " + error, ok ? "ok" : "bad");
        var row = byData(document, "id", id).filter(function (el) { return el.tagName === "TR"; })[0];
        var cell = row && row.querySelector("td.position");
        if (ok && cell) {
          cell.textContent = (Math.round(p.x / width * 1000) / 10) + "% across, " +
            (Math.round(p.y / height * 1000) / 10) + "% down";
        }
      });
  });
  // A drag ends with a click that must not open the marker's link; a click on the plan
  // itself fills in the placing form's position.
  floor.addEventListener("click", function (ev) {
    var onMarker = ev.target.closest && ev.target.closest(".marker");
    if (suppressClick) {
      suppressClick = false;
      ev.preventDefault();
      return;
    }
    if (onMarker) return;
    var p = point(ev);
    var x = document.getElementById("place-x");
    var y = document.getElementById("place-y");
    if (p && x && y) {
      x.value = Math.round(p.x / width * 1000) / 10;
      y.value = Math.round(p.y / height * 1000) / 10;
    }
  });

  var upload = document.getElementById("plan-upload");
  if (upload) {
    var state = document.getElementById("plan-upload-state");
    upload.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var file = document.getElementById("plan-file").files[0];
      if (!file) return;
      state.textContent = "Uploading…";
      send("PUT", upload.getAttribute("data-url"), file.type || "application/octet-stream", file,
        function (ok, error) {
          if (ok) {
            window.location.reload();
          } else {
            state.textContent = "Not uploaded: " + error;
          }
        });
    });
  }
})();
