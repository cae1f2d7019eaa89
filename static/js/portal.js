// Small behaviours htmx does not cover: copy buttons and the confirmation dialog.
// Loaded from static/ so the Content-Security-Policy can forbid inline script.
(function () {
  "use strict";

  // Copy buttons show only where they can work (JavaScript on, a secure origin).
  if (navigator.clipboard && window.isSecureContext) {
    document.documentElement.classList.add("can-copy");
  }

  // The one polite live region reads the message; a toast shows it for a few seconds.
  function announce(message) {
    var region = document.getElementById("announcer");
    var toasts = document.getElementById("toasts");
    if (!region || !message) return;
    region.textContent = "";
    // Emptied first, so the same message twice in a row is read twice.
    setTimeout(function () { region.textContent = message; }, 50);
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.textContent = message;
    toasts.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 4000);
  }
  window.portalAnnounce = announce;

  // Times arrive in UTC (<time datetime="...Z">); shown in the person's own time zone, with
  // the UTC time kept in the tooltip.
  function pad(n) { return String(n).padStart(2, "0"); }

  function showLocalTimes(root) {
    root.querySelectorAll('time[datetime$="Z"]:not([data-local])').forEach(function (time) {
      var utc = time.getAttribute("datetime");
      var when = new Date(utc);
      if (isNaN(when)) return;
      var seconds = /\d:\d\d:\d\d/.test(time.textContent) ? ":" + pad(when.getSeconds()) : "";
      time.title = utc.replace("T", " ").replace(/(:\d\d)(:\d\d)?(\.\d+)?Z$/, "$1$2 UTC");
      time.textContent = when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" +
        pad(when.getDate()) + " " + pad(when.getHours()) + ":" + pad(when.getMinutes()) + seconds;
      time.setAttribute("data-local", "");
    });
  }
  showLocalTimes(document);
  document.addEventListener("htmx:load", function (event) { showLocalTimes(event.detail.elt); });

  // Views send HX-Trigger: {"announce": "Key saved"}; htmx fires it as an event.
  document.body.addEventListener("announce", function (event) {
    announce(event.detail && event.detail.value);
  });

  function copyText(button) {
    var target = document.querySelector(button.getAttribute("data-copy-target"));
    if (!target) return;
    // The full value is copied, even where the chip shows it shortened.
    var value = target.getAttribute("data-value") || target.textContent.trim();
    navigator.clipboard.writeText(value).then(function () {
      var label = button.querySelector(".copy-label");
      button.classList.add("copied");
      announce("Copied");
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

  // After a swap, focus goes where the next action is: the swapped part names it with
  // data-focus (the Save button, the secret's Copy button...). Parts that refresh themselves on
  // keys-changed never take focus, except to land on the row after a deleted one.
  var focusAfterRefresh = null;

  function visible(element) {
    return element && element.getClientRects().length > 0;
  }

  function focusIn(root) {
    var candidates = root.matches("[data-focus]") ? [root] : [];
    candidates = candidates.concat(Array.prototype.slice.call(root.querySelectorAll("[data-focus]")));
    var target = candidates.filter(visible)[0];
    if (target) target.focus();
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    // htmx fires it on each swapped-in element (for outerHTML, not on the old target).
    var root = event.target;
    if (!root.isConnected || !root.querySelectorAll) return;
    if (root.id === "key-table" && focusAfterRefresh) {
      var next = focusAfterRefresh();
      focusAfterRefresh = null;
      if (next) next.focus();
      return;
    }
    if (!root.hasAttribute("data-refreshes")) focusIn(root);
  });

  // Deleting a key: once the table is fetched again, focus the next row's actions (or the
  // previous row's, or the key name field when none is left).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var rowSelector = event.detail.elt.getAttribute("data-deletes-row");
    if (!rowSelector) return;
    var row = document.querySelector(rowSelector);
    var neighbour = row && (row.nextElementSibling || row.previousElementSibling);
    var neighbourId = neighbour && neighbour.id;
    focusAfterRefresh = function () {
      var next = neighbourId && document.getElementById(neighbourId);
      return (next && next.querySelector("[data-focus]")) || document.getElementById("key-name");
    };
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
