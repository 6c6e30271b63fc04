// Writing the visitor's choice (choice.js reads it), deleting cookies, and the queue of unsent
// receipts.

import { COOKIE } from "./choice.js";

const QUEUE_KEY = "imr_consent_queue";
const RECEIPT_KEY = "imr_consent_receipt";

export function writeChoice(rec, cfg) {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = COOKIE + "=" + encodeURIComponent(JSON.stringify(rec)) +
    "; Max-Age=" + cfg.days * 86400 + "; Path=/; SameSite=Lax" + secure;
}

/** Delete every cookie whose name matches one of the patterns (``*`` is a wildcard). */
export function deleteCookies(patterns) {
  const res = patterns.map((p) => new RegExp("^" + p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$"));
  const parts = location.hostname.split(".");
  const domains = [""];
  for (let i = 0; i < parts.length - 1; i++) domains.push("; Domain=." + parts.slice(i).join("."));
  for (const c of document.cookie.split("; ")) {
    const name = c.split("=")[0];
    if (!name || !res.some((re) => re.test(name))) continue;
    for (const d of domains) document.cookie = name + "=; Max-Age=0; Path=/" + d;
  }
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}

function load(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null") || fallback;
  } catch (e) {
    return fallback;
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (e) {
    /* storage full or blocked: the choice still applies, only the retry is lost */
  }
}

/** @returns {Array<Object>} receipt requests not yet acknowledged by the API. */
export const loadQueue = () => load(QUEUE_KEY, []);
export const saveQueue = (q) => save(QUEUE_KEY, q.slice(-20));
/** The last receipt the API acknowledged: its id and the token that proves it is the visitor's. */
export const loadReceipt = () => load(RECEIPT_KEY, null);
export const saveReceipt = (r) => save(RECEIPT_KEY, r);
