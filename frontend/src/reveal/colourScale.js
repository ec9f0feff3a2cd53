/**
 * The saliency colour scale: matplotlib's "inferno" (perceptually uniform, readable in grey),
 * the map the server's small views use too. Pure functions, tested with node --test.
 */

// inferno at 0, 1/8, ..., 1 (matplotlib's table, rounded to bytes).
const STOPS = [
  [0, 0, 4],
  [33, 12, 74],
  [87, 16, 110],
  [138, 34, 106],
  [188, 55, 84],
  [228, 90, 49],
  [249, 142, 9],
  [249, 203, 53],
  [252, 255, 164],
];

/** [r, g, b] bytes of the colour for a value in 0..1 (clamped). */
export function infernoColour(value) {
  const v = Math.min(1, Math.max(0, Number.isFinite(value) ? value : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(v));
  const t = v - i;
  return STOPS[i].map((c, k) => Math.round(c + (STOPS[i + 1][k] - c) * t));
}

/** 256 colours as one Uint8Array of r, g, b (index = value * 255). */
export function infernoTable() {
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i += 1) table.set(infernoColour(i / 255), i * 3);
  return table;
}

/** A CSS linear-gradient of the scale, low at the left. */
export function infernoGradient() {
  const parts = STOPS.map((rgb, i) => `rgb(${rgb.join(' ')}) ${Math.round((i * 100) / (STOPS.length - 1))}%`);
  return `linear-gradient(to right, ${parts.join(', ')})`;
}
