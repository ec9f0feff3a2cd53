// The viewer's keys from the page's table (readerstudy/studies/keymap.py).
// Run: npm test (node's built-in test runner; no browser needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { keyName, keymapFrom, parseAction } from '../src/lib/keymap.js';

test('letters are looked up in lower case, other keys by their name', () => {
  const map = keymapFrom([{ keys: ['a'], action: 'tool:angle' }, { keys: ['ArrowUp', 'ArrowLeft'], action: 'scroll:-1' }]);
  assert.equal(map.get(keyName('A')), 'tool:angle');
  assert.equal(map.get(keyName('a')), 'tool:angle');
  assert.equal(map.get(keyName('ArrowLeft')), 'scroll:-1');
  assert.equal(map.get(keyName('b')), undefined); // an answer's key: not the viewer's
});

test('a key bound twice is refused, naming both actions', () => {
  assert.throws(
    () => keymapFrom([{ keys: ['c'], action: 'tool:cobbAngle' }, { keys: ['C'], action: 'tool:probe' }]),
    /The key "C" is bound twice, to "tool:cobbAngle" and to "tool:probe"\./,
  );
});

test('actions split into a verb and an argument', () => {
  assert.deepEqual(parseAction('tool:ellipticalRoi'), { verb: 'tool', argument: 'ellipticalRoi' });
  assert.deepEqual(parseAction('scroll:-10'), { verb: 'scroll', argument: '-10' });
  assert.deepEqual(parseAction('reset'), { verb: 'reset', argument: '' });
});
