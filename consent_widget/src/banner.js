// The banner: a <template> in <head>, mounted first in <body> and shown by a class on <html>.
// This much runs inline in <head> (boot.js), so the banner is painted with the page's first
// paint; the rest of the widget loads without blocking it.

const root = () => document.documentElement.classList;

/** Put the banner (a <template> in <head>) first in <body> as soon as the body exists:
 * before the first paint, and first in the tab order. */
export function mountBanner() {
  const mount = () => {
    const tpl = document.getElementById("imr-consent-banner-template");
    if (tpl && !document.getElementById("imr-consent-banner")) document.body.prepend(tpl.content.cloneNode(true));
  };
  if (document.body) return mount();
  new MutationObserver((_, observer) => {
    if (!document.body) return;
    observer.disconnect();
    mount();
  }).observe(document.documentElement, { childList: true });
}

export function showBanner(policyChanged) {
  root().add("imr-consent-ask");
  root().toggle("imr-consent-changed", !!policyChanged);
}

export function hideBanner() {
  root().remove("imr-consent-ask", "imr-consent-changed");
}

