// The outbox honours the server's Retry-After on a 503 (the database or the task queue away
// for a moment) before it sends a read again, with the same submission id.
// Run: npm test (node's built-in test runner; no browser needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApiError, NetworkError, parseRetryAfter } from '../src/lib/api.js';
import { outboxAll, outboxKey, outboxSave, outboxSend, retryDelay } from '../src/lib/outbox.js';

const stored = new Map();
globalThis.document = { cookie: 'csrftoken=token' };
globalThis.window = {
  localStorage: {
    getItem: (key) => stored.get(key) ?? null,
    setItem: (key, value) => stored.set(key, String(value)),
    removeItem: (key) => stored.delete(key),
    get length() { return stored.size; },
    key: (i) => [...stored.keys()][i] ?? null,
  },
  // The outbox wakes early when the browser comes back online: the test "comes back online"
  // at once, so it needs no real waiting.
  addEventListener: (type, listener) => { if (type === 'online') queueMicrotask(listener); },
  removeEventListener: () => {},
};

function answer(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status, headers: { 'Content-Type': 'application/json', ...headers },
  });
}

test('Retry-After is read as delay-seconds or as an HTTP date (RFC 9110, 10.2.3)', () => {
  const now = Date.parse('Thu, 03 Dec 2026 13:00:00 GMT');
  assert.equal(parseRetryAfter('5'), 5000);
  assert.equal(parseRetryAfter('Thu, 03 Dec 2026 13:00:30 GMT', now), 30000);
  assert.equal(parseRetryAfter('Thu, 03 Dec 2026 12:59:00 GMT', now), 0);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter('soon'), null);
});

test('the wait is the backoff, or what the server asked when longer, up to five minutes', () => {
  const unavailable = (ms) => new ApiError(503, { detail: 'The database is unavailable' }, '/x', ms);
  assert.equal(retryDelay(unavailable(5000), 1000), 5000);
  assert.equal(retryDelay(unavailable(5000), 8000), 8000);
  assert.equal(retryDelay(unavailable(3_600_000), 1000), 300_000);
  assert.equal(retryDelay(unavailable(null), 2000), 2000);
  assert.equal(retryDelay(new NetworkError('/x', new Error('offline')), 4000), 4000);
});

test('a read answered 503 with Retry-After waits as asked, then lands with the same submission id', async () => {
  const bodies = [];
  const answers = [
    answer(503, { detail: 'The database is unavailable for a moment.', code: 'service_unavailable' },
      { 'Retry-After': '7' }),
    answer(201, { submission_id: 'sub-1', case: 'C-1', round: 'first' }),
  ];
  globalThis.fetch = async (url, init) => {
    bodies.push(JSON.parse(init.body));
    return answers.shift();
  };
  const entry = { key: 'readerstudy:outbox:s:C-1:first', url: '/api/v1/reading/s/reads/',
    body: { case: 'C-1', round: 'first', submission_id: 'sub-1', call: 'benign' } };
  outboxSave(entry);
  const waits = [];

  const { status, receipt } = await outboxSend(entry, {
    onWaiting: (error, delayMs) => waits.push([error.status, delayMs]),
  });

  assert.equal(status, 201);
  assert.equal(receipt.submission_id, 'sub-1');
  assert.deepEqual(waits, [[503, 7000]]);
  assert.deepEqual(bodies.map((b) => b.submission_id), ['sub-1', 'sub-1']);
  assert.equal(stored.has(entry.key), false);
});

test("a reader's unsent reads are theirs alone: another reader on the same computer never sends them", () => {
  stored.clear();
  const entry = (scope, code, savedAt) => ({
    key: outboxKey(scope, 'ct-study', code, 'first'), url: '/x', body: { case: code }, savedAt,
  });
  outboxSave(entry('u1', 'AAAA', '2026-12-03T10:00:01Z'));
  outboxSave(entry('u2', 'BBBB', '2026-12-03T10:00:00Z'));
  outboxSave(entry('u1', 'CCCC', '2026-12-03T10:00:00Z'));
  assert.deepEqual(outboxAll('u1').map((e) => e.body.case), ['CCCC', 'AAAA']);
  assert.deepEqual(outboxAll('u2').map((e) => e.body.case), ['BBBB']);
  assert.deepEqual(outboxAll('u12'), []); // a prefix of another scope is not that scope
  assert.deepEqual(outboxAll(undefined), []);
  assert.throws(() => outboxKey('', 'ct-study', 'AAAA', 'first'));
  stored.clear();
});
