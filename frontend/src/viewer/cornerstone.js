/**
 * Starts Cornerstone3D once per page: rendering core, tools and the DICOM image loader.
 *
 * Without WebGL the core falls back to CPU rendering by itself; stack viewports keep working,
 * volume viewports do not, so callers ask `canRenderVolumes()` before building a reformat.
 */
import {
  getRenderingCapabilities,
  getShouldUseCPURendering,
  init as coreInit,
} from '@cornerstonejs/core';
import { init as dicomImageLoaderInit } from '@cornerstonejs/dicom-image-loader';
import { init as toolsInit } from '@cornerstonejs/tools';

let started = false;

export function startCornerstone() {
  if (started) return;
  coreInit();
  dicomImageLoaderInit({
    // Decoding runs in workers, one per core up to four (measured on a 2-core machine: two
    // workers load a 300-slice CT faster than one, even though the page shares those cores).
    maxWebWorkers: Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2)),
  });
  toolsInit();
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
