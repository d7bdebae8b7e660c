// Alarms on every page: asks /api/v1/alarms/count every few seconds and keeps the number of
// unacknowledged alarms in the tab title ("(2) Search · Tandem") and beside "Alarms" in the
// menu, in words as well as colour. On the alarm queue it also brings the queue up to date
// when something changed (unless a form in it is being filled in), and plays the alarm
// sound for a new alarm when the reader chose the sound. No framework, nothing fetched from
// elsewhere; without this script the pages show the count as it was when they loaded.
(function () {
  "use strict";
  var EVERY_MS = 4000;
  var badge = document.getElementById("alarm-count");
  var base = document.title.replace(/^\(\d+\) /, "");
  var last = null;
  var audio = null;

  function showCount(n) {
    document.title = n > 0 ? "(" + n + ") " + base : base;
    if (!badge) return;
    badge.setAttribute("data-count", String(n));
    badge.textContent = n > 0 ? n + " unacknowledged" : "";
    badge.className = n > 0 ? "alarm-count on" : "alarm-count";
  }

  function play() {
    try {
      if (!audio) audio = new Audio("/static/alarm.wav");
      audio.currentTime = 0;
      var p = audio.play();
      if (p && p.catch) p.catch(function () {});
    } catch (e) { /* the browser may refuse sound before the page was touched */ }
  }

  function busy(queue) {
    var f = document.activeElement;
    if (!f || !queue.contains(f)) return false;
    return f.tagName === "SELECT" || (f.tagName === "INPUT" && f.value !== "");
  }

  function refreshQueue() {
    var queue = document.getElementById("alarm-queue");
    if (!queue || busy(queue)) return;
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("alarm-queue");
        var queueNow = document.getElementById("alarm-queue");
        if (fresh && queueNow && !busy(queueNow)) queueNow.innerHTML = fresh.innerHTML;
      })
      .catch(function () {});
  }

  function tick() {
    fetch("/api/v1/alarms/count", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) {
        if (!c) return;
        var n = c.unacknowledged || 0;
        showCount(n);
        var now = n + "|" + (c.newest || "") + "|" + (c.changes || 0);
        if (last !== null && now !== last) {
          refreshQueue();
          var before = parseInt(last.split("|")[0], 10) || 0;
          var newer = (c.newest || "") > (last.split("|")[1] || "");
          if (c.sound && (n > before || newer) && n > 0) play();
        }
        last = now;
      })
      .catch(function () {});
  }

  tick();
  window.setInterval(tick, EVERY_MS);
})();
