// Outcome trend charts for the patient page. Data comes from the json_script tag
// #outcomes-trends-data written by templates/outcomes/_patient_trends.html:
// {charts: [{id, title, y_min, y_max, thresholds?, series: [{key, label, baseline,
//   band: {low, high} | null, points: [{x: weeks, date, y}], hidden}]}]}
// Colours and axes from static/ipm/charts.js (window.IPMCharts), as on the dashboard.
(function () {
  "use strict";

  var C = window.IPMCharts;

  function flat(value, range) {
    return [{x: range[0], y: value}, {x: range[1], y: value}];
  }

  function datasets(chart, range) {
    var out = [];
    chart.series.forEach(function (s, i) {
      var colour = C.colour(i);
      out.push({
        label: s.label, data: s.points, borderColor: colour, backgroundColor: colour,
        pointRadius: 4, tension: 0, hidden: !!s.hidden, order: 1,
        clip: false,  // the baseline point sits on the axis: draw all of it
      });
      if (s.band) {
        // The MCID band: a change inside it is smaller than the minimal important difference.
        out.push({label: s.label + " MCID band (low)", data: flat(s.band.low, range),
                  borderWidth: 0, pointRadius: 0, fill: false, hidden: !!s.hidden, order: 3,
                  mcid: true});
        out.push({label: s.label + " MCID band", data: flat(s.band.high, range),
                  borderWidth: 0, pointRadius: 0, fill: "-1", hidden: !!s.hidden, order: 3,
                  backgroundColor: "rgba(25, 135, 84, 0.15)", mcid: true});
      }
      if (s.baseline !== null && s.baseline !== undefined && !s.hidden) {
        out.push({label: s.label + " baseline", data: flat(s.baseline, range),
                  borderColor: colour, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0,
                  fill: false, hidden: !!s.hidden, order: 2, helper: true});
      }
    });
    (chart.thresholds || []).forEach(function (t) {
      // Dose thresholds in the risk colours (>= 90 high, >= 50 medium), named in the legend.
      out.push({label: "≥ " + t + " MME/day", data: flat(t, range),
                borderColor: t >= 90 ? C.RISK.high : C.RISK.medium, borderDash: [4, 4],
                borderWidth: 1.5, pointRadius: 0, fill: false, helper: true, order: 4});
    });
    return out;
  }

  function draw(canvas, chart, range) {
    return new window.Chart(canvas, {
      type: "line",
      data: {datasets: datasets(chart, range)},
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, parsing: true,
        layout: {padding: {left: 6, right: 6}},
        scales: {
          x: C.weeksAxis(range[0], range[1]),
          y: C.valueAxis(chart.y_min, chart.y_max, chart.unit || ""),
        },
        plugins: {
          legend: {position: "bottom", labels: {boxWidth: 14, padding: 12, filter: function (item, data) {
            var ds = data.datasets[item.datasetIndex];
            return !ds.mcid || item.text.slice(-9) === "MCID band";
          }}},
          tooltip: {filter: function (item) { return !item.dataset.mcid && !item.dataset.helper; },
                    callbacks: {title: function (items) {
                      var p = items.length ? items[0].raw : null;
                      return p && p.date ? p.date + " (week " + p.x + ")" : "";
                    }}},
        },
      },
    });
  }

  function init() {
    var source = document.getElementById("outcomes-trends-data");
    if (!source || !window.Chart || !C) { return; }
    var data = JSON.parse(source.textContent);
    var axis = C.weeksAxis(data.x_min, data.x_max);
    var range = [axis.min, axis.max];  // one time axis, in whole weeks, for every chart
    data.charts.forEach(function (chart) {
      var canvas = document.querySelector('canvas[data-chart-id="' + chart.id + '"]');
      if (canvas) { draw(canvas, chart, range); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
