// taskhub web app: small enhancements over pages that work without script.
// - due dates: show and edit them in the browser's timezone, send its offset;
// - completing a task toggles it in place instead of reloading the page;
// - a delete asks for confirmation first.
"use strict";

(function () {
  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function localValue(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  // The server renders UTC; show local time instead.
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var date = new Date(el.getAttribute("datetime"));
    if (!isNaN(date)) {
      el.textContent = date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    }
  });

  // datetime-local inputs arrive holding UTC: shift them to local time once, and mark
  // the form so the server is told the offset of the chosen local time when sent.
  document.querySelectorAll("input[data-local-time]").forEach(function (input) {
    var form = input.form;
    var offsetField = form && form.querySelector("input[data-tz-offset]");
    if (!offsetField) return;
    var invalid = input.getAttribute("aria-invalid") === "true";
    if (input.value && !invalid) {
      var utc = new Date(input.value + "Z");
      if (!isNaN(utc)) input.value = localValue(utc);
    }
    var hint = document.getElementById(input.id + "-hint");
    if (hint) hint.textContent = "Your local time";
    form.addEventListener("submit", function () {
      var chosen = input.value ? new Date(input.value) : new Date();
      // getTimezoneOffset is minutes west of UTC; the server wants minutes east.
      offsetField.value = isNaN(chosen) ? "" : String(-chosen.getTimezoneOffset());
    });
  });

  document.querySelectorAll("form[data-inline-complete]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      var done = form.querySelector("input[name=done]");
      button.disabled = true;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-Taskhub-Inline": "1" },
      }).then(function (response) {
        if (response.status !== 204) {
          form.submit(); // let the server show what went wrong
          return;
        }
        var nowDone = done.value === "true";
        button.setAttribute("aria-checked", nowDone ? "true" : "false");
        done.value = nowDone ? "false" : "true";
        var item = form.closest("[data-task]");
        if (item) item.classList.toggle("done", nowDone);
        button.disabled = false;
        button.focus();
      }, function () {
        form.submit();
      });
    });
  });

  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();
