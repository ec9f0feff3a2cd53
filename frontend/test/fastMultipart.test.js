// The replacement boundary search must answer exactly as the loader's own implementation.
// Run: npm test (node's built-in test runner; no browser needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import original from '../node_modules/@cornerstonejs/dicom-image-loader/dist/esm/imageLoader/wadors/findIndexOfString.js';
import { FAST_FIND_INDEX_OF_STRING } from '../build/fastMultipart.js';

const fast = (await import(`data:text/javascript,${encodeURIComponent(FAST_FIND_INDEX_OF_STRING)}`)).default;

function bytes(text) {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function randomBytes(length, seed) {
  let state = seed;
  return Uint8Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state & 0xff;
  });
}

test('finds the same boundary as the original in a multipart frame', () => {
  const boundary = '--frame-4f3c2b1a0d9e8f7a';
  const header = `${boundary}\r\nContent-Type: application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1\r\n\r\n`;
  const pixels = randomBytes(512 * 512 * 2, 7);
  const body = new Uint8Array([...bytes(header), ...pixels, ...bytes(`\r\n${boundary}--\r\n`)]);
  for (const [token, offset] of [['\r\n\r\n', 0], [boundary, header.length], [boundary, 0]]) {
    assert.equal(fast(body, token, offset), original(body, token, offset));
  }
  assert.equal(fast(body, boundary, header.length), header.length + pixels.length + 2);
});

test('agrees with the original on edge cases', () => {
  const cases = [
    [bytes(''), 'a', 0],
    [bytes('abc'), 'abcd', 0],
    [bytes('aaab'), 'aab', 0],
    [bytes('xx--b--bo--bound'), '--bound', 0],
    [bytes('--bound'), '--bound', 1],
    [bytes('ab--boun'), '--bound', 0],
    [bytes('abcabc'), 'c', 3],
    [bytes('abc'), 'c', undefined],
  ];
  for (const [data, token, offset] of cases) {
    assert.equal(fast(data, token, offset), original(data, token, offset), `${token} in ${data}`);
  }
});

test('agrees with the original on random data full of partial matches', () => {
  for (let seed = 1; seed < 40; seed += 1) {
    const data = randomBytes(4096, seed).map((b) => (b % 3 === 0 ? 45 : b)); // many '-' bytes
    const token = `-${String.fromCharCode(data[2000 + seed])}${String.fromCharCode(data[2001 + seed])}`;
    assert.equal(fast(data, token, seed * 10), original(data, token, seed * 10));
  }
});
