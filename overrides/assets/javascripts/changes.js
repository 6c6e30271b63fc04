// Next/previous change on a redline page (only changes pages load it). Without JavaScript the
// buttons stay invisible (their space kept, so nothing shifts) and the list of changed sections
// still links to every section's first change. Material's instant navigation runs the script
// again each time a changes page is entered: the page is set up then, the document's listeners
// are added once, and everything is looked up at the time of the click.
(function () {
  "use strict";
  if (window.legalChanges) return window.legalChanges();
  var at = { redline: null, index: -1 };

  function setup() {
    document.querySelectorAll("[data-change-nav].legal-needs-js").forEach(function (el) {
      el.classList.add("legal-js-ready");
    });
    var nav = document.querySelector("[data-change-nav]");
    var redline = document.querySelector(".legal-redline");
    if (!nav || !redline) return;
    if (at.redline !== redline) at = { redline: redline, index: -1 };
  }

  function fill(text, values) {
    return text.replace(/\{([a-z_]+)\}/g, function (m, name) { return name in values ? String(values[name]) : m; });
  }

  function go(step) {
    setup();
    var changes = at.redline ? at.redline.querySelectorAll("[data-change]") : [];
    if (!changes.length) return;
    var next = Math.min(Math.max(at.index + step, 0), changes.length - 1);
    if (at.index === -1 && step < 0) next = changes.length - 1;
    at.index = next;
    var target = changes[next];
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
    var status = document.querySelector("[data-change-nav] .legal-change-status");
    // the text comes in the page's language from the site's catalogue (data-text)
    if (status) status.textContent = fill(status.getAttribute("data-text") || "{n} / {total}", { n: next + 1, total: changes.length });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-change-step]");
    if (!button) return;
    event.preventDefault();
    go(Number(button.getAttribute("data-change-step")));
  });
  document.addEventListener("focusin", function (event) {
    // A change reached by a link from the list of sections: next/previous continue from it.
    var change = event.target.closest && event.target.closest("[data-change]");
    if (change && at.redline && at.redline.contains(change)) {
      at.index = Array.prototype.indexOf.call(at.redline.querySelectorAll("[data-change]"), change);
    }
  });
  window.legalChanges = setup;
  setup();
})();
