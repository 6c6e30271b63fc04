// The consent widget, loaded deferred: boot.js (inline in <head>) has already set Consent
// Mode defaults and shown the banner if a choice is needed; this wires the choice, the
// dialog, receipts and script gating, and the public API. Gated scripts stay inert
// (type="text/plain") until it runs.

import { updateConsentMode, gtag } from "./consentmode.js";
import { activate, watch } from "./gate.js";
import { enqueue, flush } from "./receipts.js";
import { readChoice, isCurrent, mountBanner, showBanner, hideBanner } from "./booted.js";
import { writeChoice, deleteCookies, uuid } from "./store.js";
import { openDialog, closeDialog, readSwitches, bindDialog } from "./ui.js";

const cfg = JSON.parse(document.getElementById("imr-consent-config").textContent);
const gpc = navigator.globalPrivacyControl === true;
const optional = cfg.cats.filter((c) => !c.req);
// Before the privacy policy's first version takes effect there is nothing to agree to: no
// banner, no receipt, no optional category (the dialog says when choices open).
const open = !!cfg.policy.version;
let rec = readChoice();
let current = open && isCurrent(rec, cfg, Date.now());

/** Is a category allowed now? Required ones always; others only by a current choice. */
function granted(id) {
  const cat = cfg.cats.find((c) => c.id === id);
  if (!cat) return false;
  if (cat.req) return true;
  return current && !(gpc && cat.gpc) && !!rec.c[id];
}

function apply(choices) {
  for (const cat of cfg.cats) if (choices[cat.id] && cat.set) gtag("set", cat.set);
  updateConsentMode(cfg, choices);
}

function choose(wanted, method) {
  if (!open) return;
  const before = current ? rec.c : {};
  const c = {};
  for (const cat of cfg.cats) c[cat.id] = cat.req || (!(gpc && cat.gpc) && !!wanted[cat.id]);
  const withdrawn = cfg.cats.filter((cat) => before[cat.id] && !c[cat.id]);
  if (withdrawn.length && method === "dialog") method = "withdrawal";
  const stored = readChoice(); // its subject may have been changed by the API since the page loaded
  rec = { v: 1, sid: (stored && stored.sid) || (rec && rec.sid) || uuid(), rid: uuid(), rev: cfg.rev, pv: cfg.policy.anchor,
    ts: Date.now(), c: c, m: method, l: cfg.lang };
  current = true;
  writeChoice(rec, cfg);
  hideBanner();
  closeDialog();
  apply(c);
  enqueue({
    receipt_id: rec.rid, subject_id: rec.sid, config_revision: cfg.rev,
    policy: { id: cfg.policy.id, version: cfg.policy.version }, choices: c, method: method, gpc: gpc,
    language: cfg.lang, page: location.origin + location.pathname,
    consented_at: new Date(rec.ts).toISOString(),
  });
  flush(cfg);
  document.dispatchEvent(new CustomEvent("consent:change", { detail: { choices: Object.assign({}, c), previous: before, method: method } }));
  if (withdrawn.length) {
    deleteCookies(withdrawn.flatMap((cat) => cat.cookies || []));
    const ran = withdrawn.some((cat) => document.querySelector('script[data-consent-ran~="' + cat.id + '"]'));
    if (ran) location.reload(); // scripts that already ran cannot be stopped otherwise
  } else {
    activate(granted, document);
  }
}

const all = (value) => Object.fromEntries(optional.map((c) => [c.id, value]));

if (open) mountBanner(); // boot.js has mounted it already (or waits for <body>): this does nothing then
if (current && gpc && optional.some((c) => c.gpc && rec.c[c.id])) {
  choose(rec.c, "gpc"); // the signal wins over an earlier choice
} else if (!current && gpc && optional.every((c) => c.gpc)) {
  choose(all(false), "gpc"); // nothing left to ask
}
if (current) apply(rec.c);
else if (open) showBanner(rec && rec.pv !== cfg.policy.anchor);
watch(granted);

document.addEventListener("click", (e) => {
  const el = e.target.closest && e.target.closest("[data-consent-action], [data-consent-open]");
  if (!el) return;
  e.preventDefault();
  const action = el.dataset.consentAction || "open";
  if (action === "accept") choose(all(true), el.closest("dialog") ? "dialog" : "banner");
  else if (action === "reject") choose(all(false), el.closest("dialog") ? "dialog" : "banner");
  else if (action === "save") choose(readSwitches(), "dialog");
  else if (action === "close") closeDialog();
  else openDialog(cfg, { rec: current ? rec : null, gpc: gpc });
});

document.addEventListener("DOMContentLoaded", () => {
  bindDialog();
  activate(granted, document);
  flush(cfg);
});
addEventListener("online", () => flush(cfg));

window.imrConsent = Object.freeze({
  /** @returns {boolean|null} true or false once chosen; null while nothing is chosen (false
   *  for optional categories while no privacy policy is in effect: nothing can be chosen) */
  get: (id) => (cfg.cats.some((c) => c.id === id && c.req) ? true : !open ? false : current ? granted(id) : null),
  choices: () => (current ? Object.assign({}, rec.c) : null),
  open: () => openDialog(cfg, { rec: current ? rec : null, gpc: gpc }),
  revision: cfg.rev,
});
