/**
 * The viewports of one case: layout, loading order, tools and synchronizers.
 *
 * Every view opens on the slice through the vertebra asked about (the middle one when the case
 * has no stored location). Loading order: that image of every stack first (the reader sees a
 * picture at once), then the reformat's volume, then the rest of each stack from that slice
 * outwards.
 */
import { Enums, RenderingEngine, eventTarget, metaData, utilities as csUtils } from '@cornerstonejs/core';
import {
  AngleTool,
  CobbAngleTool,
  Enums as ToolEnums,
  LengthTool,
  SynchronizerManager,
  annotation as annotations,
  synchronizers,
} from '@cornerstonejs/tools';

import { canRenderVolumes, isSoftwareRendering, startCornerstone } from './cornerstone.js';
import { imageIdsFor } from './imageIds.js';
import { buildPane, planLayout, seriesByRole, updateSliceLabel } from './layout.js';
import { prefetchStack, trackLoading } from './loading.js';
import { attachOverlays } from './overlays.js';
import { applyPreset, defaultPresetFor } from './presets.js';
import { startReformat } from './reformat.js';
import { buildSeriesStrip } from './seriesStrip.js';
import { nextRender } from './rendered.js';
import { cameraThrough, sliceThrough } from './targetSlice.js';
import { createTools } from './tools.js';

const ENGINE_ID = 'reading-room';
const { ViewportType, OrientationAxis, Events } = Enums;
const REFORMAT_AXES = { sagittal: OrientationAxis.SAGITTAL, coronal: OrientationAxis.CORONAL };

export { planLayout };

// The measurements that can fill an answer field: the statistic each tool computes, and its unit.
const MEASURED = {
  [LengthTool.toolName]: { kind: 'length', stat: 'length' },
  [AngleTool.toolName]: { kind: 'angle', stat: 'angle', unit: 'degrees' },
  [CobbAngleTool.toolName]: { kind: 'angle', stat: 'angle', unit: 'degrees' },
};

/** `{kind, value, unit}` of a length or angle annotation; null for anything else. */
export function measurementFromAnnotation(annotation) {
  const measured = MEASURED[annotation?.metadata?.toolName];
  if (!measured) return null;
  const stats = Object.values(annotation.data?.cachedStats || {});
  const found = stats.find((s) => typeof s[measured.stat] === 'number' && !Number.isNaN(s[measured.stat]));
  return found ? { kind: measured.kind, value: found[measured.stat], unit: measured.unit || found.unit || 'mm' } : null;
}

/** A reader-facing sentence for a failed image load (a status, not a stack trace). */
export function describeLoadError(error) {
  const status = error?.request?.status ?? error?.status ?? error?.xhr?.status;
  if (status === 401 || status === 403) return 'the server refused the image (signed out?)';
  if (status === 404) return 'the image was not found on the server';
  if (status >= 500) return `the server failed (${status})`;
  if (status === 0) return 'the network connection failed';
  if (error?.message) return error.message;
  return 'unknown error';
}

/** True when `viewport` shows an image as it was fitted to its pane: not zoomed, not panned. */
function isFitted(viewport) {
  if (!viewport.getActors().length) return false; // no image yet: nothing to fit
  const [x, y] = viewport.getPan(); // canvas pixels
  return Math.abs(viewport.getZoom() - 1) < 1e-3 && Math.abs(x) < 0.5 && Math.abs(y) < 0.5;
}

/**
 * Fits `viewport`'s image to its pane (no zoom, no pan). A stack stays on its slice; a reformat,
 * whose reset camera is at the volume's middle, goes to the plane through `planePoint` (LPS mm)
 * when given. The window is left as it is.
 */
function fitToPane(viewport, planePoint) {
  viewport.resetCamera();
  if (viewport.type !== ViewportType.ORTHOGRAPHIC) return;
  const camera = cameraThrough(viewport.getCamera(), planePoint);
  if (camera) viewport.setCamera(camera);
}

/** Synchronizers to which viewports are added once they show an image. */
function createLinks(plan) {
  const links = [];
  if (plan.linkVoi) {
    links.push(synchronizers.createVOISynchronizer('reading-room-voi', { syncInvertState: false, syncColormap: false }));
  }
  if (plan.linkScroll) {
    links.push(synchronizers.createImageSliceSynchronizer('reading-room-slices'));
  }
  return {
    add(viewportId) {
      for (const link of links) link.add({ renderingEngineId: ENGINE_ID, viewportId });
    },
    destroy() {
      for (const link of links) SynchronizerManager.destroySynchronizer(link.id);
    },
  };
}

/**
 * Opens the viewers for a case payload inside `container`; returns a controller for the
 * toolbar and keyboard.
 *
 * Callbacks: `onFirstImage()` when the first image is on screen; `onProgress({loaded, failed,
 * total})`; `onFailure({imageId, error, message})` for each image that could not be loaded;
 * `onSeriesLoaded(state)` once every image arrived or failed; `onMeasurement({kind, value, unit})`
 * when a length or an angle is drawn or changed; `onNotice(message)` for anything else the reader should know;
 * `onMark(label)` at each loading step (timings). `prefetched` maps metadata URLs to the
 * promises of their JSON (see metadataPrefetch.js).
 */
export async function openCaseViewer(payload, container, callbacks = {}) {
  const {
    onFirstImage = () => {},
    onProgress = () => {},
    onFailure = () => {},
    onSeriesLoaded = () => {},
    onMeasurement = () => {},
    onNotice = () => {},
    onMark = () => {},
    prefetched = null,
    seriesStrip = null,
  } = callbacks;
  startCornerstone();
  const plan = planLayout(payload, { volumes: canRenderVolumes() });
  container.replaceChildren();
  container.dataset.panes = String(plan.panes.length);
  container.dataset.layout = plan.panes.some((p) => p.id === 'coronal') ? 'ct-mpr' : '';

  const engine = new RenderingEngine(ENGINE_ID);
  const panes = plan.panes.map((pane) => ({ ...pane, ...buildPane(container, pane) }));
  const live = panes.filter((p) => p.kind !== 'unavailable');
  for (const pane of panes) {
    if (pane.kind === 'unavailable') pane.setOverlay(pane.reason);
  }
  engine.setViewports(
    live.map((pane) => ({
      viewportId: pane.id,
      element: pane.element,
      type: pane.kind === 'reformat' ? ViewportType.ORTHOGRAPHIC : ViewportType.STACK,
      defaultOptions: {
        background: [0, 0, 0],
        ...(pane.kind === 'reformat' ? { orientation: REFORMAT_AXES[pane.orientation] } : {}),
      },
    })),
  );

  const overlays = live.map((pane) => attachOverlays(engine, pane, payload.target, { isCT: payload.modality === 'CT' }));
  const tools = createTools(ENGINE_ID, live.map((p) => p.id), { referenceLines: plan.referenceLines });
  const links = createLinks(plan);

  // The pane under the mouse is the active one: keys scroll it, its plane is the reference line.
  let activeId = live[0]?.id;
  for (const pane of live) {
    const activate = () => {
      if (activeId === pane.id) return;
      activeId = pane.id;
      for (const other of panes) other.paneElement.classList.toggle('is-active', other === pane);
      tools.setReferenceSource(pane.id);
    };
    pane.element.addEventListener('pointerdown', activate);
    pane.element.addEventListener('pointerenter', activate);
  }
  panes[0]?.paneElement.classList.add('is-active');

  const onNewImage = (evt) => {
    const pane = live.find((p) => p.element === evt.currentTarget);
    if (pane) updateSliceLabel(engine.getViewport(pane.id), pane.sliceLabel);
  };
  for (const pane of live) {
    pane.element.addEventListener(Events.STACK_NEW_IMAGE, onNewImage);
    pane.element.addEventListener(Events.VOLUME_NEW_IMAGE, onNewImage);
  }
  const onAnnotation = (evt) => {
    const measurement = measurementFromAnnotation(evt.detail?.annotation);
    if (measurement) onMeasurement(measurement);
  };
  eventTarget.addEventListener(ToolEnums.Events.ANNOTATION_COMPLETED, onAnnotation);
  eventTarget.addEventListener(ToolEnums.Events.ANNOTATION_MODIFIED, onAnnotation);

  // Image ids per series, once each (the reformat uses the axial series' ids).
  const idsBySeries = new Map();
  for (const pane of live) {
    if (!idsBySeries.has(pane.series)) {
      idsBySeries.set(pane.series, await imageIdsFor(pane.series, { prefetched }));
    }
  }
  onMark('image ids');
  const tracker = trackLoading({
    onProgress,
    onFailure: ({ imageId, error }) => onFailure({ imageId, error, message: describeLoadError(error) }),
  });
  for (const ids of idsBySeries.values()) tracker.expect(ids);

  const preset = defaultPresetFor(payload.modality);
  let currentPreset = preset;
  const displayed = new Set(); // panes showing an image, to which presets and reset apply
  let firstImageShown = false;

  const targetCenter = payload.target?.center || null;
  /** The index of the slice of `ids` through the target (WADO-RS metadata is already known). */
  const startOf = (ids) => sliceThrough(ids.map((id) => metaData.get('imagePlaneModule', id) || {}), targetCenter);

  async function showStack(pane, ids) {
    const viewport = engine.getViewport(pane.id);
    const start = startOf(ids);
    try {
      await viewport.setStack(ids, start);
    } catch (error) {
      onFailure({ imageId: ids[start], error, message: describeLoadError(error) });
      return;
    }
    const rendered = nextRender(pane.element);
    applyPreset([viewport], currentPreset);
    updateSliceLabel(viewport, pane.sliceLabel);
    links.add(pane.id);
    displayed.add(pane.id);
    await rendered; // on screen, not merely loaded
    onMark(`stack ${pane.id} shown`);
    if (!firstImageShown) {
      firstImageShown = true;
      onFirstImage();
    }
  }

  async function fallBackToSagittalSeries(pane, error) {
    if (pane.orientation !== 'sagittal') {
      // The server derives a sagittal series only: a coronal reformat that fails says so.
      engine.disableElement(pane.id);
      pane.setOverlay(`The ${pane.orientation} reformat could not be built (${error.message}).`);
      return;
    }
    const fallback = seriesByRole(payload, 'sagittal');
    onNotice(
      `The sagittal reformat could not be built (${error.message}).` +
        (fallback ? ' Showing the sagittal series made by the server instead.' : ''),
    );
    pane.setOverlay(null);
    engine.disableElement(pane.id);
    if (!fallback) {
      pane.setOverlay('The sagittal reformat is not available for this case.');
      return;
    }
    pane.kind = 'stack';
    pane.series = fallback;
    engine.enableElement({ viewportId: pane.id, element: pane.element, type: ViewportType.STACK });
    tools.group.addViewport(pane.id, ENGINE_ID);
    const ids = await imageIdsFor(fallback, { prefetched });
    tracker.expect(ids);
    await showStack(pane, ids);
    prefetchStack(ids, startOf(ids));
  }

  // 1. The image through the target of every stack, before anything else competes for the network.
  const stacks = live.filter((p) => p.kind === 'stack');
  await Promise.all(stacks.map((p) => showStack(p, idsBySeries.get(p.series))));

  // 2. Reformats: the volume streams in behind the first image, one volume per series for all
  // of its reformats (sagittal and coronal). The first image is drawn in an animation frame and
  // reaches the screen when that task ends: building the volume (a good part of a second of
  // main thread with software WebGL) waits for that paint instead of holding it back.
  if (stacks.length) await new Promise((resolve) => setTimeout(resolve, 0));
  const inVolumes = new Set();
  const reformatsShown = [];
  const reformatPanes = live.filter((p) => p.kind === 'reformat');
  for (const series of new Set(reformatPanes.map((p) => p.series))) {
    const group = reformatPanes.filter((p) => p.series === series);
    const ids = idsBySeries.get(series);
    const failAll = (error) => Promise.all(group.map((pane) => fallBackToSagittalSeries(pane, error)));
    try {
      const reformat = await startReformat(engine, group, ids, {
        volumeId: `cornerstoneStreamingImageVolume:${payload.code}:${series.role || 'axial'}`,
        preset,
        through: targetCenter,
        // A volume render costs a software rasterizer a tenth of a second or more.
        redrawMs: isSoftwareRendering() ? 900 : 400,
        // Set before the volume's first render, so that one render draws it all: each of these
        // asks for a render, and afterwards that was one more volume render (about a quarter of
        // a second of main thread with software WebGL) while the frames were arriving.
        onDisplay: () => {
          for (const pane of group) {
            displayed.add(pane.id);
            applyPreset([engine.getViewport(pane.id)], currentPreset);
            updateSliceLabel(engine.getViewport(pane.id), pane.sliceLabel);
            links.add(pane.id);
          }
          tools.refreshReferenceLines();
        },
      });
      ids.forEach((id) => inVolumes.add(id));
      reformatsShown.push(
        reformat.shown.then(
          () => {
            for (const pane of group) onMark(`reformat ${pane.id} shown`);
            // The series counts as loaded once the reformats are on screen with every slice.
            return reformat.complete.then(() => group.forEach((pane) => onMark(`reformat ${pane.id} complete`)));
          },
          failAll,
        ),
      );
    } catch (error) {
      await failAll(error);
    }
  }

  // 3. The rest of each stack not already streaming into a volume, nearest to the target first.
  for (const pane of stacks) {
    const ids = idsBySeries.get(pane.series);
    if (ids.some((id) => !inVolumes.has(id))) prefetchStack(ids, startOf(ids));
  }
  tracker.seal();
  tools.refreshReferenceLines();
  Promise.all([tracker.done, ...reformatsShown]).then(([state]) => onSeriesLoaded(state));

  // Crosshairs: with them selected, a click or a drag in one view puts that point in the others:
  // each stack goes to its slice nearest the point, each reformat to the plane through it (the
  // reference lines then cross there). Cornerstone's CrosshairsTool needs every view to be a
  // volume viewport; the axial view is a stack, which shows its first image sooner.
  let crosshairsOn = false;
  let crosshairPoint = null;
  function jumpTo(point, sourceId) {
    crosshairPoint = point;
    for (const pane of live) {
      if (pane.id === sourceId || !displayed.has(pane.id)) continue;
      const viewport = engine.getViewport(pane.id);
      if (viewport.type === ViewportType.STACK) {
        const ids = viewport.getImageIds();
        const index = sliceThrough(ids.map((id) => metaData.get('imagePlaneModule', id) || {}), point);
        if (index !== viewport.getCurrentImageIdIndex()) viewport.setImageIdIndex(index);
      } else {
        const camera = cameraThrough(viewport.getCamera(), point);
        if (camera) {
          viewport.setCamera(camera);
          viewport.render();
        }
      }
    }
    tools.refreshReferenceLines();
  }
  for (const pane of live) {
    const onPointer = (evt) => {
      if (!crosshairsOn || !(evt.buttons & 1) || !displayed.has(pane.id)) return;
      const rect = pane.element.getBoundingClientRect();
      const point = engine.getViewport(pane.id).canvasToWorld([evt.clientX - rect.left, evt.clientY - rect.top]);
      jumpTo(point, pane.id);
    };
    pane.element.addEventListener('pointerdown', onPointer);
    pane.element.addEventListener('pointermove', onPointer);
  }

  // MRI: thumbnails of the case's series; a click shows that series in the active pane.
  const stripSeries = payload.modality === 'CT' ? [] : (payload.series || []);
  const keyOf = (series) => series.role || series.label;
  let strip = null;
  async function showSeriesIn(paneId, key) {
    const pane = live.find((p) => p.id === paneId);
    const series = stripSeries.find((s) => keyOf(s) === key);
    if (!pane || pane.kind !== 'stack' || !series || pane.series === series) return;
    if (!idsBySeries.has(series)) idsBySeries.set(series, await imageIdsFor(series, { prefetched }));
    pane.series = series;
    pane.paneElement.querySelector('.pane-label').textContent = series.label || key;
    pane.paneElement.setAttribute('aria-label', series.label || key);
    await showStack(pane, idsBySeries.get(series));
    strip?.showing(live.map((p) => keyOf(p.series)));
  }
  if (seriesStrip && stripSeries.length > 1) {
    strip = buildSeriesStrip(seriesStrip, stripSeries.map((s) => ({ key: keyOf(s), label: s.label || keyOf(s) })), {
      onPick: (key) => showSeriesIn(activeId, key),
    });
    strip.showing(live.map((p) => keyOf(p.series)));
    for (const series of stripSeries) {
      const ids = idsBySeries.get(series);
      if (ids) strip.draw(keyOf(series), ids[startOf(ids)]);
    }
  }

  // A resize (a late layout change, full screen): Cornerstone keeps each camera through it, so a
  // view resized after its first image showed that image smaller or larger than its pane (zoom
  // 0.968 after a late layout change under load). A view the reader has not zoomed or panned is
  // fitted to its new size again, on the same slice or plane and window; a view the reader has
  // zoomed or panned keeps its camera. The viewport elements are watched as well as the
  // container: a pane can change size while the container does not.
  function resizeViews() {
    if (engine.hasBeenDestroyed) return;
    const before = live.map((pane) => {
      const viewport = engine.getViewport(pane.id);
      return viewport && { viewport, fitted: isFitted(viewport), width: viewport.sWidth, height: viewport.sHeight };
    }).filter(Boolean);
    engine.resize(true, true);
    // The new size is known at once (sWidth, sHeight); the canvas takes it at the next render.
    for (const { viewport, fitted, width, height } of before) {
      if (fitted && (viewport.sWidth !== width || viewport.sHeight !== height)) {
        fitToPane(viewport, viewport.getCamera().focalPoint);
        viewport.render();
      }
    }
  }
  // In an animation frame: Cornerstone resizes nothing but the numbers while a render is pending,
  // and a render requested earlier runs before this callback.
  const resizeObserver = new ResizeObserver(() => requestAnimationFrame(resizeViews));
  resizeObserver.observe(container);
  for (const pane of live) resizeObserver.observe(pane.element);

  const viewports = () => [...displayed].map((id) => engine.getViewport(id)).filter(Boolean);

  return {
    modality: payload.modality,
    panes: live.map((p) => p.id),
    get activeViewportId() {
      return activeId;
    },
    get preset() {
      return currentPreset;
    },
    viewport(id) {
      return engine.getViewport(id);
    },
    /** The measurements drawn: `[{tool, stats}]`, each tool's figures per image (tests, debugging). */
    measurements() {
      return (annotations.state.getAllAnnotations() || []).map((a) => ({
        tool: a.metadata?.toolName,
        stats: Object.values(a.data?.cachedStats || {}).map((stats) => Object.fromEntries(
          Object.entries(stats).filter(([, v]) => typeof v === 'number' || typeof v === 'string'),
        )),
      }));
    },
    /** What is drawn over each pane (the target marker, orientation letters, window), by pane id. */
    overlays() {
      return Object.fromEntries(live.map((pane, i) => [pane.id, overlays[i].state()]));
    },
    setPreset(name) {
      currentPreset = name;
      applyPreset(viewports(), name);
    },
    selectTool(key) {
      crosshairsOn = key === 'crosshairs';
      if (crosshairsOn) tools.clearPrimary();
      else tools.selectPrimary(key);
    },
    /** Shows the series `key` (its role, "t2w") in the pane `paneId` (the active one by default). */
    showSeries(key, paneId = activeId) {
      return showSeriesIn(paneId, key);
    },
    /** The crosshairs' point (LPS, mm) and each view's distance from it in mm (tests). */
    crosshairs() {
      if (!crosshairPoint) return null;
      const distances = {};
      for (const pane of live) {
        const viewport = engine.getViewport(pane.id);
        if (!viewport || !displayed.has(pane.id)) continue;
        const camera = viewport.getCamera();
        const imageId = viewport.getCurrentImageId?.();
        const origin = (imageId && metaData.get('imagePlaneModule', imageId)?.imagePositionPatient) || camera.focalPoint;
        const n = camera.viewPlaneNormal;
        distances[pane.id] = Math.abs(n.reduce((sum, v, i) => sum + v * (crosshairPoint[i] - origin[i]), 0));
      }
      return { point: [...crosshairPoint], distances };
    },
    /** Scrolls the active viewport by `delta` slices. */
    scroll(delta) {
      const viewport = engine.getViewport(activeId);
      if (viewport) csUtils.scroll(viewport, { delta });
    },
    reset() {
      // A reformat goes back to the target's plane, a stack stays on its slice.
      for (const viewport of viewports()) fitToPane(viewport, targetCenter);
      applyPreset(viewports(), currentPreset);
    },
    resize() {
      requestAnimationFrame(resizeViews);
    },
    destroy() {
      resizeObserver.disconnect();
      for (const overlay of overlays) overlay.destroy();
      tracker.stop();
      eventTarget.removeEventListener(ToolEnums.Events.ANNOTATION_COMPLETED, onAnnotation);
      eventTarget.removeEventListener(ToolEnums.Events.ANNOTATION_MODIFIED, onAnnotation);
      links.destroy();
      tools.destroy();
      engine.destroy();
    },
  };
}
