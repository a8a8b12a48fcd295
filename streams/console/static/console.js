// douane console: the reader's time zone for the server's dates, and the overview's charts
// (Chart.js) drawn from the figures each <canvas data-chart> carries; a bar links to its search.
(function () {
  "use strict";
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var current = document.cookie.split("; ").find(function (c) { return c.indexOf("tz=") === 0; });
  // set on the sign-in page already, so every page after it shows local times
  if (zone && current !== "tz=" + encodeURIComponent(zone)) {
    document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; SameSite=Strict";
  }

  var palette = ["#1f4e79", "#2e7d32", "#6a1b9a", "#c62828", "#ef6c00", "#00838f", "#5d4037",
                 "#455a64", "#ad1457", "#827717"];

  function draw(canvas) {
    if (canvas.dataset.drawn || typeof Chart === "undefined") { return; }
    canvas.dataset.drawn = "1";
    var figure = JSON.parse(canvas.dataset.chart);
    var stacked = figure.type === "stacked";
    var chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: figure.labels,
        datasets: figure.datasets.map(function (set, i) {
          return { label: set.label, data: set.data, maxBarThickness: 48,
                   backgroundColor: set.colour || (stacked ? palette[i] : palette) };
        })
      },
      options: {
        animation: false,
        aspectRatio: stacked ? 3.5 : 1.8,
        indexAxis: stacked ? "x" : "y",
        plugins: { legend: { display: stacked } },
        scales: { x: { stacked: stacked }, y: { stacked: stacked } },
        onHover: function (event, found) {
          event.native.target.style.cursor = found.length ? "pointer" : "default";
        },
        onClick: function (event, found) {
          if (!found.length) { return; }
          var link = figure.datasets[found[0].datasetIndex].links[found[0].index];
          if (link) { window.location.href = link; }
        }
      }
    });
    return chart;
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }
  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:afterSettle", drawAll);
})();
