// Group visits: ask before destructive form posts (withdraw, cancel a session).
// Forms opt in with data-confirm="question".
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm) {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }
});
