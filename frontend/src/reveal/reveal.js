/**
 * The reveal in the reading room: what the server decides this reader may now see of the model
 * and the truth (GET config.urls.reveal: 404 before the read is locked, always in a blinded
 * study, and for non-trainees in a teaching study). Nothing here decides what is shown: the
 * panel shows what the server sent.
 *
 * - After a locked read (first or repeat round): the model's probability and three-tier call,
 *   the saliency over the viewer's images, and in teaching studies the reference standard with
 *   its source and an expert's features beside the reader's, the discordant ones marked; then
 *   the way on (the AI-aided read in an assisted study, else the next case).
 * - With an aided read (round "aided"): the model's output and saliency beside the form.
 */
import { ApiError, getJson } from '../lib/api.js';
import { el } from '../lib/dom.js';
import { infernoGradient } from './colourScale.js';

const state = { reveal: 'none', overlay: null };
window.readingRoomReveal = state; // for tests: what was shown, and the overlay's pixels

export async function fetchReveal(url) {
  if (!url) return null;
  try {
    return await getJson(url);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function capitalised(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : '';
}

function percent(probability) {
  return `${Math.round(probability * 1000) / 10}%`;
}

function modelSection(reveal) {
  if (reveal.model_pending) {
    return el('section', { class: 'reveal-model', dataset: { revealPart: 'model' } }, [
      el('h3', { text: 'The model' }),
      el('p', { class: 'muted', text: 'The model has not read this case yet.' }),
    ]);
  }
  if (!reveal.model) return null;
  const { model } = reveal;
  return el('section', { class: 'reveal-model', dataset: { revealPart: 'model' } }, [
    el('h3', { text: 'The model' }),
    el('dl', { class: 'reveal-facts' }, [
      el('dt', { text: 'Probability of malignancy' }),
      el('dd', { class: 'reveal-probability', text: percent(model.probability) }),
      el('dt', { text: 'Three-tier call' }),
      el('dd', { class: 'reveal-tier', dataset: { tier: model.three_tier }, text: capitalised(model.three_tier_label) }),
    ]),
    el('p', {
      class: 'muted small',
      text:
        `The model's three tiers: below ${percent(model.thresholds.lower)} definitely benign, above ` +
        `${percent(model.thresholds.upper)} definitely malignant, between: uncertain – recommend MRI.`,
    }),
    // What the model card says the model is for (and not for): a reader weighs its output by it.
    model.intended_use
      ? el('p', { class: 'muted small reveal-intended-use' }, [el('strong', { text: 'Intended use: ' }), model.intended_use])
      : null,
  ]);
}

function saliencySection(reveal, overlay) {
  if (!reveal.saliency) return null;
  const children = [el('h3', { text: `Where the model looked (${reveal.saliency.method})` })];
  if (overlay) {
    const toggle = el('button', {
      type: 'button',
      class: 'tool-button reveal-saliency-toggle',
      'aria-pressed': 'true',
      text: 'Saliency overlay',
      onclick: () => {
        overlay.setVisible(!overlay.visible);
        toggle.setAttribute('aria-pressed', String(overlay.visible));
      },
    });
    children.push(
      el('p', {}, [toggle]),
      el('div', { class: 'colour-scale', role: 'img', 'aria-label': 'Colour scale: low to high model attention' }, [
        el('span', { class: 'colour-scale-bar', style: `background: ${infernoGradient()}` }),
        el('span', { class: 'colour-scale-labels' }, [el('span', { text: 'low' }), el('span', { text: 'high' })]),
      ]),
      el('p', { class: 'muted small', text: 'Relative attention for the predicted class, over your own images; scroll and zoom as usual.' }),
    );
  } else {
    children.push(
      el('div', { class: 'reveal-views' },
        (reveal.saliency.views || []).map((view) =>
          el('figure', {}, [el('img', { src: view.png, alt: `Grad-CAM, ${view.view}` }), el('figcaption', { text: view.view })]),
        ),
      ),
    );
  }
  return el('section', { class: 'reveal-saliency', dataset: { revealPart: 'saliency' } }, children);
}

/** A choice as the reader's form words it ("Benign (osteoporotic)"), else the key itself. */
function choiceText(payload, questionKey, value) {
  const question = (payload?.form?.questions || []).find((q) => q.key === questionKey);
  return question?.choices?.find((c) => c.key === value)?.label || value;
}

function callText(payload, call) {
  return choiceText(payload, 'call', call);
}

/**
 * The reader's own locked read (of `payload.round`), beside the model's output: on the AI-aided
 * read the sequential design compares the two and a reader revising a read must see what they
 * said; after a teaching read a trainee compares their probability with the model's.
 */
function ownReadSection(reveal, payload, title = 'Your unaided read (locked)') {
  const first = reveal.your_reads?.[payload.round === 'repeat' ? 'repeat' : 'first'];
  if (!first) return null;
  const facts = [
    el('dt', { text: 'Call' }),
    el('dd', { class: 'unaided-call', text: callText(payload, first.call) }),
  ];
  if (first.confidence !== null && first.confidence !== undefined) {
    facts.push(el('dt', { text: 'Probability of malignancy' }), el('dd', { class: 'unaided-confidence', text: `${first.confidence}%` }));
  }
  if (first.three_tier) {
    facts.push(el('dt', { text: 'Three-tier call' }), el('dd', { class: 'unaided-tier', text: capitalised(choiceText(payload, 'three_tier', first.three_tier)) }));
  }
  return el('section', { class: 'reveal-unaided reveal-own', dataset: { revealPart: 'own' } }, [
    el('h3', { text: title }),
    el('dl', { class: 'reveal-facts' }, facts),
  ]);
}

function referenceSection(reveal, payload) {
  if (!reveal.reference) return null;
  const yours = reveal.your_reads?.first || Object.values(reveal.your_reads || {})[0];
  const correct = yours && yours.call === reveal.reference.label;
  const verdict = yours && (correct
    ? `Your call, ${callText(payload, yours.call)}, agrees with the reference standard.`
    : `Your call, ${callText(payload, yours.call)}, differs from the reference standard.`);
  return el('section', { class: 'reveal-reference', dataset: { revealPart: 'reference' } }, [
    el('h3', { text: 'Reference standard' }),
    el('p', {}, [
      el('strong', { class: 'reveal-truth', text: capitalised(reveal.reference.label_text) }),
      ` (source: ${reveal.reference.source_text})`,
    ]),
    yours
      ? el('p', { class: correct ? 'reveal-verdict correct' : 'reveal-verdict wrong', text: verdict })
      : null,
  ]);
}

function answerText(value) {
  if (value === true) return 'yes';
  if (value === false) return 'no';
  return '–';
}

function featuresSection(reveal) {
  if (!reveal.features) return null;
  const { expert, rows, discordant } = reveal.features;
  return el('section', { class: 'reveal-features', dataset: { revealPart: 'features' } }, [
    el('h3', { text: `Features: yours and an expert's (${expert.role}, ${expert.years_experience} years)` }),
    el('p', { class: 'muted small', text: `${discordant} discordant feature${discordant === 1 ? '' : 's'} highlighted.` }),
    el('table', { class: 'reveal-feature-table' }, [
      el('thead', {}, el('tr', {}, [el('th', { text: 'Feature' }), el('th', { text: 'You' }), el('th', { text: 'Expert' })])),
      el('tbody', {},
        rows.map((row) =>
          el('tr', { class: row.discordant ? 'discordant' : null, dataset: { feature: row.key } }, [
            el('td', { text: row.label }),
            el('td', { text: answerText(row.yours) }),
            el('td', { text: answerText(row.expert) }),
          ]),
        ),
      ),
    ]),
  ]);
}

async function overlayFor(reveal, viewer) {
  const volume = reveal.saliency?.volume;
  if (!volume || !viewer) return null;
  try {
    const { attachSaliencyOverlay } = await import('./saliencyOverlay.js');
    return await attachSaliencyOverlay(viewer, volume);
  } catch (error) {
    console.warn('saliency overlay', error);
    return null;
  }
}

function panel(title, note, parts, actions) {
  return el('section', { id: 'reveal-panel', class: 'reveal-panel', 'aria-labelledby': 'reveal-title' }, [
    el('h2', { id: 'reveal-title', text: title }),
    note ? el('p', { class: 'reveal-note', text: note }) : null,
    ...parts,
    actions.length ? el('div', { class: 'reveal-actions' }, actions) : null,
  ]);
}

/**
 * After the read is saved: shows what the server now reveals, with the way on. Resolves true
 * when a reveal is shown (the caller then waits for the reader), false when there is none.
 */
export async function revealAfterRead({ config, payload, viewer, onContinue }) {
  if (payload.round === 'aided') return false;
  const reveal = await fetchReveal(config.urls.reveal).catch(() => null);
  if (!reveal) return false;
  const overlay = await overlayFor(reveal, viewer);
  state.overlay = overlay;
  const actions = [];
  if (reveal.aided) {
    const href = config.urls.read.replace('__CASE__', encodeURIComponent(reveal.aided.code));
    actions.push(el('a', { class: 'button primary reveal-continue', href: `${href}?round=${reveal.aided.round}`, text: 'Record your AI-aided read' }));
  } else {
    actions.push(el('button', { type: 'button', class: 'button primary reveal-continue', text: 'Next case', onclick: onContinue }));
  }
  if (config.urls.progress) actions.push(el('a', { class: 'button', href: config.urls.progress, text: 'Your progress' }));
  const teaching = reveal.mode === 'teaching';
  const note = teaching
    ? 'Your read is locked. Compare it with the model and the reference standard.'
    : 'Your unaided read is locked and cannot change. Here is the model\u2019s reading; you now record an AI-aided read of the same case.';
  const column = document.querySelector('.answer-column');
  for (const part of column.children) part.hidden = true;
  column.prepend(
    panel(teaching ? 'Feedback on this case' : 'The model\u2019s reading', note,
      [ownReadSection(reveal, payload, 'Your read (locked)'), modelSection(reveal), saliencySection(reveal, overlay),
        referenceSection(reveal, payload), featuresSection(reveal)].filter(Boolean),
      actions),
  );
  state.reveal = 'after-read';
  document.body.dataset.reveal = 'after-read';
  column.querySelector('.reveal-continue')?.focus();
  return true;
}

/** A case read before, opened again to review it (config.review: teaching studies). */
async function revealForReview({ config, viewer }) {
  const column = document.querySelector('.answer-column');
  for (const part of column.children) part.hidden = true;
  const reveal = await fetchReveal(config.urls.reveal).catch(() => null);
  const back = el('a', { class: 'button primary', href: config.urls.progress || config.urls.home, text: config.urls.progress ? 'Back to your progress' : 'Back to the worklist' });
  if (!reveal) {
    column.prepend(panel('Already read', 'You have already submitted this read; it cannot be changed.', [], [back]));
    return false;
  }
  const overlay = await overlayFor(reveal, viewer);
  state.overlay = overlay;
  column.prepend(
    panel('Review: feedback on this case', 'Your read of this case is locked; here is what it was compared with.',
      [modelSection(reveal), saliencySection(reveal, overlay), referenceSection(reveal, config.payload), featuresSection(reveal)].filter(Boolean),
      [back]),
  );
  state.reveal = 'review';
  document.body.dataset.reveal = 'review';
  return true;
}

/**
 * With the viewer ready: an aided read shows the model's output and saliency above the form;
 * a case opened for review shows its feedback instead of the form (nothing if refused).
 */
export async function revealBeforeRead({ config, payload, viewer }) {
  if (config.review) return revealForReview({ config, viewer });
  if (payload.round !== 'aided') return false;
  const reveal = await fetchReveal(config.urls.reveal).catch(() => null);
  if (!reveal) return false;
  const overlay = await overlayFor(reveal, viewer);
  state.overlay = overlay;
  const column = document.querySelector('.answer-column');
  column.prepend(
    panel('AI assistance', 'Your unaided read of this case is locked. Read it again with the model\u2019s output.',
      [ownReadSection(reveal, { ...payload, round: 'first' }), modelSection(reveal), saliencySection(reveal, overlay)].filter(Boolean), []),
  );
  state.reveal = 'before-read';
  document.body.dataset.reveal = 'before-read';
  return true;
}
