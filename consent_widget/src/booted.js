// What boot.js, inline in <head> and always before the deferred script, has already defined:
// the deferred script takes these from it instead of carrying a second copy. Without it (the
// inline script blocked: a proxy that rewrote it so its CSP hash no longer matches) the widget
// stops here, closed: gated scripts stay inert and nothing is granted.

const boot = window.__imrConsentBoot;
if (!boot) throw Error("imrConsent: inline boot blocked");
export const { readChoice, isCurrent, mountBanner, showBanner, hideBanner } = boot;
