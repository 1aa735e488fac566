/* Program dashboard charts: reads the json_script "metrics-chart-data" written by
   templates/metrics/dashboard.html and draws one Chart.js chart per canvas[data-chart].
   Each canvas gets data-rendered="true" once Chart.js has drawn it (the browser test and
   anyone debugging can check it). No inline scripts: the page loads this file. */
(function () {
  "use strict";

  var PALETTE = ["#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#6c757d"];

  var markRendered = {
    id: "ipmMarkRendered",
    afterRender: function (chart) {
      chart.canvas.setAttribute("data-rendered", "true");
    }
  };

  function styled(spec, dataset, index) {
    var colour = PALETTE[index % PALETTE.length];
    var out = Object.assign({}, dataset);
    if (spec.type === "doughnut") {
      out.backgroundColor = dataset.data.map(function (_, i) { return PALETTE[i % PALETTE.length]; });
    } else if (spec.type === "bar") {
      out.backgroundColor = colour;
    } else {
      out.borderColor = colour;
      out.backgroundColor = colour;
      out.spanGaps = true;
      out.tension = 0.2;
      out.pointRadius = 3;
    }
    return out;
  }

  function options(spec) {
    var base = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: spec.type === "doughnut" || spec.datasets.length > 1,
                           position: "bottom", labels: { boxWidth: 12 } } }
    };
    if (spec.type !== "doughnut") {
      base.scales = { y: { beginAtZero: true, title: { display: true, text: spec.unit } } };
    }
    return base;
  }

  function draw() {
    var source = document.getElementById("metrics-chart-data");
    if (!source || typeof window.Chart === "undefined") {
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
          labels: spec.labels || data.weeks,
          datasets: spec.datasets.map(function (dataset, i) { return styled(spec, dataset, i); })
        },
        options: options(spec),
        plugins: [markRendered]
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
