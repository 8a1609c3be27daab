// Small behaviours of the page layout (no framework): the sidebar toggle and closing alerts.
(function () {
  "use strict";
  // PatternFly shows the sidebar beside the content from its xl breakpoint (75rem) up.
  var wide = window.matchMedia("(min-width: 75rem)");

  function sidebarOpen(sidebar) {
    return wide.matches ? !sidebar.classList.contains("pf-m-collapsed") : sidebar.classList.contains("pf-m-expanded");
  }

  function syncToggle() {
    var sidebar = document.getElementById("page-sidebar");
    var toggle = document.querySelector("[data-sidebar-toggle]");
    if (sidebar && toggle) {
      var open = sidebarOpen(sidebar);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      // Off-screen links must not take keyboard focus.
      sidebar.inert = !open;
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) {
      return;
    }
    if (target.closest("[data-sidebar-toggle]")) {
      var sidebar = document.getElementById("page-sidebar");
      if (sidebar) {
        var open = sidebarOpen(sidebar);
        sidebar.classList.toggle(wide.matches ? "pf-m-collapsed" : "pf-m-expanded", open === wide.matches);
        sidebar.classList.remove(wide.matches ? "pf-m-expanded" : "pf-m-collapsed");
        syncToggle();
      }
      return;
    }
    var close = target.closest("[data-dismiss-alert]");
    if (close) {
      var item = close.closest(".pf-v6-c-alert-group__item, .pf-v6-c-alert");
      if (item) {
        item.remove();
      }
    }
  });

  if (wide.addEventListener) {
    wide.addEventListener("change", function () {
      var sidebar = document.getElementById("page-sidebar");
      if (sidebar) {
        sidebar.classList.remove("pf-m-expanded", "pf-m-collapsed");
      }
      syncToggle();
    });
  }
  syncToggle();
})();
