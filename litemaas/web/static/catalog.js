// Copy buttons of the model page's examples: data-copy-target names the <code> element to copy.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy-target]") : null;
    if (!button) return;
    var code = document.getElementById(button.getAttribute("data-copy-target"));
    if (!code || !navigator.clipboard) return;
    var label = button.textContent;
    navigator.clipboard.writeText(code.textContent).then(function () {
      button.textContent = button.getAttribute("data-copied-label") || label;
      window.setTimeout(function () { button.textContent = label; }, 1500);
    });
  });
})();
