// The banner and the dialog: the markup is rendered by the site, this wires behaviour.
// The banner is a labelled region that never traps focus; the dialog is modal, traps
// focus, closes on Escape and gives focus back to where it was.

import { loadReceipt } from "./store.js";

const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex='-1'])";
let returnFocus = null;

export const dialog = () => document.getElementById("imr-consent-dialog");

/** Open the dialog with the switches showing ``state`` (all off when nothing was chosen). */
export function openDialog(cfg, state) {
  const d = dialog();
  if (!d || d.open) return;
  returnFocus = document.activeElement;
  for (const input of d.querySelectorAll("[data-consent-category]")) {
    const id = input.dataset.consentCategory;
    const cat = cfg.cats.find((c) => c.id === id) || {};
    const refused = state.gpc && cat.gpc;
    input.checked = !refused && !!(state.rec && state.rec.c[id]);
    input.disabled = !!refused || !cfg.policy.version; // no policy in effect: nothing to choose
    const note = d.querySelector('[data-consent-gpc-note="' + id + '"]');
    if (note) note.hidden = !refused;
  }
  const record = d.querySelector("[data-consent-record]");
  if (record) {
    record.hidden = !state.rec;
    if (state.rec) {
      record.querySelector("[data-consent-field=id]").textContent = state.rec.rid;
      const when = new Date(state.rec.ts);
      const date = record.querySelector("[data-consent-field=date]");
      date.textContent = when.toLocaleString(document.documentElement.lang || "en");
      date.dateTime = when.toISOString();
      const link = record.querySelector("[data-consent-field=receipt]");
      const form = document.getElementById("imr-consent-receipt");
      const saved = loadReceipt();
      link.hidden = !(saved && saved.id === state.rec.rid && cfg.receipt && form);
      if (!link.hidden) { // the token goes in the POSTed form, never in the URL
        form.action = cfg.receipt + saved.id;
        form.elements.token.value = saved.token;
      }
    }
  }
  d.showModal();
  const first = d.querySelector("input:not([disabled])") || d.querySelector(FOCUSABLE);
  if (first) first.focus();
}

export function closeDialog() {
  const d = dialog();
  if (d && d.open) d.close();
}

/** @returns {Object<string, boolean>} the switches as the visitor left them. */
export function readSwitches() {
  const out = {};
  for (const input of dialog().querySelectorAll("[data-consent-category]")) {
    out[input.dataset.consentCategory] = input.checked;
  }
  return out;
}

/** Keep Tab inside the open dialog, and give focus back when it closes. */
export function bindDialog() {
  const d = dialog();
  if (!d) return;
  d.addEventListener("keydown", (e) => {
    if (e.key !== "Tab") return;
    const items = Array.from(d.querySelectorAll(FOCUSABLE)).filter((el) => el.offsetParent !== null);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  });
  d.addEventListener("close", () => {
    if (returnFocus && returnFocus.isConnected && returnFocus.focus) returnFocus.focus();
    returnFocus = null;
  });
}
