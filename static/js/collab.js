// Small behaviours shared by every page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // Bootstrap classes for inputs Django renders without them.
  function styleForms(root) {
    root.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.closest(".no-auto-style")) return;
      var type = (el.getAttribute("type") || "").toLowerCase();
      if (type === "hidden" || type === "submit" || type === "button") return;
      if (type === "checkbox" || type === "radio") {
        el.classList.add("form-check-input");
      } else if (el.tagName === "SELECT") {
        el.classList.add("form-select");
      } else {
        el.classList.add("form-control");
      }
      if (el.closest(".mb-3") && el.closest(".mb-3").querySelector(".invalid-feedback")) {
        el.classList.add("is-invalid");
      }
    });
  }

  // <select data-autosubmit> submits its form on change (the language switcher).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      el.form.submit();
    }
  });

  // <button data-confirm="..."> asks before submitting.
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () { styleForms(document); });
  document.addEventListener("htmx:afterSwap", function (event) { styleForms(event.target); });

  // A rate-limited htmx request (429, collab/ratelimits.py) brings a short message:
  // show it in the target instead of dropping it as an error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 429) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
