// Referral queue and MDT pages: small progressive enhancements (everything works without).
(function () {
  "use strict";

  // Queue: "select all" ticks every row checkbox on the page (rows belong to #bulk-form).
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="ids"][form="bulk-form"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }

  // MDT: show only the fields of the chosen decision.
  function syncDecision(form) {
    var chosen = form.querySelector('input[type="radio"]:checked');
    form.querySelectorAll("[data-for]").forEach(function (part) {
      part.hidden = !chosen || part.getAttribute("data-for") !== chosen.value;
    });
  }
  document.querySelectorAll("[data-decision-form]").forEach(function (form) {
    syncDecision(form);
    form.addEventListener("change", function () { syncDecision(form); });
  });

  // MDT: print the one-page agenda.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
