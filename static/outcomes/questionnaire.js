// Patient questionnaire: move focus to the error summary so screen-reader and keyboard
// users land on what needs fixing.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
});
