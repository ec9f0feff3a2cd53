/** Keyboard shortcuts for the common answers: the keys the study's form gives its choices (B / M
 * for the call) and 1-5 for the probability of malignancy. */

const TYPING_TYPES = new Set(['text', 'number', 'search', 'email', 'password', 'url', 'tel']);

/** True when keys typed now belong to a text field, not to the reading room. */
export function isTypingTarget(target) {
  if (!target) return false;
  if (target.isContentEditable || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT') return true;
  return target.tagName === 'INPUT' && TYPING_TYPES.has(target.type);
}

/** Applies the answer shortcut for `key`; returns false when the key is not one. */
export function answerShortcut(key, form) {
  return form.shortcut(key);
}
