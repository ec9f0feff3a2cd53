/**
 * The reading page: opens a case, shows its images, takes the reader's answers and makes sure
 * the read reaches the server.
 */
import { answerShortcut, isTypingTarget } from './answer/shortcuts.js';
import { buildAnswerForm } from './answer/answerForm.js';
import { ApiError, getJson, setCsrfToken } from './lib/api.js';
import { readConfig } from './lib/config.js';
import { el, hideBanner, showBanner } from './lib/dom.js';
import { keyName, keymapFrom, parseAction } from './lib/keymap.js';
import { draftGet, draftKey, draftRemove, draftSave, hasAnswers } from './lib/drafts.js';
import { outboxGet, outboxKey, outboxSave, outboxSend } from './lib/outbox.js';
import { uuid4 } from './lib/uuid.js';
import { revealAfterRead, revealBeforeRead } from './reveal/reveal.js';
import { prefetchSeriesMetadata } from './viewer/metadataPrefetch.js';
import { CT_PRESETS } from './viewer/presetTable.js';

const $ = (selector) => document.querySelector(selector);

// What tests and the benchmark read: timings and failures, never case content.
const status = {
  state: 'starting',
  startedAt: performance.now(),
  firstImageAt: null,
  seriesLoadedAt: null,
  progress: null,
  failures: [],
  submission: null,
  timeline: [],
};

function mark(label) {
  status.timeline.push([label, Math.round(performance.now())]);
}
window.readingRoom = status;

function setState(state) {
  status.state = state;
  document.body.dataset.viewerState = state;
}

function readUrl(config, code, round) {
  const path = config.urls.read.replace('__CASE__', encodeURIComponent(code));
  return `${path}?round=${encodeURIComponent(round)}`;
}

/** Replaces the reading room with a message (case not available, session ended). */
function showPageMessage(config, title, text) {
  const main = $('#reading-room');
  main.replaceChildren(
    el('section', { class: 'page-message', role: 'alert' }, [
      el('h1', { text: title }),
      el('p', { text }),
      el('p', {}, [el('a', { href: config.urls.home, class: 'button', text: 'Back to the worklist' })]),
    ]),
  );
  setState('unavailable');
}

async function loadCase(config) {
  try {
    return await getJson(config.urls.case);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      showPageMessage(config, 'Case not available', 'This case is not in your worklist for this round.');
    } else if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      showPageMessage(config, 'Not signed in', 'Your session has ended. Sign in again to continue reading.');
    } else {
      showPageMessage(config, 'The case could not be opened', error.message);
    }
    return null;
  }
}

function renderHeader(payload) {
  $('#case-code').textContent = payload.code;
  const round = { repeat: 'Repeat read', aided: 'AI-aided read' }[payload.round] || 'First read';
  $('#case-position').textContent =
    payload.position && payload.total ? `${round} · case ${payload.position} of ${payload.total}` : round;
  // The vertebra asked about, as the published studies' readers were told it.
  const level = $('#case-level');
  if (level && payload.target?.level) {
    level.hidden = false;
    level.replaceChildren('Vertebra ', el('strong', { text: payload.target.level }));
  }
  document.title = `Case ${payload.code} · Reading room`;
}

function renderPresetButtons(modality, onPreset) {
  const holder = $('#preset-buttons');
  const presets = modality === 'CT' ? Object.entries(CT_PRESETS) : [['auto', { label: 'Auto window' }]];
  holder.replaceChildren(
    ...presets.map(([key, preset], i) =>
      el('button', {
        type: 'button',
        class: 'tool-button',
        dataset: { preset: key },
        title: `${preset.label}${preset.width ? ` (W ${preset.width} / L ${preset.level})` : ''} – Shift+${i + 1}`,
        text: preset.label,
        onclick: () => onPreset(key),
      }),
    ),
  );
}

function markPressed(selector, attribute, value) {
  for (const button of document.querySelectorAll(selector)) {
    button.setAttribute('aria-pressed', String(button.dataset[attribute] === value));
  }
}

function confirmSubmission(lines, warning) {
  const dialog = $('#confirm-dialog');
  $('#confirm-summary').replaceChildren(...lines.map((line) => el('li', { text: line })));
  const warningElement = $('#confirm-warning');
  warningElement.hidden = !warning;
  warningElement.textContent = warning || '';
  return new Promise((resolve) => {
    const onClose = () => {
      dialog.removeEventListener('close', onClose);
      resolve(dialog.returnValue === 'submit');
    };
    dialog.addEventListener('close', onClose);
    dialog.returnValue = '';
    dialog.showModal();
    $('#confirm-submit').focus();
  });
}

async function main() {
  const config = readConfig('reading-config');
  setCsrfToken(config.csrfToken);
  const imageBanner = $('#image-banner');
  const submitBanner = $('#submit-banner');
  const loadStatus = $('#load-status');

  const payload = config.payload || (await loadCase(config));
  if (!payload) return;
  mark('case payload');
  // Both the series metadata and the viewer code are needed for the first image: fetch the
  // one while the other is parsed.
  const prefetched = prefetchSeriesMetadata(payload);
  const viewerModule = import('./viewer/caseViewer.js');
  renderHeader(payload);

  // The answer panel.
  const key = outboxKey(config.readerScope, config.study, payload.code, payload.round);
  let pending = outboxGet(key);
  let sending = false;
  let checkAsTheyType = false; // after a refused submit, errors clear as they are fixed
  const draft = draftKey(config.readerScope, config.study, payload.code, payload.round);
  const form = buildAnswerForm($('#answer-panel'), payload.form || {}, {
    onChange: () => {
      if (sending) return;
      const answers = form.answers();
      if (hasAnswers(answers)) draftSave(draft, answers);
      else draftRemove(draft);
      if (checkAsTheyType) form.showErrors(form.problems());
    },
  });
  const submitButton = $('#submit-button');

  async function goToNext() {
    try {
      const worklist = await getJson(config.urls.worklist);
      if (worklist.next) {
        window.location.assign(readUrl(config, worklist.next.code, worklist.next.round));
        return;
      }
    } catch {
      // The worklist page shows where things stand.
    }
    window.location.assign(config.urls.home);
  }

  async function send(entry) {
    sending = true;
    status.submission = 'sending';
    form.setDisabled(true);
    submitButton.disabled = true;
    showBanner(submitBanner, 'Saving your read…', { kind: 'info' });
    try {
      await outboxSend(entry, {
        onWaiting: (error, delay, attempt) => {
          status.submission = 'retrying';
          const reason =
            error instanceof ApiError && (error.status === 401 || error.status === 403)
              ? 'you appear to be signed out — sign in again in another tab'
              : error instanceof ApiError
                ? `the server answered ${error.status}`
                : 'the server cannot be reached';
          showBanner(
            submitBanner,
            `Your read is not saved yet: ${reason}. It is kept on this computer and will be sent ` +
              `again in ${Math.round(delay / 1000)} s (attempt ${attempt + 1}). Do not close this page.`,
            { kind: 'warning', action: { label: 'Send now', run: () => window.dispatchEvent(new Event('online')) } },
          );
        },
      });
      status.submission = 'saved';
      pending = null;
      draftRemove(draft);
      // What the server now reveals (nothing in a blinded study): the reader moves on from it.
      if (await revealAfterRead({ config, payload, viewer: status.viewer, onContinue: goToNext })) return;
      showBanner(submitBanner, 'Read saved. Opening the next case…', { kind: 'success' });
      await goToNext();
    } catch (error) {
      sending = false;
      pending = null;
      status.submission = 'refused';
      form.setDisabled(false);
      submitButton.disabled = false;
      if (error instanceof ApiError && error.status === 400 && error.body) {
        form.showErrors(error.body);
        showBanner(submitBanner, 'The read was not saved: please correct the answers marked below.');
      } else if (error instanceof ApiError && error.status === 409) {
        draftRemove(draft);
        form.setDisabled(true);
        submitButton.disabled = true;
        showBanner(
          submitBanner,
          'This case already has a different read for this round; that read stands and was not changed.',
          { action: { label: 'Back to the worklist', run: () => window.location.assign(config.urls.home) } },
        );
      } else {
        showBanner(submitBanner, `The read was not saved: ${error.message}`);
      }
    }
  }

  async function submit() {
    if (sending) return;
    const problems = form.problems();
    form.showErrors(problems);
    checkAsTheyType = true;
    if (Object.keys(problems).length) {
      showBanner(submitBanner, 'Some answers are missing or contradictory: see the marked fields.');
      form.element.querySelector('.field-error:not([hidden])')?.scrollIntoView({ block: 'center' });
      return;
    }
    hideBanner(submitBanner);
    const warning = status.failures.length
      ? `${status.failures.length} image(s) of this case failed to load: the images you saw were incomplete.`
      : '';
    if (!(await confirmSubmission(form.summary(), warning))) return;
    const answers = form.answers();
    const entry = {
      key,
      url: config.urls.reads,
      savedAt: new Date().toISOString(),
      body: { case: payload.code, round: payload.round, submission_id: uuid4(), ...answers },
    };
    if (!outboxSave(entry)) {
      window.addEventListener('beforeunload', (evt) => {
        if (status.submission !== 'saved') evt.preventDefault();
      });
    }
    pending = entry;
    await send(entry);
  }

  submitButton.addEventListener('click', submit);
  if (pending) {
    const { case: _case, round: _round, submission_id: _id, ...answers } = pending.body;
    form.restore(answers);
    showBanner(submitBanner, 'A read you submitted for this case has not reached the server yet; sending it again.', {
      kind: 'warning',
    });
    send(pending);
  } else {
    const kept = draftGet(draft);
    if (kept) {
      form.restore(kept);
      showBanner(submitBanner, 'Your answers to this case, kept in this browser, were restored. They are not submitted yet.', {
        kind: 'info',
      });
    }
  }

  // The viewer (loaded on demand: the answer panel works while the 3D code arrives).
  setState('loading');
  const { openCaseViewer } = await viewerModule;
  mark('viewer code');
  let viewer = null;
  const failureReasons = new Set();
  function reportFailure({ message }) {
    status.failures.push(message);
    failureReasons.add(message);
    setState('failed');
    showBanner(
      imageBanner,
      `${status.failures.length} image(s) could not be loaded (${[...failureReasons].join('; ')}). ` +
        'The picture is incomplete: do not read this case until it loads completely.',
      { action: { label: 'Reload images', run: () => window.location.reload() } },
    );
  }
  try {
    viewer = await openCaseViewer(payload, $('#viewports'), {
      onMark: mark,
      prefetched,
      seriesStrip: $('#series-strip'),
      onFirstImage: () => {
        status.firstImageAt = performance.now();
        performance.mark('reading-room:first-image');
        if (status.state === 'loading') setState('first-image');
      },
      onProgress: (progress) => {
        if (Math.floor((progress.loaded * 10) / progress.total) > Math.floor(((status.progress?.loaded ?? 0) * 10) / progress.total)) {
          mark(`loaded ${progress.loaded}`);
        }
        status.progress = progress;
        loadStatus.textContent = `Images ${progress.loaded} / ${progress.total}`;
      },
      onSeriesLoaded: (progress) => {
        status.seriesLoadedAt = performance.now();
        performance.mark('reading-room:series-loaded');
        loadStatus.textContent = progress.failed
          ? `${progress.failed} of ${progress.total} images failed`
          : `All ${progress.total} images loaded`;
        // A failure stays reported: an image that failed and arrived on a later request (the
        // reformat's volume fetches the axial slices again) may have left a pane without it.
        if (!progress.failed && !status.failures.length) setState('loaded');
      },
      onFailure: reportFailure,
      onMeasurement: (measurement) => form.setLastMeasurement(measurement),
      onNotice: (message) => showBanner(imageBanner, message, { kind: 'info' }),
    });
  } catch (error) {
    reportFailure({ message: error.message });
    return;
  }
  window.readingRoom.viewer = viewer;
  revealBeforeRead({ config, payload, viewer });

  // Toolbar.
  renderPresetButtons(payload.modality, (preset) => {
    viewer.setPreset(preset);
    markPressed('[data-preset]', 'preset', preset);
  });
  markPressed('[data-preset]', 'preset', viewer.preset);
  function selectTool(tool) {
    viewer.selectTool(tool);
    markPressed('[data-tool]', 'tool', tool);
  }
  for (const button of document.querySelectorAll('[data-tool]')) {
    button.addEventListener('click', () => selectTool(button.dataset.tool));
  }
  markPressed('[data-tool]', 'tool', 'windowLevel');
  $('[data-action="reset"]').addEventListener('click', () => viewer.reset());
  function toggleFullscreen() {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else {
      document.documentElement.requestFullscreen?.();
    }
  }
  $('[data-action="fullscreen"]').addEventListener('click', toggleFullscreen);
  document.addEventListener('fullscreenchange', () => viewer.resize());

  // Keyboard: the viewer's keys from the server's table (readerstudy/studies/keymap.py), then
  // the answers' keys (a choice's shortcut, 1-9 on a scale), which the server keeps apart.
  const viewerKeys = keymapFrom(config.keys);
  /** Does what `action` says; false when the key is left to the page (a slider's arrows). */
  function runKey(action, evt, { onSlider }) {
    const { verb, argument } = parseAction(action);
    switch (verb) {
      case 'scroll':
        if (onSlider && evt.key.startsWith('Arrow')) return false;
        viewer.scroll(Number(argument));
        return true;
      case 'tool':
        selectTool(argument);
        return true;
      case 'reset':
        viewer.reset();
        return true;
      case 'fullscreen':
        toggleFullscreen();
        return true;
      case 'submit':
        if (evt.target?.tagName === 'BUTTON' || evt.target?.tagName === 'A') return false;
        submit();
        return true;
      default:
        throw new Error(`The key "${evt.key}" has an action the page does not know: "${action}".`);
    }
  }
  document.addEventListener('keydown', (evt) => {
    // Cornerstone's tools cancel every key pressed in a viewport that has the focus (a click or a
    // drag in it gives it the focus), for their own modifier-key bindings: those keys are still
    // the reading room's.
    const cancelledByViewport = evt.defaultPrevented && evt.target?.closest?.('[data-viewport]');
    if ((evt.defaultPrevented && !cancelledByViewport) || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if ($('#confirm-dialog').open) return; // the dialog has its own keys (Enter, Escape)
    if (evt.key === 'Enter' && evt.target?.tagName === 'INPUT' && evt.target.closest('.answer-form')) {
      // Enter in an answer's field (a measurement typed in mm) submits, as everywhere else.
      evt.preventDefault();
      submit();
      return;
    }
    if (isTypingTarget(evt.target)) return;
    const presetKeys = Object.keys(payload.modality === 'CT' ? CT_PRESETS : { auto: 1 });
    if (evt.shiftKey && /^Digit[1-9]$/.test(evt.code)) {
      const preset = presetKeys[Number(evt.code.slice(5)) - 1];
      if (preset) {
        viewer.setPreset(preset);
        markPressed('[data-preset]', 'preset', preset);
        evt.preventDefault();
      }
      return;
    }
    const onSlider = evt.target?.type === 'range';
    const action = viewerKeys.get(keyName(evt.key));
    if (action) {
      if (!runKey(action, evt, { onSlider })) return;
    } else if (sending || !answerShortcut(evt.key, form)) {
      return;
    }
    evt.preventDefault();
  });
}

main().catch((error) => {
  setState('failed');
  const banner = document.querySelector('#image-banner');
  if (banner) showBanner(banner, `The reading room failed to start: ${error.message}`);
  throw error;
});
