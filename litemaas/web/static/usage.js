// Usage dashboard charts (Chart.js): drawn from the page's daily table, which stays the
// accessible alternative. Colours come from PatternFly's CSS variables, so both themes work;
// the charts are redrawn when the theme changes.
(function () {
  "use strict";

  var METRICS = {
    requests: { column: "requests", hue: "blue", type: "bar" },
    tokens: { column: "tokens", hue: "purple", type: "bar" },
    spend: { column: "spend", hue: "teal", type: "line" },
  };

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function rows(table) {
    return Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-day]"));
  }

  function draw(root, charts) {
    var table = document.getElementById(root.getAttribute("data-source"));
    if (!table || typeof Chart === "undefined") {
      return;
    }
    var labels = JSON.parse(root.getAttribute("data-labels") || "{}");
    var data = rows(table);
    var days = data.map(function (tr) { return tr.getAttribute("data-day"); });
    var text = cssVar("--pf-t--global--text--color--regular", "#151515");
    var grid = cssVar("--pf-t--global--border--color--default", "#c7c7c7");
    charts.forEach(function (chart) { chart.destroy(); });
    charts.length = 0;
    root.querySelectorAll("canvas[data-metric]").forEach(function (canvas) {
      var metric = METRICS[canvas.getAttribute("data-metric")];
      // PatternFly's non-status palette: a light fill and a stronger outline, per theme.
      var fill = cssVar("--pf-t--global--color--nonstatus--" + metric.hue + "--default", "#b9dafc");
      var line = cssVar("--pf-t--global--border--color--nonstatus--" + metric.hue + "--hover", "#0066cc");
      var values = data.map(function (tr) { return Number(tr.getAttribute("data-" + metric.column)); });
      charts.push(new Chart(canvas, {
        type: metric.type,
        data: {
          labels: days,
          datasets: [{
            label: labels[canvas.getAttribute("data-metric")] || metric.column,
            data: values,
            backgroundColor: fill,
            borderColor: line,
            borderWidth: 2,
            fill: metric.type === "line",
            pointRadius: days.length > 60 ? 0 : 2,
            tension: 0.2,
          }],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: false } },
          scales: {
            x: { ticks: { color: text, maxRotation: 0, autoSkip: true }, grid: { color: grid } },
            y: { beginAtZero: true, ticks: { color: text }, grid: { color: grid } },
          },
        },
      }));
    });
  }

  function init() {
    document.querySelectorAll("[data-usage-charts]").forEach(function (root) {
      var charts = [];
      draw(root, charts);
      // The theme toggle switches a class on <html>: redraw with that theme's colours.
      new MutationObserver(function () { draw(root, charts); }).observe(document.documentElement, {
        attributes: true,
        attributeFilter: ["class"],
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
