// @-autocomplete for comment boxes, without inline script (the CSP forbids it).
//   <textarea data-mentions="ID"> reads the people it may suggest from
//   <script type="application/json" id="ID"> ({{ list|json_script:"ID" }}), a list of
//   {"username", "name", "department"}. Typing "@" and a few letters of a username or a
//   name (「@王」 finds 王小明) lists matches; ↑/↓ move, Enter or Tab picks, Esc closes;
//   the pick is written as "@username " — the form the server recognises.
// Listeners sit on the document, so boxes swapped in by htmx work without set-up.
(function () {
  "use strict";
  if (window.collabMentions) return; // the partial may load this file more than once
  window.collabMentions = true;

  var MAX = 8;
  var state = null; // {textarea, menu, items, index, start}

  function people(textarea) {
    var source = document.getElementById(textarea.getAttribute("data-mentions"));
    if (!source) return [];
    try {
      return JSON.parse(source.textContent) || [];
    } catch (e) {
      return [];
    }
  }

  // The "@fragment" right before the caret, if the caret is in one. An "@" glued to a
  // word (an e-mail address) does not start a mention.
  function fragment(textarea) {
    var caret = textarea.selectionStart;
    if (caret !== textarea.selectionEnd) return null;
    var before = textarea.value.slice(0, caret);
    var match = /(^|[^A-Za-z0-9_.+\-@])@([^\s@]{0,30})$/.exec(before);
    if (!match) return null;
    return { start: caret - match[2].length - 1, text: match[2].toLowerCase() };
  }

  function matches(list, text) {
    if (!text) return list.slice(0, MAX);
    var first = [], rest = [];
    list.forEach(function (p) {
      var username = (p.username || "").toLowerCase();
      var name = (p.name || "").toLowerCase();
      if (username.indexOf(text) === 0 || name.indexOf(text) === 0) first.push(p);
      else if (username.indexOf(text) > 0 || name.indexOf(text) > 0) rest.push(p);
    });
    return first.concat(rest).slice(0, MAX);
  }

  function close() {
    if (!state) return;
    state.menu.remove();
    state.textarea.setAttribute("aria-expanded", "false");
    state.textarea.removeAttribute("aria-activedescendant");
    state = null;
  }

  function highlight(index) {
    if (!state || !state.items.length) return;
    state.index = (index + state.items.length) % state.items.length;
    var options = state.menu.querySelectorAll("[role=option]");
    options.forEach(function (el, i) {
      var on = i === state.index;
      el.classList.toggle("active", on);
      el.setAttribute("aria-selected", on ? "true" : "false");
      if (on) {
        state.textarea.setAttribute("aria-activedescendant", el.id);
        if (el.scrollIntoView) el.scrollIntoView({ block: "nearest" });
      }
    });
  }

  function option(person, i, menuId) {
    var el = document.createElement("button");
    el.type = "button";
    el.className = "dropdown-item";
    el.id = menuId + "-" + i;
    el.setAttribute("role", "option");
    el.setAttribute("data-username", person.username);
    var handle = document.createElement("strong");
    handle.textContent = "@" + person.username;
    el.appendChild(handle);
    if (person.name) el.appendChild(document.createTextNode(" " + person.name));
    if (person.department) {
      var dept = document.createElement("span");
      dept.className = "small text-body-secondary ms-1";
      dept.textContent = "· " + person.department;
      el.appendChild(dept);
    }
    return el;
  }

  function open(textarea, found, start) {
    close();
    var box = textarea.closest(".mention-box") || textarea.parentNode;
    var menu = document.createElement("div");
    menu.className = "dropdown-menu mention-menu shadow-sm";
    menu.id = textarea.id + "-mentions";
    menu.setAttribute("role", "listbox");
    if (!found.length) {
      var none = document.createElement("div");
      none.className = "mention-empty small text-body-secondary";
      none.textContent = textarea.getAttribute("data-mentions-empty") || "—";
      menu.appendChild(none);
    }
    found.forEach(function (p, i) { menu.appendChild(option(p, i, menu.id)); });
    box.appendChild(menu);
    textarea.setAttribute("aria-controls", menu.id);
    textarea.setAttribute("aria-expanded", "true");
    state = { textarea: textarea, menu: menu, items: found, index: 0, start: start };
    highlight(0);
  }

  function pick(index) {
    if (!state || !state.items[index]) return;
    var textarea = state.textarea;
    var caret = textarea.selectionStart;
    var insert = "@" + state.items[index].username + " ";
    // Drop the rest of the fragment after the caret and one space: `insert` ends in one.
    var after = textarea.value.slice(caret).replace(/^[^\s@]*/, "").replace(/^ /, "");
    textarea.value = textarea.value.slice(0, state.start) + insert + after;
    var position = state.start + insert.length;
    close();
    textarea.focus();
    textarea.setSelectionRange(position, position);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function update(textarea) {
    var found = fragment(textarea);
    if (!found) { close(); return; }
    open(textarea, matches(people(textarea), found.text), found.start);
  }

  document.addEventListener("input", function (event) {
    var el = event.target;
    if (el.matches && el.matches("textarea[data-mentions]")) update(el);
  });

  document.addEventListener("keydown", function (event) {
    if (!state || event.target !== state.textarea) return;
    if (event.key === "ArrowDown") { event.preventDefault(); highlight(state.index + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight(state.index - 1); }
    else if ((event.key === "Enter" || event.key === "Tab") && state.items.length) {
      event.preventDefault();
      pick(state.index);
    } else if (event.key === "Escape") { event.preventDefault(); close(); }
  });

  // mousedown, not click: the textarea keeps its focus and its caret.
  document.addEventListener("mousedown", function (event) {
    if (!state) return;
    var item = event.target.closest ? event.target.closest(".mention-menu [role=option]") : null;
    if (item && state.menu.contains(item)) {
      event.preventDefault();
      var options = Array.prototype.slice.call(state.menu.querySelectorAll("[role=option]"));
      pick(options.indexOf(item));
    } else if (!state.menu.contains(event.target) && event.target !== state.textarea) {
      close();
    }
  });

  document.addEventListener("focusout", function (event) {
    if (state && event.target === state.textarea) {
      window.setTimeout(function () {
        if (state && document.activeElement !== state.textarea) close();
      }, 150);
    }
  });

  document.addEventListener("htmx:beforeSwap", close);
})();
