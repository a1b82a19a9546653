// The meeting pages, without inline scripts (the CSP forbids them).
//   [data-meeting-form] <select> shows the room for a meeting on site and the link for
//   an online one; [data-short-notice] (the reason for short notice) shows while the
//   date and start time typed are less than a day away (or the server says so).
(function () {
  "use strict";

  var DAY_MS = 24 * 60 * 60 * 1000;

  function toggleForm(select) {
    var value = select.value;
    document.querySelectorAll("[data-show-for-form]").forEach(function (block) {
      block.hidden = block.getAttribute("data-show-for-form") !== value;
    });
  }

  function toggleNotice() {
    var box = document.querySelector("[data-short-notice]");
    var date = document.querySelector("[data-meeting-date]");
    var time = document.querySelector("[data-meeting-start]");
    if (!box || !date || !time) return;
    if (box.hasAttribute("data-always")) return;
    if (!date.value || !time.value) { box.hidden = true; return; }
    var start = new Date(date.value + "T" + time.value);
    box.hidden = isNaN(start.getTime()) || start.getTime() - Date.now() >= DAY_MS;
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.matches) return;
    if (el.matches("[data-meeting-form]")) toggleForm(el);
    if (el.matches("[data-meeting-date], [data-meeting-start]")) toggleNotice();
  });

  document.addEventListener("DOMContentLoaded", function () {
    // A dialog whose form came back with errors opens again.
    var reopen = document.querySelector("[data-open-modal]");
    var dialog = reopen && document.querySelector(reopen.getAttribute("data-open-modal"));
    if (dialog && window.bootstrap) window.bootstrap.Modal.getOrCreateInstance(dialog).show();
    var select = document.querySelector("[data-meeting-form]");
    if (select) toggleForm(select);
    toggleNotice();
  });
})();
