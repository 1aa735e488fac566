/* One palette and one set of axes for every chart (dashboard, patient trends).

   Loaded before a page's own chart script; exposes window.IPMCharts:
   - RISK: the risk colours, the same as the badges in static/ipm/app.css
     (low green, medium amber, high red);
   - colour(i): the i-th series colour (distinct, readable on white, colour-blind safe order);
   - countAxis(title): a y axis from 0 with whole-number ticks (patients, referrals);
   - valueAxis(min, max, title): a fixed range (an instrument's scale) with round ticks;
   - weeksAxis(min, max): "weeks since intake" in whole weeks, at least the first follow-up
     (6 weeks) wide, with room so the baseline point at week 0 is not clipped;
   - markRendered: a plugin that sets data-rendered="true" on the canvas once drawn.
   No inline scripts (CSP): pages load this file. */
(function () {
  "use strict";

  var RISK = {low: "#146c43", medium: "#ffc107", high: "#b02a37", none: "#6c757d"};
  // Okabe-Ito order, darkened where needed for 3:1 against white.
  var SERIES = ["#0a58ca", "#c45a00", "#117a65", "#8e3b8e", "#b8860b", "#3b6ea5", "#6c757d"];
  var FIRST_FOLLOW_UP_WEEKS = 6;

  function colour(i) { return SERIES[i % SERIES.length]; }

  function niceStep(span, target) {
    var raw = span / (target || 5);
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * power >= raw) { return steps[i] * power; }
    }
    return 10 * power;
  }

  function title(text) {
    return text ? {display: true, text: text} : {display: false};
  }

  function countAxis(text) {
    return {beginAtZero: true, title: title(text), ticks: {precision: 0}};
  }

  function valueAxis(min, max, text) {
    var step = niceStep(max - min, 5);
    return {min: min, max: max, title: title(text),
            ticks: {stepSize: step, precision: step >= 1 ? 0 : 1},
            // The axis ends on max (27 for PHQ-9, 110 MME): drop a round tick so close to it
            // that the two labels would overlap (100 under 110).
            afterBuildTicks: function (axis) {
              axis.ticks = axis.ticks.filter(function (t) {
                return t.value === max || max - t.value >= step / 2;
              });
            }};
  }

  function weeksAxis(min, max) {
    var lo = Math.min(0, Math.floor(min || 0));
    var hi = Math.max(Math.ceil(max || 0), lo + FIRST_FOLLOW_UP_WEEKS);
    var step = Math.max(1, Math.round(niceStep(hi - lo, 8)));
    hi = lo + Math.ceil((hi - lo) / step) * step;  // end on a labelled week (30, not 27)
    return {type: "linear", min: lo, max: hi, offset: false,
            title: title("Weeks since intake"), ticks: {stepSize: step, precision: 0}};
  }

  var markRendered = {
    id: "ipmMarkRendered",
    afterRender: function (chart) { chart.canvas.setAttribute("data-rendered", "true"); }
  };

  window.IPMCharts = {RISK: RISK, SERIES: SERIES, colour: colour, countAxis: countAxis,
                      valueAxis: valueAxis, weeksAxis: weeksAxis, markRendered: markRendered};
})();
