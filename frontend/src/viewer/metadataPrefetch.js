/**
 * Starts fetching the series' WADO-RS metadata as soon as the case payload is known, while the
 * (large) viewer code is still being parsed: the first image needs both.
 *
 * A CT's server-made sagittal series is only shown when the browser cannot build the reformat
 * itself, so its metadata is left until then.
 */
import { getJson } from '../lib/api.js';

export function seriesNeededFirst(payload) {
  const series = payload.series || [];
  const hasAxial = series.some((s) => s.role === 'axial');
  return payload.modality === 'CT' && hasAxial ? series.filter((s) => s.role !== 'sagittal') : series;
}

/** A map from metadata URL to the promise of its JSON. */
export function prefetchSeriesMetadata(payload) {
  const fetches = new Map();
  for (const series of seriesNeededFirst(payload)) {
    const url = series.metadata_url;
    if (url && !fetches.has(url)) {
      const promise = getJson(url);
      promise.catch(() => {}); // the viewer reports it when it needs the metadata
      fetches.set(url, promise);
    }
  }
  return fetches;
}
