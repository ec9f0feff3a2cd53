// The geometry behind the view overlays: orientation letters and where the target vertebra falls.
// Run: npm test (node's built-in test runner; no browser needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { labelPlacement, orientationLetters, screenAxes, targetInView, windowLevelText } from '../src/viewer/overlays.js';

// An orthographic view of the plane through `origin` with normal `normal`, 2 CSS pixels per mm,
// the screen's right `right` and up `up` (world-to-canvas as Cornerstone's, y growing downwards).
function fakeViewport({ normal, up, origin = [0, 0, 0], scale = 2, centre = [100, 100] }) {
  const right = screenAxes({ viewUp: up, viewPlaneNormal: normal }).right;
  const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  return {
    getCamera: () => ({ viewPlaneNormal: normal, viewUp: up, focalPoint: origin }),
    worldToCanvas: (p) => {
      const d = p.map((v, i) => v - origin[i]);
      return [centre[0] + scale * dot(d, right), centre[1] - scale * dot(d, up)];
    },
  };
}

const AXIAL = { normal: [0, 0, -1], up: [0, -1, 0] }; // looking from the feet, anterior up
const SAGITTAL = { normal: [1, 0, 0], up: [0, 0, 1] }; // from the patient's left, head up

test('an axial view in the radiological convention reads R L A P', () => {
  const { right, up } = screenAxes({ viewUp: AXIAL.up, viewPlaneNormal: AXIAL.normal });
  assert.equal(orientationLetters(right), 'L');
  assert.equal(orientationLetters(right.map((v) => -v)), 'R');
  assert.equal(orientationLetters(up), 'A');
});

test('a sagittal view reads A P S I', () => {
  const { right, up } = screenAxes({ viewUp: SAGITTAL.up, viewPlaneNormal: SAGITTAL.normal });
  assert.equal(orientationLetters(right), 'P');
  assert.equal(orientationLetters(up), 'S');
});

test('an oblique direction gets two letters, the stronger first; a weak component none', () => {
  assert.equal(orientationLetters([0.8, 0, 0.6]), 'LS');
  assert.equal(orientationLetters([-0.6, -0.8, 0]), 'AR');
  assert.equal(orientationLetters([0.95, 0.3, 0]), 'L');
});

test('a box the plane cuts is in plane; its rectangle is the box seen from the view', () => {
  const target = { level: 'L1', center: [0, 0, 0], box: [[-20, -15, -12], [20, 15, 12]] };
  const where = targetInView(fakeViewport(AXIAL), target);
  assert.equal(where.inPlane, true);
  assert.deepEqual([where.x, where.y, where.width, where.height], [60, 70, 80, 60]);
  assert.deepEqual(where.centre, [100, 100]);
});

test('a plane past the box is off the slice, and says how far the centre is', () => {
  const target = { level: 'L1', center: [0, 0, 0], box: [[-20, -15, -12], [20, 15, 12]] };
  const where = targetInView(fakeViewport({ ...AXIAL, origin: [0, 0, 30] }), target);
  assert.equal(where.inPlane, false);
  assert.equal(Math.abs(where.offset), 30);
});

test('with a centre only, a reticle of 44 mm; in plane within 12 mm of it', () => {
  const target = { level: 'T12', center: [5, 0, 0], box: null };
  const near = targetInView(fakeViewport({ ...SAGITTAL, origin: [-6, 0, 0] }), target);
  assert.equal(near.inPlane, true);
  assert.equal(Math.round(near.width), 88);
  assert.equal(targetInView(fakeViewport({ ...SAGITTAL, origin: [-8, 0, 0] }), target).inPlane, false);
  assert.equal(targetInView(fakeViewport(SAGITTAL), { level: 'L1', center: null }), null);
});

test('the window/level readout is width and centre of the VOI range', () => {
  assert.equal(windowLevelText({ getProperties: () => ({ voiRange: { lower: -500, upper: 1300 } }) }), 'W 1800 L 400');
  assert.equal(windowLevelText({ getProperties: () => ({}) }), '');
});

// The target's label in a 500 x 400 view; the marker's rectangle `box`, the label 100 px wide.
test('the label sits right of the marker when it fits there', () => {
  assert.deepEqual(labelPlacement({ x: 100, y: 50, width: 150, height: 150 }, 100, 500, 400), { x: 254, y: 62 });
});

test('a long off-slice label near the right edge goes left of the marker, inside the view', () => {
  // The screenshot that showed the bug: the marker ends 80 px from the edge, "L1 (25 mm away)".
  const { x } = labelPlacement({ x: 250, y: 50, width: 170, height: 170 }, 100, 500, 400);
  assert.equal(x, 146); // 250 - 4 - 100
  assert.ok(x + 100 <= 500 - 4);
});

test('with no room beside the marker the label goes above it, else below it', () => {
  // As in the screenshot of the bug: a marker 80 % of the view's width.
  assert.deepEqual(labelPlacement({ x: 60, y: 100, width: 400, height: 200 }, 100, 500, 400), { x: 60, y: 96 });
  assert.deepEqual(labelPlacement({ x: 60, y: 5, width: 400, height: 200 }, 100, 500, 400), { x: 60, y: 221 });
});

test('a marker filling the view puts its label in the top-left corner; never past either edge', () => {
  assert.deepEqual(labelPlacement({ x: 2, y: 2, width: 480, height: 380 }, 100, 500, 400), { x: 4, y: 16 });
  // A view narrower than the label: from the left edge (what overflows is then clipped).
  assert.equal(labelPlacement({ x: 10, y: 10, width: 20, height: 20 }, 100, 80, 400).x, 4);
});

test('a marker panned above or below the view keeps its label on screen', () => {
  assert.equal(labelPlacement({ x: 10, y: -300, width: 50, height: 50 }, 40, 500, 400).y, 16);
  assert.equal(labelPlacement({ x: 10, y: 900, width: 50, height: 50 }, 40, 500, 400).y, 396);
});
