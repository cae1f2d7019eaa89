// The API docs: language tabs for the code examples (the ARIA tabs pattern) and the menu,
// which is a disclosure on phones. Without JavaScript every language shows, and the menu is open.
(function () {
  "use strict";

  var STORAGE_KEY = "docs-language";
  var tabSets = Array.prototype.slice.call(document.querySelectorAll("[data-code-tabs]"));

  function tabsOf(set) {
    return Array.prototype.slice.call(set.querySelectorAll('[role="tab"]'));
  }

  function enhance(set) {
    set.classList.add("is-tabbed");
    set.querySelector('[role="tablist"]').hidden = false;
    tabsOf(set).forEach(function (tab) {
      var panel = document.getElementById(tab.getAttribute("aria-controls"));
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
    });
    show(set, set.querySelector('[aria-selected="true"]').getAttribute("data-language"));
  }

  function show(set, language) {
    var chosen = set.querySelector('[role="tab"][data-language="' + language + '"]');
    if (!chosen) return;
    tabsOf(set).forEach(function (tab) {
      var selected = tab === chosen;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.tabIndex = selected ? 0 : -1;
      document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
    });
  }

  // One choice for the whole page (an integrator reads one language), kept in place on screen:
  // the sets above change height too, so scroll by what the chosen tab moved.
  function choose(tab) {
    var before = tab.getBoundingClientRect().top;
    var language = tab.getAttribute("data-language");
    tabSets.forEach(function (set) { show(set, language); });
    window.scrollBy(0, tab.getBoundingClientRect().top - before);
    try { localStorage.setItem(STORAGE_KEY, language); } catch (error) { /* private mode */ }
  }

  var KEYS = { ArrowRight: 1, ArrowLeft: -1 };

  function onKey(event) {
    var tab = event.target.closest && event.target.closest('[role="tab"]');
    if (!tab) return;
    var tabs = tabsOf(tab.closest("[data-code-tabs]"));
    var index = tabs.indexOf(tab);
    var next = null;
    if (event.key in KEYS) next = tabs[(index + KEYS[event.key] + tabs.length) % tabs.length];
    else if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[tabs.length - 1];
    if (!next) return;
    event.preventDefault();
    choose(next);
    next.focus();
  }

  tabSets.forEach(enhance);
  var saved = null;
  try { saved = localStorage.getItem(STORAGE_KEY); } catch (error) { /* private mode */ }
  if (saved) tabSets.forEach(function (set) { show(set, saved); });
  document.addEventListener("keydown", onKey);
  document.addEventListener("click", function (event) {
    var tab = event.target.closest && event.target.closest('[role="tab"]');
    if (tab && tab.closest("[data-code-tabs]")) choose(tab);
  });

  // The menu: always open beside the page; on phones a bar that opens over it.
  var menu = document.querySelector("[data-docs-menu]");
  if (!menu) return;
  menu.parentNode.classList.add("is-enhanced");
  var phone = window.matchMedia("(max-width: 900px)");
  function fit() { menu.open = !phone.matches; }
  fit();
  phone.addEventListener("change", fit);
  menu.addEventListener("click", function (event) {
    if (phone.matches && event.target.closest("a")) menu.open = false;
  });
  menu.addEventListener("keydown", function (event) {
    if (phone.matches && event.key === "Escape" && menu.open) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });

  // The menu marks the section being read: the last one to reach the top third of the screen.
  if (!("IntersectionObserver" in window)) return;
  var linkOf = {};
  menu.querySelectorAll('a[href^="#"]').forEach(function (link) {
    linkOf[link.getAttribute("href").slice(1)] = link;
  });
  var current = null;
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting) return;
      if (current) current.removeAttribute("aria-current");
      current = linkOf[entry.target.id];
      current.setAttribute("aria-current", "location");
    });
  }, { rootMargin: "0px 0px -67% 0px" });
  Object.keys(linkOf).forEach(function (id) {
    var section = document.getElementById(id);
    if (section) observer.observe(section);
  });
})();
