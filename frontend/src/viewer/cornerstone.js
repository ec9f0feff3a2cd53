/**
 * Starts Cornerstone3D once per page: rendering core, tools and the DICOM image loader.
 *
 * Without WebGL the core falls back to CPU rendering by itself; stack viewports keep working,
 * volume viewports do not, so callers ask `canRenderVolumes()` before building a reformat.
 */
import {
  Enums,
  getRenderingCapabilities,
  getShouldUseCPURendering,
  getWebWorkerManager,
  init as coreInit,
  metaData,
} from '@cornerstonejs/core';
import { init as dicomImageLoaderInit } from '@cornerstonejs/dicom-image-loader';
import { init as toolsInit } from '@cornerstonejs/tools';

import { ctDefaultWindowProvider } from './presets.js';

let started = false;

/**
 * What a WADO-RS frame request accepts: the frame alone (PS3.18 single-part payload), which the
 * server sends straight from the stored file; multipart, the standard default, as a fallback.
 * The loader reads the transfer syntax from the response's Content-Type either way.
 */
export const FRAME_ACCEPT =
  'application/octet-stream; transfer-syntax=*, image/*, ' +
  'multipart/related; type="application/octet-stream"; transfer-syntax=*; q=0.5';

/** Extra request headers for the image loader: `Accept` for WADO-RS frames, nothing else. */
export function imageRequestHeaders(imageId) {
  return typeof imageId === 'string' && imageId.startsWith('wadors:') ? { Accept: FRAME_ACCEPT } : {};
}

export function startCornerstone() {
  if (started) return;
  // One WebGL context for the page's two panes rather than the default pool of seven: each
  // context costs start-up time, a lot of it with software WebGL (measured with
  // benchmarks/bench_viewer.py: first image about 0.3 s sooner; one context did as well as two).
  coreInit({ rendering: { webGlContextCount: 1 } });
  dicomImageLoaderInit({
    // Decoding runs in workers, one per core up to four (measured on a 2-core machine: two
    // workers load a 300-slice CT faster than one, even though the page shares those cores).
    maxWebWorkers: Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2)),
    beforeSend: (_xhr, imageId) => imageRequestHeaders(imageId),
  });
  // Decoding as the frames arrive. The worker pool runs at most 5 prefetch decodes at once and
  // starts the next only when a result is back on the page, where it waits behind the frame
  // responses the page is handling: with 5, the reformat's slices of a 300-slice CT were decoded
  // only after the last frame had arrived (measured with benchmarks/bench_viewer.py: the series
  // completed 1.4-1.8 s after its last frame; 0.55-0.8 s with no limit).
  getWebWorkerManager().workerPoolManager.setMaxSimultaneousRequests(Enums.RequestType.Prefetch, 1000);
  toolsInit();
  metaData.addProvider(ctDefaultWindowProvider, 10000);
  started = true;
}

/** False when the browser has no WebGL (CPU rendering): no volume viewports, no MPR. */
export function canRenderVolumes() {
  return !getShouldUseCPURendering();
}

/**
 * True when WebGL runs on a software rasterizer (SwiftShader, llvmpipe): every volume render
 * then costs the CPU a tenth of a second or more, so redraws while loading are rationed.
 */
export function isSoftwareRendering() {
  try {
    return Boolean(getRenderingCapabilities().softwareRasterizer);
  } catch {
    return false;
  }
}
