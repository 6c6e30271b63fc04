// The part of the widget that runs before the first paint, inline in <head> and before any
// tag: Google Consent Mode defaults (all denied), and the decision to ask, so that the banner
// is painted with the page. Everything else (the dialog, receipts, gating, the public API)
// is the deferred script (main.js), which never delays the page's first paint.

import { readChoice, isCurrent } from "./choice.js";
import { setDefaults } from "./consentmode.js";
import { mountBanner, showBanner, hideBanner } from "./banner.js";

// The deferred script (main.js, through booted.js) uses these rather than shipping them twice.
Object.defineProperty(window, "__imrConsentBoot", { value: Object.freeze({ readChoice, isCurrent, mountBanner, showBanner, hideBanner }) });

const bootCfg = JSON.parse(document.getElementById("imr-consent-config").textContent);
setDefaults();
if (bootCfg.policy.version) {
  const stored = readChoice();
  // Nothing is asked when Global Privacy Control already answers every optional category.
  const answered = navigator.globalPrivacyControl === true && bootCfg.cats.every((c) => c.req || c.gpc);
  mountBanner();
  if (!isCurrent(stored, bootCfg, Date.now()) && !answered) showBanner(stored && stored.pv !== bootCfg.policy.anchor);
}
