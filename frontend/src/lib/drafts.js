/**
 * Drafts: the answers a reader has given to a case, kept in localStorage per (reader, study,
 * case, round) as they type, so that a reload or a crash does not lose them. A draft is deleted once
 * its read is submitted (the outbox then keeps it until the server has it) or refused for good.
 * It never leaves the browser.
 */
const PREFIX = 'readerstudy:draft:';

/** The key of one reader's (`scope`) draft of a case in a round. */
export function draftKey(scope, studySlug, caseCode, round) {
  return `${PREFIX}${scope}:${studySlug}:${caseCode}:${round}`;
}

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Keeps `answers` under `key`; false when the browser refuses (private mode, full). */
export function draftSave(key, answers) {
  try {
    storage()?.setItem(key, JSON.stringify({ savedAt: new Date().toISOString(), answers }));
    return true;
  } catch {
    return false;
  }
}

/** The answers kept under `key`, or null. */
export function draftGet(key) {
  try {
    const raw = storage()?.getItem(key);
    return raw ? JSON.parse(raw).answers || null : null;
  } catch {
    return null;
  }
}

export function draftRemove(key) {
  try {
    storage()?.removeItem(key);
  } catch {
    // nothing kept
  }
}

/** Whether `answers` hold anything a reader gave (a draft of nothing is not kept). */
export function hasAnswers(answers) {
  return Object.values(answers || {}).some((value) =>
    value && typeof value === 'object' ? hasAnswers(value) : value !== null && value !== undefined && value !== false);
}
