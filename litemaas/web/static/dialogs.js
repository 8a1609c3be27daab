// Modal dialogs loaded by htmx into #dialog-host: opened modal (the rest of the page is inert),
// focus kept inside (Tab and Shift+Tab wrap), Escape or a [data-dialog-close] button closes,
// and a closed dialog is removed from the document (a shown-once secret goes with it).
// Also: copy buttons ([data-copy-target]) and the 4xx form answers that replace a dialog.
(function () {
  "use strict";
  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
    'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  var opener = null;

  function focusables(dialog) {
    return Array.prototype.filter.call(dialog.querySelectorAll(FOCUSABLE), function (el) {
      return el.getClientRects().length > 0;
    });
  }

  function open(dialog) {
    if (!dialog.open) {
      dialog.showModal();
    }
    // A form shown again with an error: focus the field at fault.
    var first = dialog.querySelector('[aria-invalid="true"]') || dialog.querySelector("[autofocus]") ||
      focusables(dialog)[0];
    if (first) {
      first.focus();
    }
  }

  function host() {
    return document.getElementById("dialog-host");
  }

  function restoreFocus() {
    var target = opener && document.contains(opener) ? opener : document.getElementById("main-content");
    if (target) {
      target.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) {
      return;
    }
    var launcher = target.closest('[hx-target="#dialog-host"]');
    if (launcher && !launcher.closest("dialog")) {
      opener = launcher;
    }
    var close = target.closest("[data-dialog-close]");
    if (close) {
      var dialog = close.closest("dialog");
      if (dialog) {
        dialog.close();
      }
      return;
    }
    var copy = target.closest("[data-copy-target]");
    if (copy) {
      var field = document.getElementById(copy.getAttribute("data-copy-target"));
      var status = copy.closest("dialog") && copy.closest("dialog").querySelector("[data-copy-status]");
      if (field) {
        var done = function () {
          if (status) {
            status.textContent = status.getAttribute("data-copied") || "";
          }
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(field.value).then(done, function () {
            field.select();
          });
        } else {
          field.select();
        }
      }
    }
  });

  // Focus trap: the native modal makes the page inert; Tab must also wrap inside the dialog.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") {
      return;
    }
    var dialog = event.target.closest ? event.target.closest("dialog[open]") : null;
    dialog = dialog || document.querySelector("dialog.lm-dialog[open]");
    if (!dialog) {
      return;
    }
    var items = focusables(dialog);
    if (!items.length) {
      event.preventDefault();
      return;
    }
    var first = items[0];
    var last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  });

  // "close" does not bubble: listen in the capture phase. Escape closes natively (then "close").
  document.addEventListener(
    "close",
    function (event) {
      var dialog = event.target;
      if (dialog.classList && dialog.classList.contains("lm-dialog")) {
        dialog.remove();
        restoreFocus();
      }
    },
    true
  );

  document.addEventListener("htmx:afterSwap", function (event) {
    var container = host();
    if (!container || event.detail.target !== container) {
      return;
    }
    var dialog = container.querySelector("dialog.lm-dialog");
    if (dialog) {
      open(dialog);
    } else {
      restoreFocus();
    }
  });
})();
