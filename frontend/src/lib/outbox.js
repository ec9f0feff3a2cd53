/**
 * The outbox of reads: a submission is written to localStorage before it is first sent and
 * stays there until the server has stored it. It is re-sent with the same submission id, so
 * the server (which answers 200 with the same receipt for a repeated id) stores it once, however
 * often the network or the server failed on the way.
 */
import { ApiError, NetworkError, postJson } from './api.js';

const PREFIX = 'readerstudy:outbox:';
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
// The longest `Retry-After` the outbox waits for before it tries again anyway.
const MAX_RETRY_AFTER_MS = 5 * 60 * 1000;

/** The wait before the next attempt: the backoff, or longer when the server asked for it. */
export function retryDelay(error, backoffMs) {
  const asked = error instanceof ApiError ? error.retryAfterMs : null;
  return asked == null ? backoffMs : Math.max(backoffMs, Math.min(asked, MAX_RETRY_AFTER_MS));
}

/**
 * The key of a read in the outbox. `readerScope` (the page's `readerScope`: the signed-in
 * account) keeps each reader's unsent reads apart, so that a reader signing in on the same
 * computer never sends another's read as their own.
 */
export function outboxKey(readerScope, studySlug, caseCode, round) {
  if (!readerScope) throw new Error('outboxKey needs the reader scope');
  return `${PREFIX}${readerScope}:${studySlug}:${caseCode}:${round}`;
}

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the submission is still kept in the page
  }
}

/** Stores `entry` ({key, url, body, savedAt}); returns false when localStorage is unavailable. */
export function outboxSave(entry) {
  const store = storage();
  if (!store) return false;
  try {
    store.setItem(entry.key, JSON.stringify(entry));
    return true;
  } catch {
    return false;
  }
}

export function outboxGet(key) {
  const raw = storage()?.getItem(key);
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

export function outboxRemove(key) {
  storage()?.removeItem(key);
}

/** Every submission of `readerScope` still waiting, oldest first. */
export function outboxAll(readerScope) {
  const store = storage();
  if (!store || !readerScope) return [];
  const prefix = `${PREFIX}${readerScope}:`;
  const entries = [];
  for (let i = 0; i < store.length; i += 1) {
    const key = store.key(i);
    if (key?.startsWith(prefix)) {
      const entry = outboxGet(key);
      if (entry) entries.push(entry);
    }
  }
  return entries.sort((a, b) => (a.savedAt || '').localeCompare(b.savedAt || ''));
}

/** Whether a failed attempt may succeed later (server away, restarting, or signed out). */
export function isRetryable(error) {
  if (error instanceof NetworkError) return true;
  if (error instanceof ApiError) {
    return error.status >= 500 || error.status === 401 || error.status === 403 || error.status === 429;
  }
  return false;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      window.removeEventListener('online', done);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    // Coming back online is worth an immediate attempt.
    window.addEventListener('online', done);
    signal?.addEventListener('abort', done);
  });
}

/**
 * Sends `entry` until the server stores it; resolves with `{status, receipt}`.
 *
 * Rejects with the `ApiError` when the server refuses the read for good (400 invalid answers,
 * 404 case not in the worklist, 409 a different read already stored): the entry is then
 * removed from the outbox, since sending it again cannot succeed. `onWaiting(error, delayMs,
 * attempt)` is called before each retry so the page can tell the reader. A 503 or 429 with
 * `Retry-After` (the database or the task queue away for a moment) waits as long as the server
 * asked, up to five minutes, and at least the backoff.
 */
export async function outboxSend(entry, { onWaiting = () => {}, signal } = {}) {
  let delay = FIRST_DELAY_MS;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { status, body } = await postJson(entry.url, entry.body);
      outboxRemove(entry.key);
      return { status, receipt: body };
    } catch (error) {
      if (!isRetryable(error)) {
        outboxRemove(entry.key);
        throw error;
      }
      if (signal?.aborted) throw error;
      const wait = retryDelay(error, delay);
      onWaiting(error, wait, attempt);
      await sleep(wait, signal);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}
