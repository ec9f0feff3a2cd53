/** Waiting for a viewport to be on screen, not merely loaded. */
import { Enums } from '@cornerstonejs/core';

/**
 * Resolves at the element's next render (or after `timeoutMs`, so a lost event cannot hang).
 * Call it before the action that renders, so that the event cannot be missed.
 */
export function nextRender(element, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      element.removeEventListener(Enums.Events.IMAGE_RENDERED, done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    element.addEventListener(Enums.Events.IMAGE_RENDERED, done);
  });
}
