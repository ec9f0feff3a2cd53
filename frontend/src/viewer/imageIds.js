/**
 * Turns a series of the case payload into Cornerstone image ids.
 *
 * Two schemes, both authenticated by the session cookie:
 * - `wadors:` (preferred): one request for the whole series' WADO-RS metadata, then one
 *   request per frame. The metadata lets a volume be laid out before any pixel arrives.
 * - `wadouri:`: one Part-10 file per instance; used when a series has no metadata URL.
 */
import { wadors } from '@cornerstonejs/dicom-image-loader';

import { getJson } from '../lib/api.js';

const SOP_INSTANCE_UID = '00080018';

function absolute(url) {
  return new URL(url, window.location.origin).href;
}

/** `.../frames`, `.../frames/1` or `.../frames/1,2` -> the URL of frame `n` (1-based). */
export function frameUrl(framesUrl, n) {
  const base = framesUrl.replace(/\/frames(\/[\d,]*)?\/?$/, '/frames');
  if (!base.endsWith('/frames')) {
    throw new Error(`Not a WADO-RS frames URL: ${framesUrl}`);
  }
  return `${base}/${n}`;
}

function framesOf(instance) {
  const count = Number(instance.number_of_frames || 1);
  return Array.from({ length: count }, (_, i) => i + 1);
}

export function wadouriImageIds(series) {
  const ids = [];
  for (const instance of series.instances) {
    const frames = framesOf(instance);
    for (const n of frames) {
      const url = absolute(instance.wado_uri);
      // The loader reads a 1-based `frame` parameter from the image id of a multi-frame file.
      const separator = url.includes('?') ? '&' : '?';
      ids.push(frames.length > 1 ? `wadouri:${url}${separator}frame=${n}` : `wadouri:${url}`);
    }
  }
  return ids;
}

/**
 * Fetches the series metadata and registers it for every frame; returns the image ids in the
 * payload's order (along the slice normal).
 */
export async function wadorsImageIds(series, { prefetched } = {}) {
  const metadata = await (prefetched?.get(series.metadata_url) ?? getJson(series.metadata_url));
  if (!Array.isArray(metadata)) {
    throw new Error(`Series metadata for "${series.label}" is not a list of instances.`);
  }
  const bySop = new Map();
  for (const item of metadata) {
    const sop = item?.[SOP_INSTANCE_UID]?.Value?.[0];
    if (sop) bySop.set(sop, item);
  }
  const ids = [];
  for (const instance of series.instances) {
    const instanceMetadata = bySop.get(instance.sop_uid);
    if (!instanceMetadata) {
      throw new Error(
        `Series "${series.label}": instance ${instance.sop_uid} is missing from its metadata.`,
      );
    }
    for (const n of framesOf(instance)) {
      const imageId = `wadors:${absolute(frameUrl(instance.frames_url, n))}`;
      wadors.metaDataManager.add(imageId, instanceMetadata);
      ids.push(imageId);
    }
  }
  return ids;
}

/** Image ids for `series`, by WADO-RS when it has metadata and frames URLs, else WADO-URI. */
export async function imageIdsFor(series, { scheme = 'auto', prefetched } = {}) {
  if (!series.instances?.length) {
    throw new Error(`Series "${series.label}" has no images.`);
  }
  const canUseWadors = series.metadata_url && series.instances.every((i) => i.frames_url);
  if (scheme === 'wadors' || (scheme === 'auto' && canUseWadors)) {
    return wadorsImageIds(series, { prefetched });
  }
  return wadouriImageIds(series);
}
