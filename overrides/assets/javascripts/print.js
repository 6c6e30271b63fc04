// The Print button of a version page (only version pages load it). Without JavaScript it stays
// invisible, its space kept. Material's instant navigation runs the script again each time a
// version page is entered: the button is shown then, the click listener is added once.
(function () {
  "use strict";
  function setup() {
    document.querySelectorAll("[data-print].legal-needs-js").forEach(function (el) { el.classList.add("legal-js-ready"); });
  }
  if (!window.legalPrint) {
    document.addEventListener("click", function (event) {
      if (event.target.closest && event.target.closest("[data-print]")) window.print();
    });
    window.legalPrint = true;
  }
  setup();
})();
