// The 需求看板 board: sizes from data attributes, and the timeline of the request's tasks.
//
// The timeline is vis-timeline (npm, "peer" build, served from node_modules): one row per
// task, a bar from its start date to its due time coloured by state, late bars marked,
// a band for today and one per milestone. vis-timeline has no dependency arrows, so they
// are drawn here in an SVG laid over the timeline's centre panel, from its public API
// (getWindow, the "changed" event) and the rows' label elements.
//
// The data comes from the JSON island {{ board.gantt|json_script:"gantt-data" }}. The CSP
// forbids inline scripts and style="" attributes in HTML; setting element.style from
// script (CSSOM) and SVG presentation attributes are allowed, and that is all this does.
// Task names are user text: they only ever go in as text nodes or escaped.
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var DAY = 24 * 60 * 60 * 1000;

  function clampPercent(value) {
    var n = Number(value);
    return isFinite(n) ? Math.max(0, Math.min(100, n)) : 0;
  }

  // Widths and shares the template gives as data attributes.
  function applySizes(root) {
    root.querySelectorAll("[data-board-width]").forEach(function (el) {
      el.style.width = clampPercent(el.getAttribute("data-board-width")) + "%";
    });
    root.querySelectorAll("[data-board-grow]").forEach(function (el) {
      var grow = Number(el.getAttribute("data-board-grow")) || 0;
      el.style.flexGrow = String(grow);
      if (!grow) el.hidden = true;
    });
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined && text !== null) el.textContent = text;
    return el;
  }

  // "2025-07-15" is a calendar day: midnight local time, not UTC.
  function localDay(iso) {
    var parts = iso.split("-").map(Number);
    return new Date(parts[0], parts[1] - 1, parts[2]);
  }

  function axisFormats(lang) {
    function fmt(options) {
      try {
        return new Intl.DateTimeFormat(lang, options);
      } catch (e) {
        return new Intl.DateTimeFormat(undefined, options);
      }
    }
    var time = fmt({ hour: "2-digit", minute: "2-digit", hour12: false });
    var day = fmt({ day: "numeric" });
    var monthDay = fmt({ month: "numeric", day: "numeric" });
    var weekday = fmt({ weekday: "short", day: "numeric" });
    var month = fmt({ month: "short" });
    var year = fmt({ year: "numeric" });
    var yearMonth = fmt({ year: "numeric", month: "long" });
    var fullDay = fmt({ year: "numeric", month: "numeric", day: "numeric" });
    function toDate(value) {
      return value && typeof value.toDate === "function" ? value.toDate() : new Date(value);
    }
    return {
      minorLabels: function (date, scale) {
        var d = toDate(date);
        switch (scale) {
          case "millisecond":
          case "second":
          case "minute":
          case "hour":
            return time.format(d);
          case "weekday":
            return weekday.format(d);
          case "day":
            return day.format(d);
          case "week":
            return monthDay.format(d);
          case "month":
            return month.format(d);
          default:
            return year.format(d);
        }
      },
      majorLabels: function (date, scale) {
        var d = toDate(date);
        switch (scale) {
          case "millisecond":
          case "second":
          case "minute":
          case "hour":
            return fullDay.format(d);
          case "weekday":
          case "day":
          case "week":
            return yearMonth.format(d);
          case "month":
            return year.format(d);
          default:
            return "";
        }
      },
    };
  }

  function rowLabel(task, labels) {
    var box = element("div", "gantt-label");
    var link = element("a", "gantt-label-link");
    link.href = task.url;
    link.appendChild(element("span", "gantt-label-number", task.number));
    link.appendChild(element("span", "gantt-label-name", task.name));
    box.appendChild(link);
    if (task.late) {
      var late = element("span", "gantt-label-late bi bi-alarm");
      late.setAttribute("title", task.overdue ? labels.overdue : labels.behind);
      late.setAttribute("aria-label", task.overdue ? labels.overdue : labels.behind);
      box.appendChild(late);
    }
    return box;
  }

  function barContent(task) {
    var box = element("div", "gantt-bar");
    box.appendChild(element("span", "gantt-bar-percent", task.percent + "%"));
    if (task.responsible) box.appendChild(element("span", "gantt-bar-who", task.responsible));
    return box;
  }

  function barTooltip(task, labels, byId) {
    var lines = [
      "<strong>" + escapeHtml(task.number + " " + task.name) + "</strong>",
      escapeHtml(task.state_label + " · " + task.percent + "%"),
      escapeHtml(labels.start + " " + task.start + " · " + labels.due + " " + task.due),
    ];
    if (task.responsible) {
      lines.push(escapeHtml(labels.responsible + " " + task.responsible + " · " + task.department));
    }
    if (task.late) lines.push(escapeHtml(task.overdue ? labels.overdue : labels.behind));
    if (task.depends_on.length) {
      lines.push(
        escapeHtml(
          labels.depends +
            " " +
            task.depends_on
              .map(function (id) {
                return byId[id] ? byId[id].number : "";
              })
              .join("、")
        )
      );
    }
    return lines.join("<br>");
  }

  function barClasses(task) {
    var classes = ["gantt-task", "gantt-state-" + task.state];
    if (task.late) classes.push("gantt-late");
    if (task.overdue) classes.push("gantt-overdue");
    return classes.join(" ");
  }

  // The window: every task and milestone, with a little room on both sides.
  function dataRange(data) {
    var min = Infinity;
    var max = -Infinity;
    data.tasks.forEach(function (t) {
      min = Math.min(min, localDay(t.start).getTime());
      max = Math.max(max, new Date(t.end).getTime());
    });
    data.milestones.forEach(function (m) {
      var day = localDay(m.date).getTime();
      min = Math.min(min, day);
      max = Math.max(max, day + DAY);
    });
    var pad = Math.max(DAY, (max - min) * 0.04);
    return { start: new Date(min - pad), end: new Date(max + pad) };
  }

  function Arrows(wrap, timeline, data) {
    this.wrap = wrap;
    this.timeline = timeline;
    this.byId = {};
    var self = this;
    data.tasks.forEach(function (t) {
      self.byId[t.id] = t;
    });
    this.links = [];
    data.tasks.forEach(function (t) {
      t.depends_on.forEach(function (pred) {
        if (self.byId[pred]) self.links.push({ from: self.byId[pred], to: t });
      });
    });
    this.svg = document.createElementNS(SVG_NS, "svg");
    this.svg.setAttribute("class", "gantt-arrows");
    this.svg.setAttribute("aria-hidden", "true");
    var defs = document.createElementNS(SVG_NS, "defs");
    var marker = document.createElementNS(SVG_NS, "marker");
    this.markerId = "gantt-arrowhead-" + Math.random().toString(36).slice(2);
    marker.setAttribute("id", this.markerId);
    marker.setAttribute("viewBox", "0 0 10 10");
    marker.setAttribute("refX", "9");
    marker.setAttribute("refY", "5");
    marker.setAttribute("markerWidth", "7");
    marker.setAttribute("markerHeight", "7");
    marker.setAttribute("orient", "auto-start-reverse");
    var head = document.createElementNS(SVG_NS, "path");
    head.setAttribute("d", "M 0 0 L 10 5 L 0 10 z");
    head.setAttribute("class", "gantt-arrowhead");
    marker.appendChild(head);
    defs.appendChild(marker);
    this.svg.appendChild(defs);
    this.group = document.createElementNS(SVG_NS, "g");
    this.svg.appendChild(this.group);
    wrap.appendChild(this.svg);
    this.pending = false;
  }

  Arrows.prototype.schedule = function () {
    if (this.pending) return;
    this.pending = true;
    var self = this;
    window.requestAnimationFrame(function () {
      self.pending = false;
      self.draw();
    });
  };

  Arrows.prototype.rowMiddle = function (task, centerTop) {
    var label = this.wrap.querySelector(".vis-label.gantt-row-t" + task.id);
    if (!label) return null;
    var rect = label.getBoundingClientRect();
    return { mid: rect.top + rect.height / 2 - centerTop, height: rect.height };
  };

  Arrows.prototype.draw = function () {
    var center = this.wrap.querySelector(".vis-panel.vis-center");
    if (!center) return;
    var wrapRect = this.wrap.getBoundingClientRect();
    var c = center.getBoundingClientRect();
    this.svg.style.left = c.left - wrapRect.left + "px";
    this.svg.style.top = c.top - wrapRect.top + "px";
    this.svg.setAttribute("width", String(Math.max(0, c.width)));
    this.svg.setAttribute("height", String(Math.max(0, c.height)));
    var win = this.timeline.getWindow();
    var start = win.start.getTime();
    var span = win.end.getTime() - start || 1;
    function x(time) {
      return ((time - start) / span) * c.width;
    }
    while (this.group.firstChild) this.group.removeChild(this.group.firstChild);
    var self = this;
    this.links.forEach(function (link) {
      var from = self.rowMiddle(link.from, c.top);
      var to = self.rowMiddle(link.to, c.top);
      if (!from || !to) return;
      var x1 = x(new Date(link.from.end).getTime());
      var x2 = x(localDay(link.to.start).getTime());
      var y1 = from.mid;
      var y2 = to.mid;
      var gap = 8;
      var d;
      if (x2 - x1 >= 2 * gap) {
        d = ["M", x1, y1, "H", x1 + gap, "V", y2, "H", x2].join(" ");
      } else {
        // The successor starts before the predecessor ends: go round, between the rows.
        var between = y2 > y1 ? y2 - to.height / 2 : y2 + to.height / 2;
        d = ["M", x1, y1, "H", x1 + gap, "V", between, "H", x2 - gap, "V", y2, "H", x2].join(" ");
      }
      var path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      var classes = "gantt-arrow";
      if (link.from.state !== "done") classes += " gantt-arrow-waiting";
      path.setAttribute("class", classes);
      path.setAttribute("marker-end", "url(#" + self.markerId + ")");
      path.setAttribute("data-from", String(link.from.id));
      path.setAttribute("data-to", String(link.to.id));
      self.group.appendChild(path);
    });
  };

  function drawTimeline(wrap, data) {
    if (typeof window.vis === "undefined" || !window.vis.Timeline) return;
    var labels = {
      today: wrap.getAttribute("data-label-today"),
      milestones: wrap.getAttribute("data-label-milestones"),
      milestone: wrap.getAttribute("data-label-milestone"),
      start: wrap.getAttribute("data-label-start"),
      due: wrap.getAttribute("data-label-due"),
      responsible: wrap.getAttribute("data-label-responsible"),
      overdue: wrap.getAttribute("data-label-overdue"),
      behind: wrap.getAttribute("data-label-behind"),
      depends: wrap.getAttribute("data-label-depends"),
    };
    var byId = {};
    data.tasks.forEach(function (t) {
      byId[t.id] = t;
    });
    var groups = new window.vis.DataSet();
    var items = new window.vis.DataSet();
    if (data.milestones.length) {
      groups.add({
        id: "milestones",
        content: element("div", "gantt-label gantt-label-milestones", labels.milestones),
        className: "gantt-row-milestones",
        order: 0,
      });
    }
    data.tasks.forEach(function (task, index) {
      groups.add({
        id: "t" + task.id,
        content: rowLabel(task, labels),
        className: "gantt-row gantt-row-t" + task.id + (task.late ? " gantt-row-late" : ""),
        order: index + 1,
      });
      items.add({
        id: "t-" + task.id,
        group: "t" + task.id,
        type: "range",
        start: localDay(task.start),
        end: new Date(task.end),
        content: barContent(task),
        className: barClasses(task),
        title: barTooltip(task, labels, byId),
      });
    });
    data.milestones.forEach(function (milestone, index) {
      var day = localDay(milestone.date);
      var title = escapeHtml(labels.milestone + " · " + milestone.name + " · " + milestone.date);
      items.add({
        id: "m-" + index,
        group: "milestones",
        type: "point",
        start: day,
        content: element("span", "gantt-milestone-name", milestone.name),
        className: "gantt-milestone",
        title: title,
      });
      items.add({
        id: "mb-" + index,
        type: "background",
        start: day,
        end: new Date(day.getTime() + DAY),
        content: "",
        className: "gantt-milestone-band",
      });
    });
    var today = localDay(data.today);
    items.add({
      id: "today",
      type: "background",
      start: today,
      end: new Date(today.getTime() + DAY),
      content: "",
      className: "gantt-today",
      title: escapeHtml(labels.today + " " + data.today),
    });

    var range = dataRange(data);
    var loading = wrap.querySelector("[data-gantt-loading]");
    if (loading) loading.remove();
    var holder = element("div", "gantt-timeline");
    wrap.appendChild(holder);
    var timeline = new window.vis.Timeline(holder, items, groups, {
      start: range.start,
      end: range.end,
      stack: false,
      selectable: false,
      showCurrentTime: false,
      orientation: { axis: "top", item: "top" },
      groupOrder: "order",
      dataAttributes: ["id"],
      zoomKey: "ctrlKey",
      showWeekScale: true,
      zoomMin: 2 * DAY,
      zoomMax: 3 * 365 * DAY,
      margin: { item: { horizontal: 0, vertical: 6 }, axis: 4 },
      tooltip: { followMouse: true, overflowMethod: "cap", delay: 150 },
      format: axisFormats(document.documentElement.lang || undefined),
    });
    var arrows = new Arrows(wrap, timeline, data);
    // The done part of each bar: a custom property the stylesheet turns into a gradient.
    function paintProgress() {
      wrap.querySelectorAll(".vis-item.gantt-task[data-id]").forEach(function (el) {
        var task = byId[el.getAttribute("data-id").slice(2)];
        if (task) el.style.setProperty("--gantt-progress", clampPercent(task.percent) + "%");
      });
    }
    timeline.on("changed", function () {
      paintProgress();
      arrows.schedule();
      if (!wrap.hasAttribute("data-rendered")) wrap.setAttribute("data-rendered", "true");
    });
    timeline.on("click", function (props) {
      var id = props && props.item ? String(props.item) : "";
      if (id.indexOf("t-") === 0 && byId[id.slice(2)]) {
        window.location.href = byId[id.slice(2)].url;
      }
    });
    document.querySelectorAll("[data-gantt-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var what = button.getAttribute("data-gantt-zoom");
        if (what === "in") timeline.zoomIn(0.5);
        else if (what === "out") timeline.zoomOut(0.5);
        else timeline.setWindow(range.start, range.end);
      });
    });
    window.addEventListener("resize", function () {
      arrows.schedule();
    });
  }

  function init() {
    applySizes(document);
    var wrap = document.getElementById("board-gantt");
    var island = document.getElementById("gantt-data");
    if (!wrap || !island) return;
    drawTimeline(wrap, JSON.parse(island.textContent));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
