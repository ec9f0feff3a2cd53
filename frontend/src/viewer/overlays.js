/**
 * What a reader expects drawn over each view, redrawn whenever the view renders: the vertebra
 * asked about (a box, or a reticle round its centre, with its level), the orientation letters
 * at the edges, and the window/level in use.
 *
 * Drawn in an SVG layer of our own over the viewport (no pointer events), from the viewport's
 * camera: nothing is added to Cornerstone's annotations, so the measuring tools never pick the
 * marker up and a reset leaves it in place.
 */
import { Enums, metaData } from '@cornerstonejs/core';

const { Events } = Enums;
const SVG = 'http://www.w3.org/2000/svg';
// Without an annotated box the centre counts as on the slice within half a vertebral body.
const CENTRE_HALF_HEIGHT_MM = 12;
const RETICLE_MM = 22; // half the side of the reticle drawn round a centre

const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/**
 * The patient direction of `vector` (LPS) in letters, strongest first: "L", "A", "LS"...
 * Components under a third of the vector are left out (an oblique view shows two letters).
 */
export function orientationLetters(vector) {
  const letters = [
    [vector[0], 'L', 'R'],
    [vector[1], 'P', 'A'],
    [vector[2], 'S', 'I'],
  ]
    .filter(([component]) => Math.abs(component) > 0.33)
    .sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]))
    .map(([component, positive, negative]) => (component > 0 ? positive : negative));
  return letters.join('');
}

/** The screen's right and up as patient directions, from a camera. */
export function screenAxes(camera) {
  const up = camera.viewUp;
  return { right: cross(up, camera.viewPlaneNormal), up };
}

/** A point of the plane the viewport shows: a stack's current image, a volume's focal point. */
function pointOnPlane(viewport, camera) {
  const imageId = viewport.getCurrentImageId?.();
  const plane = imageId ? metaData.get('imagePlaneModule', imageId) : null;
  return plane?.imagePositionPatient || camera.focalPoint;
}

function corners(box) {
  const [lo, hi] = box;
  const points = [];
  for (const x of [lo[0], hi[0]]) for (const y of [lo[1], hi[1]]) for (const z of [lo[2], hi[2]]) points.push([x, y, z]);
  return points;
}

/**
 * Where `target` ({level, center, box}) falls in a view: its rectangle on the canvas (CSS
 * pixels), whether the shown plane passes through it, and the distance of its centre from
 * that plane in mm. Null when the target has no location.
 */
export function targetInView(viewport, target) {
  if (!target?.center) return null;
  const camera = viewport.getCamera();
  const normal = camera.viewPlaneNormal;
  const origin = pointOnPlane(viewport, camera);
  const offset = dot(sub(target.center, origin), normal);
  let points;
  let inPlane;
  if (target.box) {
    points = corners(target.box);
    const along = points.map((p) => dot(sub(p, origin), normal));
    inPlane = Math.min(...along) <= 0 && Math.max(...along) >= 0;
  } else {
    const { right, up } = screenAxes(camera);
    points = [-1, 1].flatMap((i) => [-1, 1].map((j) => target.center.map(
      (c, k) => c + RETICLE_MM * (i * right[k] + j * up[k]),
    )));
    inPlane = Math.abs(offset) <= CENTRE_HALF_HEIGHT_MM;
  }
  const onCanvas = points.map((p) => viewport.worldToCanvas(p));
  const xs = onCanvas.map((p) => p[0]);
  const ys = onCanvas.map((p) => p[1]);
  const centre = viewport.worldToCanvas(target.center);
  return {
    x: Math.min(...xs), y: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys),
    centre, inPlane, offset,
  };
}

const LABEL_GAP = 4; // CSS pixels between the marker and its label, and from the view's edges
const LABEL_ASCENT = 12; // the label's font size: its baseline sits this far below its top

/**
 * Where the target's label goes (`x`, `y` of its baseline's left end, CSS pixels) so that all of
 * it stays inside the view (`viewWidth` x `viewHeight`) and off the marker: right of the marker's
 * rectangle `box` when it fits, else left of it, else above it, else below it, else inside the
 * view's top-left corner. Off the slice the label is long ("L1 (25 mm away)"): right of a marker
 * near the view's edge it ran over the next pane.
 */
export function labelPlacement(box, textWidth, viewWidth, viewHeight) {
  const maxX = viewWidth - LABEL_GAP - textWidth;
  const clampX = (x) => Math.max(LABEL_GAP, Math.min(x, maxX));
  const clampY = (y) => Math.max(LABEL_GAP + LABEL_ASCENT, Math.min(y, viewHeight - LABEL_GAP));
  const right = box.x + box.width + LABEL_GAP;
  if (right <= maxX) return { x: Math.max(LABEL_GAP, right), y: clampY(box.y + LABEL_ASCENT) };
  const left = box.x - LABEL_GAP - textWidth;
  if (left >= LABEL_GAP) return { x: left, y: clampY(box.y + LABEL_ASCENT) };
  const above = box.y - LABEL_GAP;
  if (above - LABEL_ASCENT >= LABEL_GAP) return { x: clampX(box.x), y: above };
  const below = box.y + box.height + LABEL_GAP + LABEL_ASCENT;
  if (below <= viewHeight - LABEL_GAP) return { x: clampX(box.x), y: below };
  return { x: clampX(LABEL_GAP), y: LABEL_GAP + LABEL_ASCENT };
}

function svgElement(name, attributes = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

function corner(text, position) {
  const node = document.createElement('span');
  node.className = `view-corner view-${position}`;
  node.textContent = text;
  return node;
}

/** The window/level a viewport shows, as a reader reads it ("W 1800 L 400"). */
export function windowLevelText(viewport) {
  const range = viewport.getProperties?.()?.voiRange;
  if (!range || !Number.isFinite(range.lower) || !Number.isFinite(range.upper)) return '';
  const width = range.upper - range.lower;
  const level = (range.upper + range.lower) / 2;
  return `W ${Math.round(width)} L ${Math.round(level)}`;
}

/** The label's rectangle (CSS pixels) and the view's size, for tests that it stays inside. */
function labelBox(label, layer) {
  let box;
  try {
    box = label.getBBox();
  } catch {
    return null; // not laid out
  }
  return { x: box.x, y: box.y, width: box.width, height: box.height, viewWidth: layer.clientWidth, viewHeight: layer.clientHeight };
}

/**
 * Adds the overlays to a pane (`{id, element, paneElement}`) of `engine`; `target` as the case
 * payload gives it (null: no marker). Returns `{state(), destroy()}`; `state()` tells tests
 * what is drawn.
 */
export function attachOverlays(engine, pane, target, { isCT = false } = {}) {
  const body = pane.element.parentElement;
  const layer = document.createElement('div');
  layer.className = 'view-overlays';
  layer.dataset.overlaysFor = pane.id;
  const svg = svgElement('svg', { class: 'target-layer', width: '100%', height: '100%' });
  const group = svgElement('g', { class: 'target-marker', 'data-level': target?.level || '' });
  const frame = svgElement('path', { class: 'target-outline' });
  const label = svgElement('text', { class: 'target-label' });
  group.append(frame, label);
  svg.append(group);
  const letters = {
    left: corner('', 'left'), right: corner('', 'right'), top: corner('', 'top'), bottom: corner('', 'bottom'),
  };
  const windowReadout = corner('', 'window');
  layer.append(svg, ...Object.values(letters), windowReadout);
  body.append(layer);

  let drawn = { target: null, letters: {}, window: '' };

  function redraw() {
    const viewport = engine.getViewport(pane.id);
    if (!viewport || !viewport.getCamera) return;
    const camera = viewport.getCamera();
    if (!camera?.viewPlaneNormal || !camera.viewUp) return;
    const { right, up } = screenAxes(camera);
    const minus = (v) => v.map((c) => -c);
    const text = {
      right: orientationLetters(right), left: orientationLetters(minus(right)),
      top: orientationLetters(up), bottom: orientationLetters(minus(up)),
    };
    for (const [side, node] of Object.entries(letters)) node.textContent = text[side];
    const wl = windowLevelText(viewport);
    windowReadout.textContent = wl ? `${wl}${isCT ? ' HU' : ''}` : '';

    let where = null;
    try {
      where = targetInView(viewport, target);
    } catch {
      where = null; // a viewport without an image yet
    }
    group.style.display = where ? '' : 'none';
    if (where) {
      const { x, y, width, height } = where;
      // Corner brackets: the vertebra itself stays unobscured.
      const t = Math.max(6, Math.min(width, height) / 4);
      frame.setAttribute('d', [
        `M${x},${y + t}V${y}H${x + t}`, `M${x + width - t},${y}H${x + width}V${y + t}`,
        `M${x + width},${y + height - t}V${y + height}H${x + width - t}`, `M${x + t},${y + height}H${x}V${y + height - t}`,
      ].join(''));
      label.textContent = where.inPlane ? target.level : `${target.level} (${Math.abs(where.offset).toFixed(0)} mm away)`;
      const textWidth = label.getComputedTextLength?.() || 0;
      const place = labelPlacement(where, textWidth, layer.clientWidth, layer.clientHeight);
      label.setAttribute('x', String(place.x));
      label.setAttribute('y', String(place.y));
      group.classList.toggle('is-off-slice', !where.inPlane);
    }
    drawn = {
      target: where && { ...where, level: target.level, label: labelBox(label, layer) },
      letters: text,
      window: windowReadout.textContent,
    };
  }

  pane.element.addEventListener(Events.IMAGE_RENDERED, redraw);
  return {
    redraw,
    state: () => drawn,
    destroy() {
      pane.element.removeEventListener(Events.IMAGE_RENDERED, redraw);
      layer.remove();
    },
  };
}
