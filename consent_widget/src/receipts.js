// Receipts: every choice is posted to the consent API; unsent ones wait and are retried
// on later page views with the same receipt id, so the API stores each exactly once.

import { loadQueue, saveQueue, saveReceipt } from "./store.js";

let sending = false;

/** @returns {boolean} should a request that got this status be tried again later? */
const retryable = (status) => status === 404 || status === 408 || status === 429 || status >= 500;

export function enqueue(request) {
  const q = loadQueue().filter((r) => r.receipt_id !== request.receipt_id);
  q.push(request);
  saveQueue(q);
}

export async function flush(cfg) {
  if (sending || !cfg.api) return;
  sending = true;
  try {
    for (const request of loadQueue()) {
      let response;
      try {
        response = await fetch(cfg.api, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
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
        if (body.token) saveReceipt({ id: request.receipt_id, token: body.token });
      }
      saveQueue(loadQueue().filter((r) => r.receipt_id !== request.receipt_id));
    }
  } finally {
    sending = false;
  }
}
