/**
 * A Vite plugin that makes @cornerstonejs/dicom-image-loader hand pixel buffers to its decode
 * workers and back instead of copying them.
 *
 * The loader sends every frame's bytes to a worker and the decoded pixels back through Comlink,
 * as structured clones: for a 512x512 CT slice two copies of half a megabyte on the page's main
 * thread, which is what limits loading on a small machine (measured: about 0.7 s of main thread
 * for a 300-slice series). The loader even computes a transfer list (`transferPixelData`) and
 * then never passes it on. Patched here:
 *
 * - `decodeImageFrame.js` (page): the frame's buffer is transferred when the frame's bytes are
 *   the whole buffer (a WADO-RS frame response); a view into a larger buffer (a WADO-URI file,
 *   which the loader caches for its other frames) is still copied.
 * - `decodeImageFrameWorker.js` (worker): the decoded pixels are transferred back on the same
 *   condition (never a view into a decoder's WebAssembly memory, which is larger).
 *
 * Both replacements are exact text; if a loader upgrade changes either file the build fails
 * here (see `buildEnd`) rather than silently losing the change.
 */
const PAGE_FILE = '@cornerstonejs/dicom-image-loader/dist/esm/imageLoader/decodeImageFrame.js';
const WORKER_FILE = '@cornerstonejs/dicom-image-loader/dist/esm/decodeImageFrameWorker.js';

const OWNS_WHOLE_BUFFER = `function __ownsWholeBuffer(view) {
    return Boolean(view && view.buffer instanceof ArrayBuffer && view.byteOffset === 0 &&
        view.byteLength === view.buffer.byteLength);
}
`;

export const PATCHES = {
  [PAGE_FILE]: [
    ["import { getWebWorkerManager } from '@cornerstonejs/core';",
      "import { getWebWorkerManager } from '@cornerstonejs/core';\nimport { transfer as __transfer } from 'comlink';\n" +
      OWNS_WHOLE_BUFFER],
    [`    return webWorkerManager.executeTask('dicomImageLoader', 'decodeTask', {
        imageFrame,
        transferSyntax,
        pixelData,
        options,
        decodeConfig,
    }, {`,
      `    const args = { imageFrame, transferSyntax, pixelData, options, decodeConfig };
    return webWorkerManager.executeTask('dicomImageLoader', 'decodeTask', __ownsWholeBuffer(pixelData) ? __transfer(args, [pixelData.buffer]) : args, {`],
  ],
  [WORKER_FILE]: [
    ["import { expose } from 'comlink';",
      "import { expose, transfer as __transfer } from 'comlink';\n" + OWNS_WHOLE_BUFFER],
    [`        return decodeImageFrame(imageFrame, transferSyntax, pixelData, decodeConfig, options, callbackFn);
    },`,
      `        return decodeImageFrame(imageFrame, transferSyntax, pixelData, decodeConfig, options, callbackFn).then((decoded) => __ownsWholeBuffer(decoded?.pixelData) ? __transfer(decoded, [decoded.pixelData.buffer]) : decoded);
    },`],
  ],
};

/** `source` with every patch of `file` applied; throws if one no longer matches exactly once. */
export function applyPatches(file, source) {
  let patched = source;
  for (const [before, after] of PATCHES[file]) {
    const at = patched.indexOf(before);
    if (at === -1 || patched.indexOf(before, at + 1) !== -1) {
      throw new Error(`transferPixelData: ${file} changed; the patch no longer applies (${before.slice(0, 60)}...)`);
    }
    patched = patched.slice(0, at) + after + patched.slice(at + before.length);
  }
  return patched;
}

const patchedFiles = new Set();

/**
 * The plugin for one of the two files: the page bundle's (`plugins`) or the worker bundles'
 * (`worker.plugins`, called once per worker bundle). Worker bundles are built while the page
 * bundle is, so the page plugin's `buildEnd` checks that both files were patched.
 */
export default function transferPixelData(file) {
  return {
    name: `readerstudy-transfer-pixel-data:${file.split('/').pop()}`,
    enforce: 'pre',
    transform(code, id) {
      if (!id.replaceAll('\\', '/').split('?')[0].endsWith(file)) return null;
      patchedFiles.add(file);
      return { code: applyPatches(file, code), map: null };
    },
    buildEnd(error) {
      if (error || file !== PAGE_FILE) return;
      for (const needed of [PAGE_FILE, WORKER_FILE]) {
        if (!patchedFiles.has(needed)) {
          this.error(`transferPixelData: ${needed} was not part of the build; check the loader version.`);
        }
      }
    },
  };
}

export { PAGE_FILE, WORKER_FILE };
