// Script gating: <script type="text/plain" data-consent="analytics"> runs only once granted.

const SELECTOR = 'script[type="text/plain"][data-consent]';
// Originals stay in place, inert: Material's instant navigation keys <head> elements by
// their markup, so a replaced original would be appended (and run) again on every page.
const done = new WeakSet();

function allowed(script, granted) {
  return script.dataset.consent.split(/\s+/).every((id) => granted(id));
}

function run(old) {
  const s = document.createElement("script");
  for (const a of old.attributes) {
    if (a.name !== "type" && a.name !== "data-consent") s.setAttribute(a.name, a.value);
  }
  if (old.dataset.type) s.type = old.dataset.type;
  s.dataset.consentRan = old.dataset.consent;
  s.text = old.text;
  done.add(old);
  old.after(s);
}

/** Run every gated script under ``root`` whose categories are all granted. */
export function activate(granted, root) {
  const found = root.matches && root.matches(SELECTOR) ? [root] : [];
  if (root.querySelectorAll) found.push(...root.querySelectorAll(SELECTOR));
  for (const s of found) if (!done.has(s) && allowed(s, granted)) run(s);
}

/**
 * Keep gated scripts gated when another loader re-creates them. Material's instant
 * navigation replaces each <script> of the new page with a fresh element that carries
 * only the inline text, which would run a gated script whatever the visitor chose.
 */
function guardReplacements() {
  const replaceWith = Element.prototype.replaceWith;
  Element.prototype.replaceWith = function (...nodes) {
    if (this instanceof HTMLScriptElement && this.matches(SELECTOR)) {
      for (const n of nodes) {
        if (!(n instanceof HTMLScriptElement)) continue;
        n.type = "text/plain";
        n.dataset.consent = this.dataset.consent;
        // A loader that waits for this script's load event would wait forever.
        if (n.src) setTimeout(() => n.dispatchEvent(new Event("load")));
      }
    }
    return replaceWith.apply(this, nodes);
  };
}

/** Also gate scripts added later: by the parser, other scripts or instant navigation. */
export function watch(granted) {
  guardReplacements();
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 1) activate(granted, n);
  }).observe(document.documentElement, { childList: true, subtree: true });
}
