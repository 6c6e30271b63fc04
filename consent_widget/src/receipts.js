// Receipts: every choice is posted to the consent API; unsent ones wait and are retried
// on later page views with the same receipt id, so the API stores each exactly once.

import { readChoice } from "./booted.js";
import { loadQueue, saveQueue, loadReceipt, saveReceipt, writeChoice } from "./store.js";

let sending = false;

/** @returns {boolean} should a request that got this status be tried again later? */
const retryable = (status) => status === 404 || status === 408 || status === 429 || status >= 500;

export function enqueue(request) {
  const q = loadQueue().filter((r) => r.receipt_id !== request.receipt_id);
  q.push(request);
  saveQueue(q);
}

/** The API put the receipt in a new subject: the stored choice and the queued receipts follow.
 *  The cookie is rewritten only while it still holds this receipt's choice or a later one
 *  this browser queued (another tab's); a choice written meanwhile by anything else stays. */
function adopt(cfg, request, to) {
  const queue = loadQueue();
  const rec = readChoice();
  const ours = rec && (rec.rid === request.receipt_id || queue.some((r) => r.receipt_id === rec.rid));
  if (ours && rec.sid === request.subject_id) writeChoice(Object.assign({}, rec, { sid: to }), cfg);
  saveQueue(queue.map((r) => (r.subject_id === request.subject_id ? Object.assign({}, r, { subject_id: to }) : r)));
}

export async function flush(cfg) {
  if (sending || !cfg.api) return;
  sending = true;
  try {
    for (const request of loadQueue()) {
      let response;
      // A receipt joins its subject only with proof of holding it: the token of an earlier
      // receipt of that subject. Without one the API starts a new subject (and says which).
      const saved = loadReceipt();
      const headers = { "Content-Type": "application/json" };
      if (saved && saved.sid === request.subject_id && saved.token) headers.Authorization = "Bearer " + saved.token;
      try {
        response = await fetch(cfg.api, {
          method: "POST",
          headers: headers,
          body: JSON.stringify(request),
          credentials: "omit",
          keepalive: true,
        });
      } catch (e) {
        return; // offline or API down: keep the queue for the next page view
      }
      if (!response.ok && retryable(response.status)) return;
      if (response.ok) {
        const body = await response.json().catch(() => ({}));
        const sid = (body.receipt && body.receipt.piiPrincipalId) || request.subject_id;
        if (body.token) saveReceipt({ id: request.receipt_id, sid: sid, token: body.token });
        if (sid !== request.subject_id) adopt(cfg, request, sid);
      }
      saveQueue(loadQueue().filter((r) => r.receipt_id !== request.receipt_id));
    }
  } finally {
    sending = false;
  }
}
