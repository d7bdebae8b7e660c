// Evidence uploads on the incident page: a form marked data-upload sends the chosen file as
// the request body to the API (the file's name in the query, the session's CSRF token in a
// header), then reloads the page, which lists the file. A refusal is shown beside the form.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-upload]");
  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var input = form.querySelector("input[type=file]");
      var out = form.querySelector("output");
      var button = form.querySelector("button");
      var file = input && input.files && input.files[0];
      if (!file) { out.textContent = "Choose a file first."; return; }
      var url = form.getAttribute("data-upload") + "?name=" + encodeURIComponent(file.name);
      var item = form.querySelector("select[name=item]");
      if (item && item.value) { url += "&item=" + encodeURIComponent(item.value); }
      button.disabled = true;
      out.textContent = "Uploading " + file.name + "…";
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "X-CSRF-Token": form.getAttribute("data-csrf"),
          "Content-Type": file.type || "application/octet-stream"
        },
        body: file
      }).then(function (r) {
        if (r.ok) { window.location.reload(); return null; }
        return r.json().then(function (b) {
          throw new Error(b.error || ("Refused (" + r.status + ")."));
        }, function () {
          throw new Error("Refused (" + r.status + ").");
        });
      }).catch(function (err) {
        out.textContent = err.message;
        button.disabled = false;
      });
    });
  });
})();
