// Light/dark theme. Loaded synchronously in <head> so the system theme applies before the first
// paint. The server renders the remembered choice (cookie litemaas_theme) as <html data-theme>;
// "system" follows prefers-color-scheme until the user picks with the masthead toggle.
(function () {
  "use strict";
  var root = document.documentElement;
  var COOKIE = "litemaas_theme";
  var DARK_CLASS = "pf-v6-theme-dark";
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function apply(dark) {
    root.classList.toggle(DARK_CLASS, dark);
    var toggles = document.querySelectorAll("[data-theme-toggle]");
    for (var i = 0; i < toggles.length; i++) {
      toggles[i].setAttribute("aria-pressed", dark ? "true" : "false");
    }
  }

  function followSystem() {
    if (root.getAttribute("data-theme") === "system") {
      apply(Boolean(media && media.matches));
    }
  }

  function remember(theme) {
    var secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = COOKIE + "=" + theme + "; Path=/; Max-Age=31536000; SameSite=Lax" + secure;
  }

  followSystem();
  if (media && media.addEventListener) {
    media.addEventListener("change", followSystem);
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest ? event.target.closest("[data-theme-toggle]") : null;
    if (!toggle) {
      return;
    }
    var dark = !root.classList.contains(DARK_CLASS);
    var theme = dark ? "dark" : "light";
    root.setAttribute("data-theme", theme);
    remember(theme);
    apply(dark);
  });

  document.addEventListener("DOMContentLoaded", function () {
    apply(root.classList.contains(DARK_CLASS));
  });
})();
