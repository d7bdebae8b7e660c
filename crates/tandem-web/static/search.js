// Suggestions for the search box: field names as you type a word, then the field's
// commonest values of the last day after `field:`. A WAI-ARIA combobox: arrow keys choose,
// Enter takes the chosen one (and otherwise searches, as without suggestions), Tab takes the
// chosen or the first, Escape closes. Without this script the box is a plain
// text field and the field list below it still helps.
(function () {
  "use strict";
  var input = document.getElementById("q");
  var list = document.getElementById("q-suggest");
  var data = document.getElementById("search-fields");
  if (!input || !list || !data) return;
  var fields = JSON.parse(data.textContent);
  var items = [], active = -1, timer = null, cache = {};
  var KEYWORDS = ["AND", "OR", "NOT"];

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", "q-suggest");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("autocomplete", "off");

  // The word being typed at the caret: `field` or `field:partial`.
  function token() {
    var before = input.value.slice(0, input.selectionStart);
    var m = before.match(/([A-Za-z_@][\w.@-]*)(?::([\w.@-]*))?$/);
    if (!m || KEYWORDS.indexOf(m[1]) >= 0) return null;
    return { start: before.length - m[0].length, field: m[1], value: m[2], hasColon: m[0].indexOf(":") >= 0 };
  }

  function close() {
    list.hidden = true; items = []; active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function show(options) {
    items = options;
    list.innerHTML = "";
    if (!options.length) { close(); return; }
    options.forEach(function (o, i) {
      var li = document.createElement("li");
      li.id = "q-opt-" + i;
      li.setAttribute("role", "option");
      var strong = document.createElement("strong");
      strong.textContent = o.label;
      li.appendChild(strong);
      if (o.hint) {
        var small = document.createElement("small");
        small.textContent = " " + o.hint;
        li.appendChild(small);
      }
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); pick(i); });
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    active = -1;
    input.removeAttribute("aria-activedescendant");
  }

  function move(i) {
    if (!items.length) return;
    active = (i + items.length) % items.length;
    Array.prototype.forEach.call(list.children, function (li, n) {
      li.setAttribute("aria-selected", n === active ? "true" : "false");
    });
    input.setAttribute("aria-activedescendant", "q-opt-" + active);
  }

  function pick(i) {
    var o = items[i], t = token();
    if (!o || !t) return;
    var caret = input.selectionStart;
    var head = input.value.slice(0, t.start), tail = input.value.slice(caret);
    input.value = head + o.insert + tail;
    var at = (head + o.insert).length;
    input.setSelectionRange(at, at);
    close();
    input.focus();
    if (!o.value) suggest();
  }

  function quote(v) { return /^[\w.@-]+$/.test(v) ? v : '"' + v.replace(/"/g, '\\"') + '"'; }

  function suggest() {
    var t = token();
    if (!t) { close(); return; }
    if (!t.hasColon) {
      var w = t.field.toLowerCase();
      show(fields.filter(function (f) { return f.name.indexOf(w) === 0 && f.name !== w; })
        .slice(0, 8)
        .map(function (f) { return { label: f.name, hint: f.about, insert: f.name + ":" }; }));
      return;
    }
    var key = t.field + ":" + t.value;
    clearTimeout(timer);
    timer = setTimeout(function () {
      var done = function (values) {
        var now = token();
        if (!now || now.field + ":" + now.value !== key) return;
        show(values.map(function (v) {
          return { label: v.value, hint: v.count + " in the last day", insert: t.field + ":" + quote(v.value) + " ", value: true };
        }));
      };
      if (cache[key]) { done(cache[key]); return; }
      fetch("/api/v1/search/values?field=" + encodeURIComponent(t.field) + "&prefix=" + encodeURIComponent(t.value),
            { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { values: [] }; })
        .then(function (j) { cache[key] = j.values || []; done(cache[key]); })
        .catch(close);
    }, 150);
  }

  input.addEventListener("input", suggest);
  input.addEventListener("blur", function () { setTimeout(close, 100); });
  input.addEventListener("keydown", function (ev) {
    if (list.hidden) return;
    if (ev.key === "ArrowDown") { ev.preventDefault(); move(active + 1); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); move(active - 1); }
    else if (ev.key === "Enter") { if (active >= 0) { ev.preventDefault(); pick(active); } }
    else if (ev.key === "Tab") { ev.preventDefault(); pick(active >= 0 ? active : 0); }
    else if (ev.key === "Escape") { close(); }
  });
})();
