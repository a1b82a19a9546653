// Django formsets without inline scripts (the CSP forbids them).
//   <button data-formset-add="goals"> clones <template id="goals-empty-form">, replaces
//   __prefix__ with the next index, appends it to #goals-forms and bumps TOTAL_FORMS.
//   A row's DELETE box greys the row out; a lead box unticks the other leads.
(function () {
  "use strict";

  function addRow(prefix) {
    var template = document.getElementById(prefix + "-empty-form");
    var container = document.getElementById(prefix + "-forms");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
    if (!template || !container || !total) return;
    var index = parseInt(total.value, 10) || 0;
    if (max && index >= parseInt(max.value, 10)) return;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    container.appendChild(row);
    total.value = String(index + 1);
    var first = row.querySelector("input:not([type=hidden]):not([type=checkbox]), select, textarea");
    if (first) first.focus();
    updateAddButtons(prefix);
  }

  function updateAddButtons(prefix) {
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
    if (!total || !max) return;
    var full = parseInt(total.value, 10) >= parseInt(max.value, 10);
    document.querySelectorAll('[data-formset-add="' + prefix + '"]').forEach(function (button) {
      button.disabled = full;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-formset-add]") : null;
    if (!button) return;
    event.preventDefault();
    addRow(button.getAttribute("data-formset-add"));
  });

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.matches) return;
    if (el.matches('input[type=checkbox][name$="-DELETE"]')) {
      var row = el.closest("[data-formset-row]");
      if (row) row.classList.toggle("is-removed", el.checked);
    }
    if (el.matches("[data-lead-checkbox]") && el.checked) {
      var section = el.closest("[data-formset]");
      if (!section) return;
      section.querySelectorAll("[data-lead-checkbox]").forEach(function (other) {
        if (other !== el) other.checked = false;
      });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-formset]").forEach(function (section) {
      updateAddButtons(section.getAttribute("data-formset"));
    });
  });
})();
