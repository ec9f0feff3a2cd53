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
 * Returns how many pixels got heat.
 */
export function paintPlane(volume, bytes, table, pixels, width, height, [origin, alongX, alongY], { alpha = 0.55, floor = 0.08 } = {}) {
  const dx = alongX.map((v, k) => v - origin[k]);
  const dy = alongY.map((v, k) => v - origin[k]);
  let painted = 0;
  for (let row = 0; row < height; row += 1) {
    for (let col = 0; col < width; col += 1) {
      const point = [0, 1, 2].map((k) => origin[k] + (col + 0.5) * dx[k] + (row + 0.5) * dy[k]);
      const value = sampleHeat(volume, bytes, point);
      const index = (row * width + col) * 4;
      if (value <= floor) {
        pixels[index + 3] = 0;
        continue;
      }
      const entry = Math.round(value * 255) * 3;
      pixels[index] = table[entry];
      pixels[index + 1] = table[entry + 1];
      pixels[index + 2] = table[entry + 2];
      pixels[index + 3] = Math.round(255 * alpha * value);
      painted += 1;
    }
  }
  return painted;
}
