/**
 * A Vite plugin replacing one function of @cornerstonejs/dicom-image-loader:
 * `findIndexOfString`, which finds the multipart boundary in every WADO-RS frame response by
 * comparing byte after byte in JavaScript. For a 512x512 CT frame that is half a megabyte per
 * image on the main thread (about 1 s for a 300-slice series on a laptop). This version jumps
 * between candidate first bytes with the native `Uint8Array.prototype.indexOf`. Same signature,
 * same results.
 *
 * If a future loader version moves the file, the build fails here rather than silently
 * losing the speed-up (see `buildEnd`).
 */
const TARGET = '@cornerstonejs/dicom-image-loader/dist/esm/imageLoader/wadors/findIndexOfString.js';

export const FAST_FIND_INDEX_OF_STRING = `
function stringToUint8Array(str) {
  const uint = new Uint8Array(str.length);
  for (let i = 0; i < str.length; i++) uint[i] = str.charCodeAt(i);
  return uint;
}
function findIndexOfString(data, str, offset) {
  offset = offset || 0;
  const token = stringToUint8Array(str);
  const last = data.length - token.length;
  let i = data.indexOf(token[0], offset);
  while (i !== -1 && i <= last) {
    let j = 1;
    while (j < token.length && data[i + j] === token[j]) j++;
    if (j === token.length) return i;
    i = data.indexOf(token[0], i + 1);
  }
  return -1;
}
export default findIndexOfString;
`;

export default function fastMultipart() {
  let replaced = false;
  return {
    name: 'readerstudy-fast-multipart',
    enforce: 'pre',
    load(id) {
      if (id.replaceAll('\\', '/').endsWith(TARGET)) {
        replaced = true;
        return FAST_FIND_INDEX_OF_STRING;
      }
      return null;
    },
    buildEnd() {
      if (!replaced) {
        this.error(`fastMultipart: ${TARGET} was not part of the build; check the loader version.`);
      }
    },
  };
}
