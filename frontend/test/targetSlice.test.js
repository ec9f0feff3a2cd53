// Where each view opens: the slice through the target vertebra, not the series' middle.
// Run: npm test (node's built-in test runner; no browser needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cameraThrough, sliceThrough } from '../src/viewer/targetSlice.js';

// 32 axial slices 2.5 mm apart from z = -40 mm (as tests/browser/dicom_series.py writes them).
const AXIAL = Array.from({ length: 32 }, (_, k) => ({
  imagePositionPatient: [-32, -32, -40 + 2.5 * k], rowCosines: [1, 0, 0], columnCosines: [0, 1, 0],
}));

test('a stack opens on the slice nearest the target centre', () => {
  assert.equal(sliceThrough(AXIAL, [0, 0, -20]), 8); // -40 + 8 * 2.5
  assert.equal(sliceThrough(AXIAL, [5, -7, 11.1]), 20); // 10.0 is nearer than 12.5
  // In-plane coordinates do not matter, only the distance along the normal.
  assert.equal(sliceThrough(AXIAL, [300, 300, -20]), 8);
});

test('a target beyond the stack opens on its nearest end slice', () => {
  assert.equal(sliceThrough(AXIAL, [0, 0, -100]), 0);
  assert.equal(sliceThrough(AXIAL, [0, 0, 100]), 31);
});

test('a sagittal stack (normal along x) uses the x coordinate', () => {
  // Sagittal: row along y, column along -z, so the normal is (-1, 0, 0); positions along it.
  const sagittal = Array.from({ length: 12 }, (_, k) => ({
    imagePositionPatient: [22 - 4 * k, -32, 32], rowCosines: [0, 1, 0], columnCosines: [0, 0, -1],
  }));
  assert.equal(sliceThrough(sagittal, [-10, 0, 0]), 8); // 22 - 8 * 4
});

test('without a centre or slice positions the view opens on the middle slice, as before', () => {
  assert.equal(sliceThrough(AXIAL, null), 16);
  assert.equal(sliceThrough(AXIAL.map(() => ({})), [0, 0, -20]), 16); // WADO-URI: nothing known yet
  assert.equal(sliceThrough([...AXIAL.slice(0, 5), {}, ...AXIAL.slice(6)], [0, 0, -20]), 16);
  assert.equal(sliceThrough([], [0, 0, 0]), 0);
});

test('a reformat camera moves along its normal only: same direction, zoom and in-plane position', () => {
  const camera = {
    viewPlaneNormal: [1, 0, 0], viewUp: [0, 0, 1], focalPoint: [0, 2, 3], position: [500, 2, 3],
  };
  assert.deepEqual(cameraThrough(camera, [10, 5, -30]), { focalPoint: [10, 2, 3], position: [510, 2, 3] });
  assert.equal(cameraThrough(camera, null), null);
  assert.equal(cameraThrough({ ...camera, viewPlaneNormal: undefined }, [1, 2, 3]), null);
});
