// Questionnaires (one partial: intake wizard, patient link, clinician entry).
// 1. Move focus to the error summary so screen-reader and keyboard users land on what needs
//    fixing.
// 2. Skip logic: an item with data-asked-when-name/-value is shown only while that answer is
//    chosen; while hidden its inputs are disabled, so they are neither focusable nor sent.
//    Without JavaScript every item shows with its "Answer only if" hint and the server
//    ignores answers the skip logic does not ask for (and asks again for missing ones).
(function () {
  function chosen(form, name) {
    var inputs = form.querySelectorAll("input[type=radio]");
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].name === name && inputs[i].checked) { return inputs[i].value; }
    }
    return null;
  }

  function applySkipLogic() {
    var items = document.querySelectorAll("fieldset[data-asked-when-name]");
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      var form = item.closest("form") || document;
      var asked = chosen(form, item.getAttribute("data-asked-when-name")) ===
        item.getAttribute("data-asked-when-value");
      item.hidden = !asked;
      var inputs = item.querySelectorAll("input");
      for (var j = 0; j < inputs.length; j++) { inputs[j].disabled = !asked; }
    }
    var hints = document.querySelectorAll(".asked-when-hint");
    for (var k = 0; k < hints.length; k++) { hints[k].hidden = true; }  // shown by the script
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.type === "radio") { applySkipLogic(); }
  });
  document.addEventListener("htmx:afterSettle", applySkipLogic);  // the intake wizard's steps
  document.addEventListener("DOMContentLoaded", function () {
    applySkipLogic();
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
