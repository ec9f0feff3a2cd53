/**
 * Knows which images of a case have arrived and which failed.
 *
 * Cornerstone only logs a warning when a frame fails and renders the rest of the volume, so a
 * reader could read a partial image without knowing. Every failure goes to `onFailure` and the
 * page shows it.
 */
import { Enums, eventTarget, imageLoader } from '@cornerstonejs/core';

const { Events } = Enums;

/**
 * Watches the loading of images. `expect(imageIds)` adds images to wait for; once `seal()` is
 * called, the `done` promise resolves as soon as every expected image has loaded or failed.
 * `onProgress({loaded, failed, total})` is called on each change, `onFailure({imageId, error})`
 * for each image that could not be loaded.
 */
export function trackLoading({ onProgress = () => {}, onFailure = () => {} } = {}) {
  const expected = new Set();
  const loaded = new Set();
  const failed = new Set();
  let sealed = false;
  let finished = false;
  let resolveDone;
  const done = new Promise((resolve) => {
    resolveDone = resolve;
  });

  function state() {
    return { loaded: loaded.size, failed: failed.size, total: expected.size };
  }

  function check() {
    if (finished || !sealed || loaded.size + failed.size < expected.size) return;
    finished = true;
    stop();
    resolveDone(state());
  }

  function onLoaded(evt) {
    const imageId = evt.detail?.image?.imageId;
    if (!expected.has(imageId) || loaded.has(imageId)) return;
    failed.delete(imageId);
    loaded.add(imageId);
    onProgress(state());
    check();
  }

  function onFailed(evt) {
    const { imageId, error } = evt.detail || {};
    if (!expected.has(imageId) || failed.has(imageId) || loaded.has(imageId)) return;
    failed.add(imageId);
    onFailure({ imageId, error });
    onProgress(state());
    check();
  }

  function stop() {
    eventTarget.removeEventListener(Events.IMAGE_LOADED, onLoaded);
    eventTarget.removeEventListener(Events.IMAGE_LOAD_FAILED, onFailed);
    eventTarget.removeEventListener(Events.IMAGE_LOAD_ERROR, onFailed);
  }

  eventTarget.addEventListener(Events.IMAGE_LOADED, onLoaded);
  eventTarget.addEventListener(Events.IMAGE_LOAD_FAILED, onFailed);
  eventTarget.addEventListener(Events.IMAGE_LOAD_ERROR, onFailed);
  return {
    done,
    stop,
    state,
    expect(imageIds) {
      for (const imageId of imageIds) expected.add(imageId);
    },
    seal() {
      sealed = true;
      onProgress(state());
      check();
    },
  };
}

/** Index order from `start` outwards, so the slices near the one shown arrive first. */
export function centreOutOrder(count, start) {
  const order = [start];
  for (let step = 1; order.length < count; step += 1) {
    if (start + step < count) order.push(start + step);
    if (start - step >= 0) order.push(start - step);
  }
  return order;
}

/** Loads every image of a stack into the cache (volume viewports load their own). */
export function prefetchStack(imageIds, start = 0) {
  for (const index of centreOutOrder(imageIds.length, start)) {
    imageLoader
      .loadAndCacheImage(imageIds[index], { priority: 0, requestType: Enums.RequestType.Prefetch })
      .catch(() => {
        // Reported through IMAGE_LOAD_FAILED to trackLoading.
      });
  }
}
