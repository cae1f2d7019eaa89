// Small behaviours htmx does not cover: copy buttons and the confirmation dialog.
// Loaded from static/ so the Content-Security-Policy can forbid inline script.
(function () {
  "use strict";

  // Copy buttons show only where they can work (JavaScript on, a secure origin).
  if (navigator.clipboard && window.isSecureContext) {
    document.documentElement.classList.add("can-copy");
  }

  function copyText(button) {
    var target = document.querySelector(button.getAttribute("data-copy-target"));
    if (!target) return;
    navigator.clipboard.writeText(target.textContent.trim()).then(function () {
      var label = button.querySelector(".copy-label");
      button.classList.add("copied");
      if (label) label.textContent = "Copied";
      setTimeout(function () {
        button.classList.remove("copied");
        if (label) label.textContent = "Copy";
      }, 2000);
    });
  }

  function closeDialog(dialog) {
    if (!dialog) return;
    dialog.close();
    dialog.remove();
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      event.preventDefault();
      copyText(copy);
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      event.preventDefault();
      closeDialog(closer.closest("dialog"));
    }
  });

  // A dialog fragment arrives with `open` (so it also works without JavaScript);
  // re-open it as a modal so focus is trapped and Escape closes it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = event.detail.target.querySelector && event.detail.target.querySelector("dialog");
    if (dialog && dialog.open && !dialog.matches(":modal")) {
      dialog.close();
      dialog.showModal();
      // close() queues a "close" event that arrives after showModal(): only a dialog that is
      // really closed (Cancel, Escape) is removed, or the modal would vanish as it opens.
      dialog.addEventListener("close", function () {
        if (!dialog.open) dialog.remove();
      });
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var dialog = event.detail.elt.closest && event.detail.elt.closest("dialog");
    if (dialog && event.detail.successful) closeDialog(dialog);
  });
})();

// Errors that htmx does not swap (403, 404, 500, an expired form...) still deserve words.
document.addEventListener("htmx:responseError", function (event) {
  var xhr = event.detail.xhr;
  var type = xhr.getResponseHeader("Content-Type") || "";
  var text = type.indexOf("text/plain") === 0 ? xhr.responseText : "Something went wrong. Please try again.";
  var banner = document.getElementById("error-banner");
  if (!banner) {
    banner = document.createElement("div");
    banner.id = "error-banner";
    banner.className = "flash flash-error";
    banner.setAttribute("role", "alert");
    document.querySelector("main").prepend(banner);
  }
  banner.textContent = text;
});
