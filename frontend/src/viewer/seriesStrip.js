/**
 * Thumbnails of an MRI case's series (T1W, T2W, STIR, DWI): one button each, with its label and
 * its image through the target vertebra; a click shows that series in the active pane (the pane
 * under the mouse last), so a reader puts side by side the two sequences they compare.
 *
 * The thumbnails are drawn from images the panes load anyway (the cache serves them).
 */
import { utilities as csUtils } from '@cornerstonejs/core';

import { el } from '../lib/dom.js';

const THUMB_PX = 72;

/**
 * Fills `holder` with a button per series of `series` (`[{key, label}]`); `onPick(key)` when one
 * is clicked. Returns `{draw(key, imageId), showing(keys)}`: `draw` renders a series' thumbnail,
 * `showing` marks the series the panes show.
 */
export function buildSeriesStrip(holder, series, { onPick }) {
  const canvases = new Map();
  const buttons = new Map();
  for (const { key, label } of series) {
    const canvas = el('canvas', { width: THUMB_PX, height: THUMB_PX, class: 'series-thumb-image', 'aria-hidden': 'true' });
    const button = el(
      'button',
      { type: 'button', class: 'series-thumb', dataset: { series: key }, title: `Show ${label} in the active view`, onclick: () => onPick(key) },
      [canvas, el('span', { class: 'series-thumb-label', text: label })],
    );
    canvases.set(key, canvas);
    buttons.set(key, button);
  }
  holder.replaceChildren(...buttons.values());
  holder.hidden = series.length < 2;
  return {
    async draw(key, imageId) {
      const canvas = canvases.get(key);
      if (!canvas || !imageId) return;
      try {
        await csUtils.loadImageToCanvas({ canvas, imageId, thumbnail: true });
        // Cornerstone sizes the canvas to the image (attributes and inline style): a 256-pixel
        // slice made each thumbnail 256 px tall and pushed the answer form off the screen.
        canvas.removeAttribute('style');
        canvas.dataset.drawn = 'true';
      } catch {
        // A thumbnail is a convenience: the pane reports an image that fails to load.
      }
    },
    showing(keys) {
      for (const [key, button] of buttons) button.setAttribute('aria-pressed', String(keys.includes(key)));
    },
  };
}
