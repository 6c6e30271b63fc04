// Google Consent Mode v2: all denied by default before any tag, updated on every choice.

const SIGNALS = ["ad_storage", "analytics_storage", "ad_user_data", "ad_personalization"];

export function gtag() {
  (window.dataLayer = window.dataLayer || []).push(arguments);
}

export function setDefaults() {
  const s = { wait_for_update: 500 };
  for (const k of SIGNALS) s[k] = "denied";
  gtag("consent", "default", s);
}

/** Send the granted/denied state of every signal the inventory maps to categories. */
export function updateConsentMode(cfg, choices) {
  const s = {};
  for (const k of SIGNALS) s[k] = "denied";
  for (const cat of cfg.cats) {
    for (const k of cat.cm || []) if (choices[cat.id]) s[k] = "granted";
  }
  gtag("consent", "update", s);
}
