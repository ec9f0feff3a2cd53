// Benchmark: painting the saliency overlay for one viewport (frontend/src/reveal/heatVolume.js),
// what the reading room does at every rendered slice, zoom or pan while the overlay is on.
// A 64^3 Grad-CAM map at 1 mm, a plane through its centre, canvases of 512^2, 800^2 and
// 1024^2 CSS pixels (a viewport of a 1920 x 1080 reading screen is about 800 x 1000).
// Then an MRI map (inference.saliency.heat_plane): one 64^2 plane of 0.94 mm pixels in a 12 mm
// slab, painted over a sagittal viewport through it.
// Target: under 50 ms for an 800^2 viewport on one core of this machine, so that scrolling
// with the overlay on stays fluid.
// Run: node benchmarks/bench_saliency_overlay.mjs
import { deflateSync } from 'node:zlib';

import { infernoTable } from '../frontend/src/reveal/colourScale.js';
import { decodeHeat, paintPlane } from '../frontend/src/reveal/heatVolume.js';

const n = 64;
const bytes = new Uint8Array(n * n * n);
for (let s = 0; s < n; s += 1)
  for (let p = 0; p < n; p += 1)
    for (let l = 0; l < n; l += 1) {
      const r2 = (s - 32) ** 2 + (p - 28) ** 2 + (l - 36) ** 2;
      bytes[(s * n + p) * n + l] = Math.round(255 * Math.exp(-r2 / (2 * 10 ** 2)));
    }
const volume = { shape: [n, n, n], origin_lps: [-32, -32, -32], spacing_mm: 1, axes: 'SPL', encoding: 'uint8-zlib-base64', data: deflateSync(bytes).toString('base64') };
const t0 = performance.now();
const decoded = await decodeHeat(volume);
console.log(`decode 64^3 map (${volume.data.length} base64 chars): ${(performance.now() - t0).toFixed(1)} ms`);
const table = infernoTable();
for (const size of [512, 800, 1024]) {
  const mmPerPixel = 200 / size; // a 200 mm field of view across the viewport
  const plane = [[-100, -100, 0], [-100 + mmPerPixel, -100, 0], [-100, -100 + mmPerPixel, 0]];
  const pixels = new Uint8ClampedArray(size * size * 4);
  paintPlane(volume, decoded, table, pixels, size, size, plane); // warm-up
  const times = [];
  for (let i = 0; i < 10; i += 1) {
    const start = performance.now();
    paintPlane(volume, decoded, table, pixels, size, size, plane);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  console.log(`paint ${size}x${size}: median ${times[5].toFixed(1)} ms, best ${times[0].toFixed(1)} ms (10 runs)`);
}

const m = 64;
const planeBytes = new Uint8Array(m * m);
for (let r = 0; r < m; r += 1)
  for (let c = 0; c < m; c += 1) planeBytes[r * m + c] = Math.round(255 * Math.exp(-((r - 32) ** 2 + (c - 30) ** 2) / (2 * 10 ** 2)));
const pixelMm = 60 / m;
const mri = {
  shape: [1, m, m], origin_lps: [0, -30 + pixelMm / 2, 30 - pixelMm / 2], spacing_mm: [12, pixelMm, pixelMm],
  directions: [[1, 0, 0], [0, 0, -1], [0, 1, 0]], axes: 'NRC', encoding: 'uint8-zlib-base64',
  data: deflateSync(planeBytes).toString('base64'),
};
const mriDecoded = await decodeHeat(mri);
for (const size of [512, 800, 1024]) {
  const mmPerPixel = 200 / size; // sagittal: columns anterior -> posterior, rows superior -> inferior
  const plane = [[1, -100, 100], [1, -100 + mmPerPixel, 100], [1, -100, 100 - mmPerPixel]];
  const pixels = new Uint8ClampedArray(size * size * 4);
  paintPlane(mri, mriDecoded, table, pixels, size, size, plane); // warm-up
  const times = [];
  for (let i = 0; i < 10; i += 1) {
    const start = performance.now();
    paintPlane(mri, mriDecoded, table, pixels, size, size, plane);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  console.log(`paint MRI plane ${size}x${size}: median ${times[5].toFixed(1)} ms, best ${times[0].toFixed(1)} ms (10 runs)`);
}
