/* Copy buttons: <button data-copy="input-id"> copies that read-only field's value (the
   questionnaire link shown once after it is created). Without clipboard access the field's
   text is selected so Ctrl+C works. No inline scripts (CSP): base.html loads this file. */
(function () {
  "use strict";

  function say(button, text) {
    var status = button.closest(".copy-link");
    status = status && status.querySelector(".copy-status");
    if (status) { status.textContent = text; }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) { return; }
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { say(button, "Copied."); },
        function () { say(button, "Press Ctrl+C (⌘C) to copy the selected link."); });
    } else {
      say(button, "Press Ctrl+C (⌘C) to copy the selected link.");
    }
  });
})();
