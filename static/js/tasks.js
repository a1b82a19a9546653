// Task pages: bring an opened action form into view and put the cursor in it.
// No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // htmx "settles" a swapped element by copying the old element's class and style
  // attributes onto the new one. Setting a style attribute is what the CSP forbids (a
  // Bootstrap collapse leaves style="" behind), so settle everything but style.
  if (window.htmx) {
    window.htmx.config.attributesToSettle = window.htmx.config.attributesToSettle.filter(
      function (name) { return name !== "style"; }
    );
  }

  document.addEventListener("shown.bs.collapse", function (event) {
    var panel = event.target;
    if (!panel.closest || !panel.closest("#task-actions, #progress, .task-card")) return;
    if (panel.hasAttribute("data-scroll-on-show")) {
      panel.scrollIntoView({ behavior: "smooth", block: "start" });
    }
    var field = panel.querySelector("textarea, input:not([type=hidden]), select");
    if (field) field.focus({ preventScroll: panel.hasAttribute("data-scroll-on-show") });
  });

  // After htmx swaps a 我的任務 card with errors, focus the first invalid field.
  document.addEventListener("htmx:afterSwap", function (event) {
    var card = event.detail && event.detail.target;
    if (!card || !card.querySelector) return;
    var fresh = document.getElementById(card.id) || card;
    var invalid = fresh.querySelector && fresh.querySelector(".is-invalid, .invalid-feedback");
    if (invalid) {
      var input = invalid.closest(".mb-3") && invalid.closest(".mb-3").querySelector("input, textarea, select");
      if (input) input.focus();
    }
  });
})();
