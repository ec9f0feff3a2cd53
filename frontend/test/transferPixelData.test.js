// The build patch that transfers pixel buffers to and from the decode workers must still apply
// to the installed loader, and must transfer only buffers a frame owns whole.
// Run: npm test (node's built-in test runner; no browser needed).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { applyPatches, PAGE_FILE, PATCHES, WORKER_FILE } from '../build/transferPixelData.js';

const source = (file) => readFileSync(new URL(`../node_modules/${file}`, import.meta.url), 'utf8');

test('both patches apply to the installed loader, once each', () => {
  for (const file of [PAGE_FILE, WORKER_FILE]) {
    const patched = applyPatches(file, source(file));
    for (const [, after] of PATCHES[file]) assert.ok(patched.includes(after), file);
    assert.match(patched, /__transfer\(/);
  }
});

test('a patch that no longer matches fails loudly', () => {
  assert.throws(() => applyPatches(PAGE_FILE, 'export default 1;'), /no longer applies/);
});

test('only a view over its whole buffer is transferred', () => {
  const patched = applyPatches(PAGE_FILE, source(PAGE_FILE));
  const start = patched.indexOf('function __ownsWholeBuffer');
  const end = patched.indexOf('\n}\n', start) + 2;
  const owns = new Function(`${patched.slice(start, end)}; return __ownsWholeBuffer;`)();
  const frame = new Uint8Array(512 * 512 * 2);
  assert.equal(owns(frame), true); // a WADO-RS frame response
  assert.equal(owns(new Int16Array(frame.buffer)), true); // decoded in place
  assert.equal(owns(frame.subarray(132)), false); // pixel data inside a cached Part-10 file
  assert.equal(owns(new Uint8Array(new WebAssembly.Memory({ initial: 1 }).buffer, 0, 1024)), false);
  assert.equal(owns(undefined), false);
});
