/**
 * Where each view opens: on the slice through the vertebra asked about (the case's stored
 * target centre), not on the middle of the series. A reader opening a case sees the vertebra
 * at once, as the published readers did, and the slices near it load first.
 *
 * Pure geometry (no Cornerstone import), so node's test runner checks it without a browser.
 */

const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const isPoint = (p) => Array.isArray(p) && p.length === 3 && p.every(Number.isFinite);

/**
 * The index of the slice whose plane lies nearest `center` (LPS, mm). `planes` holds each
 * slice's `imagePlaneModule` (`imagePositionPatient`, `rowCosines`, `columnCosines`), in the
 * stack's order. The middle slice when there is no centre or a plane lacks its position (a
 * WADO-URI series before its files arrive): the view still opens, as before.
 */
export function sliceThrough(planes, center) {
  const middle = Math.floor(planes.length / 2);
  if (!isPoint(center) || !planes.length) return middle;
  const first = planes[0];
  if (!isPoint(first?.rowCosines) || !isPoint(first?.columnCosines)) return middle;
  const normal = cross(first.rowCosines, first.columnCosines);
  let best = middle;
  let bestDistance = Infinity;
  for (let i = 0; i < planes.length; i += 1) {
    const position = planes[i]?.imagePositionPatient;
    if (!isPoint(position)) return middle;
    const distance = Math.abs(dot(sub(center, position), normal));
    if (distance < bestDistance) {
      best = i;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * The camera that shows the plane through `center` with the same direction and zoom: the
 * focal point and position moved along the view's normal only (the picture does not pan).
 * Null when there is no centre or the camera has no normal.
 */
export function cameraThrough(camera, center) {
  const normal = camera?.viewPlaneNormal;
  if (!isPoint(center) || !isPoint(normal) || !isPoint(camera.focalPoint) || !isPoint(camera.position)) return null;
  const shift = dot(sub(center, camera.focalPoint), normal);
  const move = (p) => p.map((v, i) => v + shift * normal[i]);
  return { focalPoint: move(camera.focalPoint), position: move(camera.position) };
}
