// The saliency overlay's pure parts: decoding the worker's map, placing it in the patient,
// painting a plane, and the colour scale (matplotlib's inferno at its ends and middle).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';

import { infernoColour, infernoTable } from '../src/reveal/colourScale.js';
import { decodeHeat, paintPlane, sampleHeat } from '../src/reveal/heatVolume.js';

function stored(shape, fill) {
  const bytes = new Uint8Array(shape[0] * shape[1] * shape[2]);
  fill(bytes);
  return {
    shape,
    origin_lps: [-10, 20, 100],
    spacing_mm: 2,
    axes: 'SPL',
    encoding: 'uint8-zlib-base64',
    data: deflateSync(bytes).toString('base64'),
  };
}

test('the map decodes to its bytes in (S, P, L) order', async () => {
  const volume = stored([2, 3, 4], (b) => b.forEach((_, i) => (b[i] = i)));
  const bytes = await decodeHeat(volume);
  assert.deepEqual([...bytes], [...Array(24).keys()]);
});

test('a voxel is found at origin + (l, p, s) * spacing and nothing outside the patch', async () => {
  // One hot voxel at s=1, p=2, l=3 of a 4x4x4 map.
  const volume = stored([4, 4, 4], (b) => (b[(1 * 4 + 2) * 4 + 3] = 255));
  const bytes = await decodeHeat(volume);
  const at = [-10 + 3 * 2, 20 + 2 * 2, 100 + 1 * 2];
  assert.equal(sampleHeat(volume, bytes, at), 1);
  assert.equal(sampleHeat(volume, bytes, [at[0] - 1, at[1], at[2]]), 0.5); // halfway to the voxel before
  assert.equal(sampleHeat(volume, bytes, [-10 - 0.1, 20, 100]), 0);
  assert.equal(sampleHeat(volume, bytes, [at[0], at[1], 100 + 4 * 2]), 0);
});

test('painting an axial plane through the hot voxel colours only the pixels near it', async () => {
  const volume = stored([4, 4, 4], (b) => (b[(1 * 4 + 2) * 4 + 3] = 255));
  const bytes = await decodeHeat(volume);
  // Canvas pixel (col, row) at LPS (-10 + col, 20 + row, 102): 1 mm a pixel, the plane s = 1.
  const plane = [[-10.5, 19.5, 102], [-9.5, 19.5, 102], [-10.5, 20.5, 102]];
  const width = 10;
  const height = 10;
  const pixels = new Uint8ClampedArray(width * height * 4);
  const painted = paintPlane(volume, bytes, infernoTable(), pixels, width, height, plane);
  const alphaAt = (col, row) => pixels[(row * width + col) * 4 + 3];
  assert.ok(painted > 0 && painted < 16, `painted ${painted}`);
  assert.equal(alphaAt(6, 4), Math.round(255 * 0.55)); // the hot voxel: (l=3, p=2) -> (6 mm, 4 mm)
  assert.equal(alphaAt(0, 0), 0);
  assert.deepEqual([...pixels.slice((4 * width + 6) * 4, (4 * width + 6) * 4 + 3)], infernoColour(1));
});

test('the colour scale is inferno: black-purple at 0, orange-red in the middle, pale yellow at 1', () => {
  // matplotlib.colormaps["inferno"](v) for v = 0.0, 0.5, 1.0, times 255, rounded (matplotlib 3.x).
  assert.deepEqual(infernoColour(0), [0, 0, 4]);
  assert.deepEqual(infernoColour(0.5), [188, 55, 84]);
  assert.deepEqual(infernoColour(1), [252, 255, 164]);
  assert.deepEqual(infernoColour(2), infernoColour(1));
});

test('the painted plane samples the map as sampleHeat does, on an oblique plane too', async () => {
  const volume = stored([8, 8, 8], (b) => b.forEach((_, i) => (b[i] = (i * 37) % 256)));
  const bytes = await decodeHeat(volume);
  const table = infernoTable();
  const origin = [-11, 19, 99];
  const alongX = [-11 + 0.9, 19 + 0.2, 99 + 0.3];
  const alongY = [-11 - 0.1, 19 + 0.8, 99 + 0.5];
  const width = 20;
  const height = 20;
  const pixels = new Uint8ClampedArray(width * height * 4);
  paintPlane(volume, bytes, table, pixels, width, height, [origin, alongX, alongY], { floor: 0 });
  let compared = 0;
  for (let row = 0; row < height; row += 1) {
    for (let col = 0; col < width; col += 1) {
      const point = [0, 1, 2].map((k) => origin[k] + (col + 0.5) * (alongX[k] - origin[k]) + (row + 0.5) * (alongY[k] - origin[k]));
      const value = sampleHeat(volume, bytes, point);
      const alpha = pixels[(row * width + col) * 4 + 3];
      assert.ok(Math.abs(alpha - (value > 0 ? Math.round(255 * 0.55 * value) : 0)) <= 1, `pixel ${col},${row}`);
      if (value > 0) compared += 1;
    }
  }
  assert.ok(compared > 50, `${compared} pixels inside the map`);
});

test('an MRI plane (heat_plane) is found along its own oblique axes and only within its slab', async () => {
  // A 2-D map of 5 rows x 6 columns in a plane tilted about two axes, as inference.saliency
  // .heat_plane stores it: pixel (r, c) at origin + r * 0.9 * down + c * 0.9 * across.
  const t = Math.PI / 9;
  const u = Math.PI / 12;
  const normal = [Math.cos(t), Math.sin(t) * Math.sin(u), -Math.sin(t) * Math.cos(u)];
  const down = [0, -Math.cos(u), -Math.sin(u)];
  const across = [Math.sin(t), -Math.cos(t) * Math.sin(u), Math.cos(t) * Math.cos(u)];
  const bytes = new Uint8Array(30).map((_, i) => 7 * i + 3);
  const volume = {
    shape: [1, 5, 6],
    origin_lps: [12, -30, 80],
    spacing_mm: [12, 0.9, 0.9],
    directions: [normal, down, across],
    axes: 'NRC',
    encoding: 'uint8-zlib-base64',
    data: deflateSync(bytes).toString('base64'),
  };
  const decoded = await decodeHeat(volume);
  const at = (r, c, n) => [0, 1, 2].map((k) => volume.origin_lps[k] + 0.9 * (r * down[k] + c * across[k]) + n * normal[k]);
  for (const [r, c] of [[0, 0], [2, 3], [4, 5]]) {
    const expected = bytes[r * 6 + c] / 255;
    assert.ok(Math.abs(sampleHeat(volume, decoded, at(r, c, 0)) - expected) < 1e-9);
    assert.ok(Math.abs(sampleHeat(volume, decoded, at(r, c, 5.9)) - expected) < 1e-9); // in the 12 mm slab
    assert.equal(sampleHeat(volume, decoded, at(r, c, 6.1)), 0); // beyond it
  }
  // Halfway between two columns: their mean.
  const between = (bytes[2 * 6 + 3] + bytes[2 * 6 + 4]) / 2 / 255;
  assert.ok(Math.abs(sampleHeat(volume, decoded, at(2, 3.5, -2)) - between) < 1e-9);
  assert.equal(sampleHeat(volume, decoded, at(-0.1, 0, 0)), 0);
  // Painting the plane itself at 0.9 mm a pixel reproduces the map pixel for pixel.
  const plane = [at(-0.5, -0.5, 1), at(-0.5, 0.5, 1), at(0.5, -0.5, 1)];
  const pixels = new Uint8ClampedArray(6 * 5 * 4);
  const painted = paintPlane(volume, decoded, infernoTable(), pixels, 6, 5, plane, { floor: 0 });
  assert.equal(painted, 30);
  for (let i = 0; i < 30; i += 1) {
    assert.ok(Math.abs(pixels[i * 4 + 3] - Math.round(255 * 0.55 * (bytes[i] / 255))) <= 1, `pixel ${i}`);
  }
});
