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

  // Queue: the row actions that need a choice (assignee, a reason) open one shared dialog
  // for the page, filled from the clicked row; its answer replaces that row (htmx), or
  // posts and comes back to the queue without it. Without JS the links open the referral.
  var rowFor = null;
  function openDialog(dialog, action, title) {
    var form = dialog.querySelector("form");
    form.action = action;
    dialog.querySelector("[data-title]").textContent = title;
    dialog.showModal();
    return form;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-assign], [data-reason]");
    var closer = event.target.closest("dialog [data-close]");
    if (closer) {
      closer.closest("dialog").close();
      return;
    }
    if (!link) { return; }
    event.preventDefault();
    rowFor = link.closest("tr");
    var pk = rowFor.getAttribute("data-referral");
    if (link.hasAttribute("data-assign")) {
      var form = openDialog(document.getElementById("assign-dialog"),
                            link.getAttribute("data-assign"), pk);
      form.elements.assignee.value = link.getAttribute("data-assignee");
    } else {
      var label = link.getAttribute("data-label");
      var reasonForm = openDialog(document.getElementById("reason-dialog"),
                                  link.getAttribute("data-reason"), label + " referral " + pk);
      reasonForm.elements.to.value = link.getAttribute("data-to");
      reasonForm.elements.from.value = link.getAttribute("data-from");
      reasonForm.elements.reason.value = "";
      reasonForm.querySelector("[data-submit-label]").textContent = label + " referral";
    }
  });
  document.querySelectorAll("form[data-row-dialog]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.htmx || !rowFor) { return; }
      event.preventDefault();
      form.closest("dialog").close();
      window.htmx.ajax("POST", form.action, {source: form, target: "#" + rowFor.id,
                                             swap: "outerHTML"});
    });
  });

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
