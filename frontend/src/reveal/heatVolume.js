/**
 * The model's Grad-CAM map as the worker stores it with a prediction, placed in the patient:
 * bytes 0..255 in C order of `shape`, the LPS millimetres of voxel (0, 0, 0) and a spacing.
 * CT (inference.saliency.heat_volume): a cube, axes "SPL" (inferior -> superior, anterior ->
 * posterior, right -> left), one isotropic spacing. MRI (heat_plane): one plane of a 2-D
 * network's map, axes "NRC" with their LPS unit `directions` (slice normal, rows, columns) and a
 * spacing per axis; an axis one voxel long is a slab as thick as its spacing, painted only
 * within it. Pure functions (no DOM).
 */

export const VOLUME_ENCODING = 'uint8-zlib-base64';

// The LPS unit vector of each array axis, for maps stored without `directions`.
const NAMED_AXES = { SPL: [[0, 0, 1], [0, 1, 0], [1, 0, 0]] };

/** The map's bytes from the stored base64 zlib stream (DecompressionStream: browsers, Node 18+). */
export async function decodeHeat(volume) {
  if (volume?.encoding !== VOLUME_ENCODING) throw new Error(`unknown saliency encoding ${volume?.encoding}`);
  const binary = Uint8Array.from(atob(volume.data), (c) => c.charCodeAt(0));
  const stream = new Blob([binary]).stream().pipeThrough(new DecompressionStream('deflate'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  const [s, p, l] = volume.shape;
  if (bytes.length !== s * p * l) throw new Error(`saliency map of ${bytes.length} bytes for shape ${volume.shape}`);
  return bytes;
}

/**
 * How to find a voxel from an LPS point: index (along the array's axes, in voxels) =
 * inverse x (point - origin), where the columns of the inverted matrix are each axis's direction
 * times its spacing (so oblique MRI planes work as CT's patient-aligned cube).
 */
export function heatGrid(volume) {
  const spacing = Array.isArray(volume.spacing_mm) ? volume.spacing_mm : [0, 1, 2].map(() => volume.spacing_mm);
  const directions = volume.directions || NAMED_AXES[volume.axes];
  if (!directions) throw new Error(`saliency map without directions (axes ${volume.axes})`);
  const m = [0, 1, 2].map((r) => [0, 1, 2].map((a) => directions[a][r] * spacing[a]));
  const det =
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new Error('saliency map with a degenerate grid');
  const cof = (r0, r1, c0, c1) => m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
  const inverse = [
    [cof(1, 2, 1, 2) / det, -cof(0, 2, 1, 2) / det, cof(0, 1, 1, 2) / det],
    [-cof(1, 2, 0, 2) / det, cof(0, 2, 0, 2) / det, -cof(0, 1, 0, 2) / det],
    [cof(1, 2, 0, 1) / det, -cof(0, 2, 0, 1) / det, cof(0, 1, 0, 1) / det],
  ];
  return { origin: volume.origin_lps, inverse, shape: volume.shape };
}

// Voxel index (continuous) of an LPS point, per array axis.
function indexOf(grid, point) {
  const d = [0, 1, 2].map((r) => point[r] - grid.origin[r]);
  return grid.inverse.map((row) => row[0] * d[0] + row[1] * d[1] + row[2] * d[2]);
}

/**
 * The map's value (0..1) at an LPS point in mm: trilinear between voxel centres (an axis one
 * voxel long: constant within half a voxel); 0 outside.
 */
export function sampleHeat(volume, bytes, point, grid = heatGrid(volume)) {
  const [n0, n1, n2] = volume.shape;
  return trilinear(bytes, n0, n1, n2, ...indexOf(grid, point)) / 255;
}

const EDGE = 1e-9;

// The byte value at continuous index (a, b, c) of an (n0, n1, n2) map, or 0 outside it.
function trilinear(bytes, n0, n1, n2, a, b, c) {
  // EDGE: a point on the map's border computed through an oblique grid may miss it by rounding.
  if (a < (n0 === 1 ? -0.5 : 0) - EDGE || a > (n0 === 1 ? 0.5 : n0 - 1) + EDGE) return 0;
  if (b < (n1 === 1 ? -0.5 : 0) - EDGE || b > (n1 === 1 ? 0.5 : n1 - 1) + EDGE) return 0;
  if (c < (n2 === 1 ? -0.5 : 0) - EDGE || c > (n2 === 1 ? 0.5 : n2 - 1) + EDGE) return 0;
  // A one-voxel axis has stride 0: its "next" voxel is itself, and its fraction is 0.
  const a0 = n0 === 1 ? 0 : a < n0 - 1 ? a | 0 : n0 - 2;
  const b0 = n1 === 1 ? 0 : b < n1 - 1 ? b | 0 : n1 - 2;
  const c0 = n2 === 1 ? 0 : c < n2 - 1 ? c | 0 : n2 - 2;
  const sa = n0 === 1 ? 0 : n1 * n2;
  const sb = n1 === 1 ? 0 : n2;
  const sc = n2 === 1 ? 0 : 1;
  const fa = n0 === 1 ? 0 : a - a0;
  const fb = n1 === 1 ? 0 : b - b0;
  const fc = n2 === 1 ? 0 : c - c0;
  const base = a0 * n1 * n2 + b0 * n2 + c0;
  const v00 = bytes[base] + (bytes[base + sc] - bytes[base]) * fc;
  const v01 = bytes[base + sb] + (bytes[base + sb + sc] - bytes[base + sb]) * fc;
  const v10 = bytes[base + sa] + (bytes[base + sa + sc] - bytes[base + sa]) * fc;
  const v11 = bytes[base + sa + sb] + (bytes[base + sa + sb + sc] - bytes[base + sa + sb]) * fc;
  const v0 = v00 + (v01 - v00) * fb;
  const v1 = v10 + (v11 - v10) * fb;
  return v0 + (v1 - v0) * fa;
}

/**
 * Paints the map into RGBA `pixels` (width x height) for a plane given by the LPS points of
 * canvas pixels (0, 0), (1, 0) and (0, 1): an orthographic view maps the canvas affinely.
 * Pixels without heat are left transparent. Returns how many pixels got heat.
 *
 * The same sampling as `sampleHeat`, written out without calls or allocations, the voxel index
 * stepped along the canvas (it is affine in (col, row)): this runs at every rendered frame over
 * every pixel of the viewport (benchmarks/bench_saliency_overlay.mjs).
 */
export function paintPlane(volume, bytes, table, pixels, width, height, [origin, alongX, alongY], { alpha = 0.55, floor = 0.08 } = {}) {
  const [n0, n1, n2] = volume.shape;
  const grid = heatGrid(volume);
  // At the centre of pixel (0, 0), and per step along a row and down a column.
  const centre = [0, 1, 2].map((k) => origin[k] + 0.5 * (alongX[k] - origin[k]) + 0.5 * (alongY[k] - origin[k]));
  const start = indexOf(grid, centre);
  const atX = indexOf(grid, alongX);
  const atO = indexOf(grid, origin);
  const atY = indexOf(grid, alongY);
  const [ax, bx, cx] = [0, 1, 2].map((k) => atX[k] - atO[k]);
  const [ay, by, cy] = [0, 1, 2].map((k) => atY[k] - atO[k]);
  const alpha255 = 255 * alpha;
  // Per axis: the range inside the map, the last voxel a cell starts at, the stride to the next
  // voxel, and whether fractions count (a one-voxel axis: stride 0, fraction 0), as `trilinear`.
  const lo0 = (n0 === 1 ? -0.5 : 0) - EDGE;
  const lo1 = (n1 === 1 ? -0.5 : 0) - EDGE;
  const lo2 = (n2 === 1 ? -0.5 : 0) - EDGE;
  const hi0 = (n0 === 1 ? 0.5 : n0 - 1) + EDGE;
  const hi1 = (n1 === 1 ? 0.5 : n1 - 1) + EDGE;
  const hi2 = (n2 === 1 ? 0.5 : n2 - 1) + EDGE;
  const top0 = Math.max(0, n0 - 2);
  const top1 = Math.max(0, n1 - 2);
  const top2 = Math.max(0, n2 - 2);
  const w0 = n0 === 1 ? 0 : 1;
  const w1 = n1 === 1 ? 0 : 1;
  const w2 = n2 === 1 ? 0 : 1;
  const slab = n1 * n2;
  const sa = w0 * slab;
  const sb = w1 * n2;
  const sc = w2;
  pixels.fill(0);
  let painted = 0;
  for (let row = 0; row < height; row += 1) {
    let a = start[0] + row * ay;
    let b = start[1] + row * by;
    let c = start[2] + row * cy;
    let index = row * width * 4;
    for (let col = 0; col < width; col += 1, a += ax, b += bx, c += cx, index += 4) {
      if (a < lo0 || b < lo1 || c < lo2 || a > hi0 || b > hi1 || c > hi2) continue;
      const a0 = a > 0 ? Math.min(top0, a | 0) : 0;
      const b0 = b > 0 ? Math.min(top1, b | 0) : 0;
      const c0 = c > 0 ? Math.min(top2, c | 0) : 0;
      const fa = w0 * (a - a0);
      const fb = w1 * (b - b0);
      const fc = w2 * (c - c0);
      const base = a0 * slab + b0 * n2 + c0;
      const v00 = bytes[base] + (bytes[base + sc] - bytes[base]) * fc;
      const v01 = bytes[base + sb] + (bytes[base + sb + sc] - bytes[base + sb]) * fc;
      const v10 = bytes[base + sa] + (bytes[base + sa + sc] - bytes[base + sa]) * fc;
      const v11 = bytes[base + sa + sb] + (bytes[base + sa + sb + sc] - bytes[base + sa + sb]) * fc;
      const v0 = v00 + (v01 - v00) * fb;
      const value = (v0 + (v10 + (v11 - v10) * fb - v0) * fa) / 255;
      if (value <= floor) continue;
      const entry = Math.round(value * 255) * 3;
      pixels[index] = table[entry];
      pixels[index + 1] = table[entry + 1];
      pixels[index + 2] = table[entry + 2];
      pixels[index + 3] = Math.round(alpha255 * value);
      painted += 1;
    }
  }
  return painted;
}
