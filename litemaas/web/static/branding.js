// Admin console, branding: the preview follows the form (texts as typed, a picked image read
// locally as a data: URL); nothing is sent until the admin saves or uploads.
(function () {
  "use strict";
  var DEFAULT_TITLE = "LiteMaaS";

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }

  function showTitleFallbacks() {
    each("[data-preview-fallback]", function (el) {
      var img = document.querySelector('[data-preview-slot="' + el.getAttribute("data-preview-fallback") + '"]');
      el.hidden = Boolean(img && !img.hidden && img.getAttribute("src"));
    });
  }

  function onText(event) {
    var field = event.target.getAttribute("data-preview-source");
    var value = event.target.value.trim();
    if (field === "title") {
      each("[data-preview-title]", function (el) { el.textContent = value || DEFAULT_TITLE; });
    } else {
      each("[data-preview-" + field + "]", function (el) {
        if (!el.hasAttribute("data-default")) { el.setAttribute("data-default", el.textContent); }
        el.textContent = value || el.getAttribute("data-default");
      });
    }
  }

  function onFile(event) {
    var slot = event.target.getAttribute("data-preview-image");
    var file = event.target.files && event.target.files[0];
    if (!file) { return; }
    var reader = new FileReader();
    reader.onload = function () {
      var targets = [slot];
      // The dark header and the login page fall back to the light logo.
      if (slot === "logo_light") { targets.push("logo_dark", "login_logo"); }
      targets.forEach(function (name, index) {
        var img = document.querySelector('[data-preview-slot="' + name + '"]');
        if (!img) { return; }
        if (index > 0 && img.getAttribute("data-own") === "true") { return; }
        img.src = reader.result;
        img.hidden = false;
        if (index === 0) { img.setAttribute("data-own", "true"); }
      });
      showTitleFallbacks();
    };
    reader.readAsDataURL(file);
  }

  document.addEventListener("DOMContentLoaded", function () {
    each("[data-preview-source]", function (el) { el.addEventListener("input", onText); });
    each("[data-preview-image]", function (el) { el.addEventListener("change", onFile); });
  });
})();
