// The language selector: the same page in the chosen language, loaded in full. Material's
// instant navigation would swap only the page's content and keep the header, the footer and
// the cookie banner and dialog in the language left; and its selector links are those of the
// first page loaded. The choice of cookies is one per site: the cookie is the same at every root.
(function () {
  "use strict";
  var node = document.getElementById("legal-languages");
  if (!node) return;
  var roots = JSON.parse(node.textContent);
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[hreflang].md-select__link");
    if (!link || !roots[link.hreflang] || e.ctrlKey || e.metaKey || e.shiftKey) return;
    var here = location.pathname, from = roots[document.documentElement.lang] || "/";
    Object.keys(roots).forEach(function (lang) {  // the longest root this page is under
      if (here.indexOf(roots[lang]) === 0 && roots[lang].length > from.length) from = roots[lang];
    });
    var rest = here.indexOf(from) === 0 ? here.slice(from.length) : "";
    e.preventDefault();
    e.stopImmediatePropagation();
    location.assign(roots[link.hreflang] + rest + location.hash);
  }, true);
})();
