/** Keyboard shortcuts for the common answers: B / M for the call, 1-5 for the confidence. */
import { CONFIDENCE_KEYS } from './answerForm.js';

const TYPING_TYPES = new Set(['text', 'number', 'search', 'email', 'password', 'url', 'tel']);

/** True when keys typed now belong to a text field, not to the reading room. */
export function isTypingTarget(target) {
  if (!target) return false;
  if (target.isContentEditable || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT') return true;
  return target.tagName === 'INPUT' && TYPING_TYPES.has(target.type);
}

/** Applies the answer shortcut for `key`; returns false when the key is not one. */
export function answerShortcut(key, form) {
  const lower = key.toLowerCase();
  if (lower === 'b') {
    form.setCall('benign');
    return true;
  }
  if (lower === 'm') {
    form.setCall('malignant');
    return true;
  }
  if (key in CONFIDENCE_KEYS) {
    form.setConfidence(CONFIDENCE_KEYS[key]);
    return true;
  }
  return false;
}
