/**
 * The model's Grad-CAM map as the worker stores it with a CT prediction
 * (inference.saliency.heat_volume): bytes 0..255, axes (S, P, L), placed in the patient by the
 * LPS millimetres of voxel (0, 0, 0) and an isotropic spacing. Pure functions (no DOM).
 */

export const VOLUME_ENCODING = 'uint8-zlib-base64';

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
 * The map's value (0..1) at an LPS point in mm, trilinear between voxel centres; 0 outside.
 */
export function sampleHeat(volume, bytes, [x, y, z]) {
  const [ns, np, nl] = volume.shape;
  const [ox, oy, oz] = volume.origin_lps;
  const step = volume.spacing_mm;
  const l = (x - ox) / step;
  const p = (y - oy) / step;
  const s = (z - oz) / step;
  if (l < 0 || p < 0 || s < 0 || l > nl - 1 || p > np - 1 || s > ns - 1) return 0;
  const l0 = Math.min(nl - 2, Math.floor(l));
  const p0 = Math.min(np - 2, Math.floor(p));
  const s0 = Math.min(ns - 2, Math.floor(s));
  const fl = l - l0;
  const fp = p - p0;
  const fs = s - s0;
  const at = (ds, dp, dl) => bytes[((s0 + ds) * np + (p0 + dp)) * nl + (l0 + dl)];
  const c00 = at(0, 0, 0) * (1 - fl) + at(0, 0, 1) * fl;
  const c01 = at(0, 1, 0) * (1 - fl) + at(0, 1, 1) * fl;
  const c10 = at(1, 0, 0) * (1 - fl) + at(1, 0, 1) * fl;
  const c11 = at(1, 1, 0) * (1 - fl) + at(1, 1, 1) * fl;
  const c0 = c00 * (1 - fp) + c01 * fp;
  const c1 = c10 * (1 - fp) + c11 * fp;
  return (c0 * (1 - fs) + c1 * fs) / 255;
}

/**
 * Paints the map into RGBA `pixels` (width x height) for a plane given by the LPS points of
 * canvas pixels (0, 0), (1, 0) and (0, 1): an orthographic view maps the canvas affinely.
 * Pixels without heat are left transparent. Returns how many pixels got heat.
 *
 * The same trilinear sampling as `sampleHeat`, written out without allocations: it runs at
 * every rendered frame over every pixel of the viewport (benchmarks/bench_saliency_overlay.mjs).
 */
export function paintPlane(volume, bytes, table, pixels, width, height, [origin, alongX, alongY], { alpha = 0.55, floor = 0.08 } = {}) {
  const [ns, np, nl] = volume.shape;
  const [ox, oy, oz] = volume.origin_lps;
  const inv = 1 / volume.spacing_mm;
  // Voxel coordinates (l, p, s) are affine in (col, row): at the centre of pixel (0, 0) and per step.
  const lx = (alongX[0] - origin[0]) * inv;
  const px = (alongX[1] - origin[1]) * inv;
  const sx = (alongX[2] - origin[2]) * inv;
  const ly = (alongY[0] - origin[0]) * inv;
  const py = (alongY[1] - origin[1]) * inv;
  const sy = (alongY[2] - origin[2]) * inv;
  const l00 = (origin[0] - ox) * inv + 0.5 * (lx + ly);
  const p00 = (origin[1] - oy) * inv + 0.5 * (px + py);
  const s00 = (origin[2] - oz) * inv + 0.5 * (sx + sy);
  const slab = np * nl;
  const alpha255 = 255 * alpha;
  pixels.fill(0);
  let painted = 0;
  for (let row = 0; row < height; row += 1) {
    let l = l00 + row * ly;
    let p = p00 + row * py;
    let s = s00 + row * sy;
    let index = row * width * 4;
    for (let col = 0; col < width; col += 1, l += lx, p += px, s += sx, index += 4) {
      if (l < 0 || p < 0 || s < 0 || l > nl - 1 || p > np - 1 || s > ns - 1) continue;
      const l0 = l < nl - 1 ? l | 0 : nl - 2;
      const p0 = p < np - 1 ? p | 0 : np - 2;
      const s0 = s < ns - 1 ? s | 0 : ns - 2;
      const fl = l - l0;
      const fp = p - p0;
      const fs = s - s0;
      const base = s0 * slab + p0 * nl + l0;
      const c00 = bytes[base] + (bytes[base + 1] - bytes[base]) * fl;
      const c01 = bytes[base + nl] + (bytes[base + nl + 1] - bytes[base + nl]) * fl;
      const c10 = bytes[base + slab] + (bytes[base + slab + 1] - bytes[base + slab]) * fl;
      const c11 = bytes[base + slab + nl] + (bytes[base + slab + nl + 1] - bytes[base + slab + nl]) * fl;
      const c0 = c00 + (c01 - c00) * fp;
      const c1 = c10 + (c11 - c10) * fp;
      const value = (c0 + (c1 - c0) * fs) / 255;
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
