/**
 * The reformats (sagittal, and coronal for CT): one streaming volume of the axial images shown in
 * an orthographic viewport per pane, shown at once and redrawn as slices arrive, so the reader
 * watches them fill in. The panes share the volume: its slices are fetched and uploaded once.
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
 * Starts loading `imageIds` as a volume for `panes` (errors building the volume reject here);
 * each view opens on the plane through `through` (the target's centre, LPS mm) when given.
 * `onDisplay()` is called once the views hold the volume, before their first render.
 * Of the returned promises, `shown` resolves when every pane shows the volume (and rejects if it
 * cannot be displayed), `complete` once they have rendered with every image.
 */
export async function startReformat(
  engine, panes, imageIds, { volumeId, preset, through = null, redrawMs = 400, onDisplay = () => {} },
) {
  const volume = await volumeLoader.createAndCacheVolume(volumeId, { imageIds });
  volume.autoRenderOnLoad = false;
  const viewports = () => panes.map((pane) => engine.getViewport(pane.id)).filter(Boolean);

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
    if (displayed && !engine.hasBeenDestroyed) engine.renderViewports(panes.map((pane) => pane.id));
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

  const renderedAll = () => Promise.all(panes.map((pane) => nextRender(pane.element, 30000)));

  async function display() {
    // On screen, not merely handed to the viewports: the first render creates the volume's
    // texture, which on a software rasterizer takes a good part of a second.
    const rendered = renderedAll();
    await setVolumesForViewports(engine, [{ volumeId }], panes.map((pane) => pane.id));
    for (const viewport of viewports()) {
      const camera = cameraThrough(viewport.getCamera(), through);
      if (camera) viewport.setCamera(camera);
    }
    displayed = true;
    applyPreset(viewports(), preset);
    onDisplay();
    await rendered;
    // The next redraw comes `redrawMs` after this first render has ended, not after it started:
    // that render takes longer than `redrawMs` with software WebGL, and the first frames to
    // arrive then redrew the volume at once.
    last = performance.now();
  }

  async function redrawComplete() {
    await Promise.all([shown, loaded]);
    if (engine.hasBeenDestroyed) return;
    // The last slices reach the screen with this render (it uploads them).
    const rendered = renderedAll();
    redraw();
    await rendered;
  }

  const shown = display();
  const complete = redrawComplete();
  complete.catch(() => {}); // a reformat that cannot be shown is reported through `shown`
  return { volume, shown, complete };
}
