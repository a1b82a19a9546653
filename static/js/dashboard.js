/* The dashboard's charts (Chart.js, from npm). Every bar, slice and point opens the list
   behind it: the URLs come with the numbers in the #dashboard-data JSON. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);

  var STATE_COLOURS = {
    pending: "#f59e0b", revision: "#a855f7", approved: "#0ea5e9",
    in_progress: "#3b82f6", completed: "#16a34a", cancelled: "#9ca3af"
  };
  var RISK_COLOURS = ["#cbd5e1", "#3b82f6", "#f59e0b", "#dc2626"];
  var TASK_COLOURS = { done: "#16a34a", open: "#3b82f6", late: "#dc2626" };

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  function opener(urlsFor) {
    return function (event, elements) {
      if (!elements.length) return;
      var element = elements[0];
      var url = urlsFor(element.datasetIndex, element.index);
      if (url) window.location.href = url;
    };
  }
  function hover(event, elements) {
    event.native.target.style.cursor = elements.length ? "pointer" : "default";
  }
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return null;
    config.options = Object.assign({ onHover: hover }, config.options || {});
    var chart = new Chart(canvas, config);
    canvas.dataset.ready = "1";
    return chart;
  }

  var states = data.states;
  draw("chart-states", {
    type: "doughnut",
    data: {
      labels: states.labels,
      datasets: [{
        data: states.values,
        backgroundColor: states.keys.map(function (key) {
          return STATE_COLOURS[key.replace("state_", "")] || "#94a3b8";
        })
      }]
    },
    options: {
      plugins: { legend: { position: "right" } },
      onClick: opener(function (d, i) { return states.urls[i]; })
    }
  });

  var tasks = data.tasks;
  draw("chart-tasks", {
    type: "doughnut",
    data: {
      labels: tasks.labels,
      datasets: [{ data: tasks.values, backgroundColor: ["#16a34a", "#3b82f6", "#dc2626"] }]
    },
    options: {
      plugins: { legend: { position: "right" } },
      onClick: opener(function (d, i) { return tasks.urls[i]; })
    }
  });

  var risks = data.risks;
  draw("chart-risks", {
    type: "bar",
    data: {
      labels: risks.labels,
      datasets: [{ data: risks.values, backgroundColor: RISK_COLOURS }]
    },
    options: {
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      onClick: opener(function (d, i) { return risks.urls[i]; })
    }
  });

  var departments = data.departments;
  draw("chart-departments", {
    type: "bar",
    data: {
      labels: departments.labels,
      datasets: departments.series.map(function (s) {
        return { label: s.label, data: s.values, backgroundColor: TASK_COLOURS[s.key] };
      })
    },
    options: {
      indexAxis: "y",
      scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } },
      onClick: opener(function (d, i) { return departments.series[d].urls[i]; })
    }
  });

  var onTime = data.on_time;
  draw("chart-on-time", {
    type: "bar",
    data: {
      labels: onTime.labels,
      datasets: [{
        label: onTime.label,
        data: onTime.values,
        backgroundColor: onTime.values.map(function (v) {
          return v === null ? "#cbd5e1" : v >= 90 ? "#16a34a" : v >= 70 ? "#f59e0b" : "#dc2626";
        })
      }]
    },
    options: {
      indexAxis: "y",
      plugins: { legend: { display: false }, title: { display: true, text: onTime.label } },
      scales: { x: { min: 0, max: 100 } },
      onClick: opener(function (d, i) { return onTime.urls[i]; })
    }
  });

  var cycle = data.cycle;
  draw("chart-cycle", {
    type: "bar",
    data: {
      labels: cycle.labels,
      datasets: [
        { type: "line", label: cycle.label, data: cycle.values, borderColor: "#3b82f6",
          backgroundColor: "#3b82f6", yAxisID: "days", tension: 0.25 },
        { type: "bar", label: cycle.count_label, data: cycle.counts,
          backgroundColor: "rgba(22, 163, 74, 0.35)", yAxisID: "count" }
      ]
    },
    options: {
      scales: {
        days: { position: "left", beginAtZero: true, title: { display: true, text: cycle.label } },
        count: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
                 ticks: { precision: 0 }, title: { display: true, text: cycle.count_label } }
      },
      onClick: opener(function (d, i) { return cycle.urls[i]; })
    }
  });
})();
