// Keyboard triage on the alert queue: j/k move between alerts, x selects the current one
// for a bulk change, a acknowledges it, Enter opens it. No keys are taken while typing.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-alert]"));
  if (!rows.length) return;
  var at = 0;
  function show(i) {
    rows[at].classList.remove("current");
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows[at].classList.add("current");
    rows[at].scrollIntoView({ block: "nearest" });
    var link = rows[at].querySelector("a.alert-link");
    if (link) link.focus({ preventScroll: true });
  }
  rows[0].classList.add("current");
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    var row = rows[at];
    if (e.key === "j") { show(at + 1); e.preventDefault(); }
    else if (e.key === "k") { show(at - 1); e.preventDefault(); }
    else if (e.key === "x") {
      var box = row.querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; }
      e.preventDefault();
    } else if (e.key === "a") {
      var ack = row.querySelector("form.ack");
      if (ack) { ack.submit(); }
      e.preventDefault();
    }
  });
})();
