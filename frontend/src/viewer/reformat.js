/**
 * The sagittal reformat: a streaming volume of the axial images in an orthographic viewport.
 *
 * On a real GPU the reformat is redrawn as slices arrive, so the reader watches it fill in.
 * On a software rasterizer (SwiftShader, llvmpipe) every volume render costs the CPU a tenth
 * of a second or more and slows the loading itself, so the volume is shown once, complete,
 * with its progress over the pane meanwhile.
 */
import { Enums, eventTarget, setVolumesForViewports, volumeLoader } from '@cornerstonejs/core';

import { applyPreset } from './presets.js';
import { nextRender } from './rendered.js';

const { Events } = Enums;

/**
 * Starts loading `imageIds` as a volume for `pane` (errors building the volume reject here).
 * Of the returned promises, `shown` resolves when the reformat is on screen (and rejects if it
 * cannot be displayed), `complete` once it shows every image.
 */
export async function startReformat(engine, pane, imageIds, { volumeId, preset, progressive, redrawMs = 400 }) {
  const volume = await volumeLoader.createAndCacheVolume(volumeId, { imageIds });
  volume.autoRenderOnLoad = false;
  const viewport = engine.getViewport(pane.id);
  const total = imageIds.length;

  let resolveLoaded;
  const loaded = new Promise((resolve) => {
    resolveLoaded = resolve;
  });
  let last = 0;
  let timer = null;
  let displayed = false;
  const redraw = () => {
    timer = null;
    last = performance.now();
    if (displayed && !engine.hasBeenDestroyed) viewport.render();
  };
  const onModified = (evt) => {
    if (evt.detail?.volumeId !== volumeId) return;
    if (!progressive) {
      pane.setOverlay(`Building the sagittal reformat: ${evt.detail.framesProcessed} / ${total} images`);
    } else if (!timer) {
      timer = setTimeout(redraw, Math.max(0, redrawMs - (performance.now() - last)));
    }
  };
  eventTarget.addEventListener(Events.IMAGE_VOLUME_MODIFIED, onModified);
  if (!progressive) pane.setOverlay('Building the sagittal reformat…');
  volume.load(() => {
    eventTarget.removeEventListener(Events.IMAGE_VOLUME_MODIFIED, onModified);
    if (timer) clearTimeout(timer);
    resolveLoaded();
  });

  async function display() {
    // On screen, not merely handed to the viewport: the first render uploads the volume to
    // the GPU, which on a software rasterizer takes a second or more.
    const rendered = nextRender(pane.element, 30000);
    await setVolumesForViewports(engine, [{ volumeId }], [pane.id]);
    displayed = true;
    applyPreset([viewport], preset);
    pane.setOverlay(null);
    await rendered;
  }

  const shown = progressive ? display() : loaded.then(display);
  const complete = progressive ? Promise.all([shown, loaded]).then(redraw) : shown;
  return { volume, shown, complete };
}
