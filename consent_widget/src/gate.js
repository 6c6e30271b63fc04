// Script gating: <script type="text/plain" data-consent="analytics"> runs only once granted.

const SELECTOR = 'script[type="text/plain"][data-consent]';

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
  old.replaceWith(s);
}

/** Run every gated script under ``root`` whose categories are all granted. */
export function activate(granted, root) {
  const found = root.matches && root.matches(SELECTOR) ? [root] : [];
  if (root.querySelectorAll) found.push(...root.querySelectorAll(SELECTOR));
  for (const s of found) if (allowed(s, granted)) run(s);
}

/** Also gate scripts added later: by the parser, other scripts or instant navigation. */
export function watch(granted) {
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 1) activate(granted, n);
  }).observe(document.documentElement, { childList: true, subtree: true });
}
