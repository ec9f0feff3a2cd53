/**
 * The sagittal reformat: a streaming volume of the axial images in an orthographic viewport,
 * shown at once and redrawn as slices arrive, so the reader watches it fill in.
 *
 * Each redraw uploads the slices that arrived since the last one, so the upload is spread over
 * the loading instead of waiting at its end. On a software rasterizer (SwiftShader, llvmpipe)
 * a volume render costs the CPU a tenth of a second or more, so callers redraw less often
 * there (`redrawMs`): measured with benchmarks/bench_viewer.py, redrawing about once a second
 * brings the complete reformat on screen sooner than drawing it once, complete, at the end.
 */
import { Enums, eventTarget, setVolumesForViewports, volumeLoader } from '@cornerstonejs/core';

import { applyPreset } from './presets.js';
import { nextRender } from './rendered.js';
import { cameraThrough } from './targetSlice.js';

const { Events } = Enums;

/**
 * Starts loading `imageIds` as a volume for `pane` (errors building the volume reject here);
 * the view opens on the plane through `through` (the target's centre, LPS mm) when given.
 * Of the returned promises, `shown` resolves when the reformat is on screen (and rejects if it
 * cannot be displayed), `complete` once it has rendered with every image.
 */
export async function startReformat(engine, pane, imageIds, { volumeId, preset, through = null, redrawMs = 400 }) {
  const volume = await volumeLoader.createAndCacheVolume(volumeId, { imageIds });
  volume.autoRenderOnLoad = false;
  const viewport = engine.getViewport(pane.id);

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
    if (evt.detail?.volumeId !== volumeId || timer) return;
    timer = setTimeout(redraw, Math.max(0, redrawMs - (performance.now() - last)));
  };
  eventTarget.addEventListener(Events.IMAGE_VOLUME_MODIFIED, onModified);
  volume.load(() => {
    eventTarget.removeEventListener(Events.IMAGE_VOLUME_MODIFIED, onModified);
    if (timer) clearTimeout(timer);
    resolveLoaded();
  });

  async function display() {
    // On screen, not merely handed to the viewport: the first render creates the volume's
    // texture, which on a software rasterizer takes a good part of a second.
    const rendered = nextRender(pane.element, 30000);
    await setVolumesForViewports(engine, [{ volumeId }], [pane.id]);
    const camera = cameraThrough(viewport.getCamera(), through);
    if (camera) viewport.setCamera(camera);
    displayed = true;
    last = performance.now();
    applyPreset([viewport], preset);
    await rendered;
  }

  async function redrawComplete() {
    await Promise.all([shown, loaded]);
    if (engine.hasBeenDestroyed) return;
    // The last slices reach the screen with this render (it uploads them).
    const rendered = nextRender(pane.element, 30000);
    redraw();
    await rendered;
  }

  const shown = display();
  const complete = redrawComplete();
  complete.catch(() => {}); // a reformat that cannot be shown is reported through `shown`
  return { volume, shown, complete };
}
