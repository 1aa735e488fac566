/* Program dashboard charts: reads the json_script "metrics-chart-data" written by
   templates/metrics/dashboard.html and draws one Chart.js chart per canvas[data-chart].
   Colours and axes come from static/ipm/charts.js (window.IPMCharts): risk charts use the
   badges' risk colours, counts get whole-number ticks, every other series its own colour.
   Each canvas gets data-rendered="true" once Chart.js has drawn it (the browser test and
   anyone debugging can check it). No inline scripts: the page loads this file. */
(function () {
  "use strict";

  var C = window.IPMCharts;

  function styled(spec, dataset, index) {
    var out = Object.assign({}, dataset);
    var colour = C.colour(index);
    if (spec.keys && spec.colour_by === "risk") {
      out.backgroundColor = spec.keys.map(function (key) { return C.RISK[key] || C.RISK.none; });
      out.borderColor = "#fff";
    } else if (spec.type === "bar") {
      out.backgroundColor = colour;
      out.borderColor = colour;
    } else {
      out.borderColor = colour;
      out.backgroundColor = colour;
      out.spanGaps = true;
      out.tension = 0.2;
      out.pointRadius = 3;
      out.borderDash = index % 2 ? [6, 3] : [];  // two lines never read as one
    }
    return out;
  }

  function options(spec) {
    var base = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {legend: {display: spec.type === "doughnut" || spec.datasets.length > 1,
                          position: "bottom", labels: {boxWidth: 12}}}
    };
    if (spec.type !== "doughnut") {
      base.scales = {
        x: {ticks: {maxRotation: 0, autoSkip: true, autoSkipPadding: 12}},
        y: spec.integer ? C.countAxis(spec.unit)
                        : Object.assign(C.countAxis(spec.unit), {ticks: {}})
      };
      if (spec.max !== undefined) { base.scales.y.max = spec.max; }
    }
    return base;
  }

  function draw() {
    var source = document.getElementById("metrics-chart-data");
    if (!source || typeof window.Chart === "undefined" || !C) {
      return;
    }
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = data.charts[canvas.getAttribute("data-chart")];
      if (!spec) {
        return;
      }
      new window.Chart(canvas, {
        type: spec.type,
        data: {
          labels: spec.labels || data.week_labels || data.weeks,
          datasets: spec.datasets.map(function (dataset, i) { return styled(spec, dataset, i); })
        },
        options: options(spec),
        plugins: [C.markRendered]
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
