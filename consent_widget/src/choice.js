// The visitor's stored choice, read from its first-party cookie (what boot.js needs before
// the first paint; store.js writes it).

/** @typedef {{v: number, sid: string, rid: string, rev: string, pv: string, ts: number,
 *   c: Object<string, boolean>, m: string, l: string}} Choice (l: the language it was made in) */

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

/** Is the choice made for the current revision of the texts its visitor read (those of the
 * language it was made in: one choice per site) and not older than the expiry? */
export function isCurrent(rec, cfg, now) {
  const rev = (cfg.revs && cfg.revs[rec && rec.l]) || cfg.rev;
  return !!rec && rec.rev === rev && now - rec.ts < cfg.days * 864e5 && rec.ts <= now + 864e5;
}

