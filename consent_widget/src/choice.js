// The visitor's stored choice, read from its first-party cookie (what boot.js needs before
// the first paint; store.js writes it).

/** @typedef {{v: number, sid: string, rid: string, rev: string, pv: string, ts: number,
 *   c: Object<string, boolean>, m: string}} Choice */

export const COOKIE = "imr_consent";

/** @returns {Choice|null} the stored choice, whatever its revision or age. */
export function readChoice() {
  const raw = document.cookie.split("; ").find((c) => c.startsWith(COOKIE + "="));
  if (!raw) return null;
  try {
    const rec = JSON.parse(decodeURIComponent(raw.slice(COOKIE.length + 1)));
    return rec && rec.v === 1 && typeof rec.c === "object" && typeof rec.ts === "number" ? rec : null;
  } catch (e) {
    return null;
  }
}

/** Is the choice made for this revision of the config and not older than the expiry? */
export function isCurrent(rec, cfg, now) {
  return !!rec && rec.rev === cfg.rev && now - rec.ts < cfg.days * 864e5 && rec.ts <= now + 864e5;
}

