/**
 * The answer panel, built from the study's form (`payload.form`): the benign/malignant call,
 * the probability of malignancy, the three-tier call, the feature checklist and measurements.
 *
 * The server's `validate_answers` is the rule; the checks here only spare the reader a round
 * trip and mirror its messages.
 */
import { el } from '../lib/dom.js';

const CALL_LABELS = {
  benign: 'Benign (osteoporotic)',
  malignant: 'Malignant (pathological)',
};
const CALL_KEYS = { benign: 'B', malignant: 'M' };

/** Confidence values for the keys 1 to 5: the middle of each fifth of the 0-100 scale. */
export const CONFIDENCE_KEYS = { 1: 10, 2: 30, 3: 50, 4: 70, 5: 90 };

function callChoices(form) {
  if (form.call && Array.isArray(form.call.choices)) return form.call.choices;
  return ['benign', 'malignant'];
}

function fieldError(name) {
  return el('p', { class: 'field-error', dataset: { errorFor: name }, hidden: true, role: 'alert' });
}

/**
 * Builds the panel inside `root`; returns an object to read, restore and check answers.
 * `onChange()` is called whenever an answer changes.
 */
export function buildAnswerForm(root, form, { onChange = () => {} } = {}) {
  const formElement = el('form', { class: 'answer-form', novalidate: true, autocomplete: 'off' });
  const state = { confidenceTouched: false, lastLength: null };

  // The call.
  const callSet = el('fieldset', { class: 'field field-call' }, [el('legend', { text: 'Call' })]);
  for (const choice of callChoices(form)) {
    const id = `call-${choice}`;
    callSet.append(
      el('label', { class: `choice choice-${choice}`, for: id }, [
        el('input', { type: 'radio', name: 'call', value: choice, id, required: true }),
        el('span', { text: CALL_LABELS[choice] || choice }),
        CALL_KEYS[choice] ? el('kbd', { text: CALL_KEYS[choice] }) : null,
      ]),
    );
  }
  callSet.append(fieldError('call'));
  formElement.append(callSet);

  // Probability of malignancy.
  let slider = null;
  let sliderOutput = null;
  if (form.confidence) {
    slider = el('input', {
      type: 'range',
      name: 'confidence',
      id: 'confidence',
      min: 0,
      max: 100,
      step: 1,
      value: 50,
      'aria-describedby': 'confidence-help',
    });
    sliderOutput = el('output', { for: 'confidence', class: 'confidence-value', text: 'not set' });
    const confidenceField = el('div', { class: 'field field-confidence is-untouched' }, [
      el('label', { for: 'confidence' }, [
        'Probability of malignancy ',
        sliderOutput,
      ]),
      slider,
      el('div', { class: 'scale-ends', 'aria-hidden': 'true' }, [
        el('span', { text: '0 benign' }),
        el('span', { text: '100 malignant' }),
      ]),
      el('p', { class: 'help', id: 'confidence-help' }, [
        'Keys ',
        el('kbd', { text: '1' }),
        '–',
        el('kbd', { text: '5' }),
        ' set 10, 30, 50, 70, 90; arrows fine-tune.',
      ]),
      fieldError('confidence'),
    ]);
    slider.addEventListener('input', () => {
      state.confidenceTouched = true;
      confidenceField.classList.remove('is-untouched');
      sliderOutput.textContent = `${slider.value}%`;
    });
    formElement.append(confidenceField);
  }

  // Three-tier call.
  if (Array.isArray(form.three_tier) && form.three_tier.length) {
    const tierSet = el('fieldset', { class: 'field field-three-tier' }, [
      el('legend', { text: 'Three-tier call' }),
    ]);
    for (const { key, label } of form.three_tier) {
      const id = `tier-${key}`;
      tierSet.append(
        el('label', { class: 'choice', for: id }, [
          el('input', { type: 'radio', name: 'three_tier', value: key, id }),
          el('span', { text: label }),
        ]),
      );
    }
    tierSet.append(fieldError('three_tier'));
    formElement.append(tierSet);
  }

  // Feature checklist.
  const features = form.features || [];
  if (features.length) {
    const featureSet = el('fieldset', { class: 'field field-features' }, [
      el('legend', { text: 'Features present' }),
    ]);
    const list = el('div', { class: 'feature-list' });
    for (const { key, label } of features) {
      const id = `feature-${key}`;
      list.append(
        el('label', { class: 'feature', for: id }, [
          el('input', { type: 'checkbox', name: `feature:${key}`, id, dataset: { feature: key } }),
          el('span', { text: label }),
        ]),
      );
    }
    featureSet.append(list, fieldError('features'));
    formElement.append(featureSet);
  }

  // Measurements.
  const measurements = form.measurements || [];
  const useLengthButtons = [];
  if (measurements.length) {
    const measureSet = el('fieldset', { class: 'field field-measurements' }, [
      el('legend', { text: 'Measurements' }),
      el('p', { class: 'help', text: 'On the mid-sagittal slice; the length tool (L) can fill the mm fields.' }),
    ]);
    for (const { key, label, unit } of measurements) {
      const id = `measurement-${key}`;
      const input = el('input', {
        type: 'number',
        inputmode: 'decimal',
        step: 'any',
        name: `measurement:${key}`,
        id,
        dataset: { measurement: key },
      });
      const row = el('div', { class: 'measurement' }, [
        el('label', { for: id, text: label }),
        input,
        el('span', { class: 'unit', text: unit }),
      ]);
      if (unit === 'mm') {
        const button = el('button', {
          type: 'button',
          class: 'use-length',
          disabled: true,
          title: 'Copy the last length drawn with the length tool',
          text: 'use length',
          onclick: () => {
            if (state.lastLength) {
              input.value = state.lastLength.value.toFixed(1);
              onChange();
            }
          },
        });
        useLengthButtons.push(button);
        row.append(button);
      }
      measureSet.append(row);
    }
    measureSet.append(fieldError('measurements'));
    formElement.append(measureSet);
  }

  const formErrors = el('div', { class: 'form-errors', role: 'alert', hidden: true });
  formElement.append(formErrors);
  formElement.addEventListener('input', () => onChange());
  formElement.addEventListener('change', () => onChange());
  // Enter in a number field must not submit the browser form: submission is the page's job.
  formElement.addEventListener('submit', (evt) => evt.preventDefault());
  root.replaceChildren(formElement);

  function radioValue(name) {
    const checked = formElement.querySelector(`input[name="${name}"]:checked`);
    return checked ? checked.value : null;
  }

  function setRadio(name, value) {
    for (const input of formElement.querySelectorAll(`input[name="${name}"]`)) {
      input.checked = input.value === value;
    }
  }

  const api = {
    element: formElement,

    /** The answers in the shape the reads endpoint takes. */
    answers() {
      const answers = { call: radioValue('call') };
      if (slider) answers.confidence = state.confidenceTouched ? Number(slider.value) : null;
      if (Array.isArray(form.three_tier) && form.three_tier.length) {
        answers.three_tier = radioValue('three_tier');
      }
      if (features.length) {
        answers.features = {};
        for (const input of formElement.querySelectorAll('input[data-feature]')) {
          answers.features[input.dataset.feature] = input.checked;
        }
      }
      if (measurements.length) {
        answers.measurements = {};
        for (const input of formElement.querySelectorAll('input[data-measurement]')) {
          answers.measurements[input.dataset.measurement] =
            input.value === '' ? null : Number(input.value);
        }
      }
      return answers;
    },

    /** Puts saved answers back (a submission restored from the outbox). */
    restore(answers) {
      if (answers.call) setRadio('call', answers.call);
      if (slider && typeof answers.confidence === 'number') {
        slider.value = String(answers.confidence);
        slider.dispatchEvent(new Event('input', { bubbles: true }));
      }
      if (answers.three_tier) setRadio('three_tier', answers.three_tier);
      for (const [key, value] of Object.entries(answers.features || {})) {
        const input = formElement.querySelector(`input[data-feature="${key}"]`);
        if (input) input.checked = Boolean(value);
      }
      for (const [key, value] of Object.entries(answers.measurements || {})) {
        const input = formElement.querySelector(`input[data-measurement="${key}"]`);
        if (input && value !== null && value !== undefined) input.value = String(value);
      }
      onChange();
    },

    /** Problems the reader must fix before submitting, keyed like the server's errors. */
    problems() {
      const a = api.answers();
      const problems = {};
      if (!a.call) problems.call = ['Choose benign or malignant.'];
      if (slider) {
        if (a.confidence === null) {
          problems.confidence = ['Set the probability of malignancy (drag the slider or press 1–5).'];
        } else if ((a.confidence > 50 && a.call === 'benign') || (a.confidence < 50 && a.call === 'malignant')) {
          problems.confidence = [
            `A ${a.call} call with a ${a.confidence}% probability of malignancy is contradictory: ` +
              'adjust the call or the slider.',
          ];
        }
      }
      if ('three_tier' in a && !a.three_tier) problems.three_tier = ['Choose one of the three tiers.'];
      if (a.measurements) {
        const missing = Object.entries(a.measurements)
          .filter(([, v]) => v === null || Number.isNaN(v))
          .map(([k]) => measurements.find((m) => m.key === k)?.label || k);
        if (missing.length) problems.measurements = [`Enter: ${missing.join(', ')}.`];
      }
      return problems;
    },

    /** Shows `errors` ({field: [messages]}, as DRF returns them) next to their fields. */
    showErrors(errors = {}) {
      const shown = new Set();
      for (const node of formElement.querySelectorAll('[data-error-for]')) {
        const messages = errors[node.dataset.errorFor];
        node.hidden = !messages;
        node.textContent = messages ? [].concat(messages).join(' ') : '';
        if (messages) shown.add(node.dataset.errorFor);
      }
      const other = Object.entries(errors).filter(([field]) => !shown.has(field));
      formErrors.hidden = other.length === 0;
      formErrors.replaceChildren(
        ...other.map(([field, messages]) =>
          el('p', { text: `${field === 'non_field_errors' || field === 'detail' ? '' : `${field}: `}${[].concat(messages).join(' ')}` }),
        ),
      );
    },

    setCall(call) {
      setRadio('call', call);
      onChange();
    },

    setConfidence(value) {
      if (!slider) return;
      slider.value = String(value);
      slider.dispatchEvent(new Event('input', { bubbles: true }));
    },

    setLastLength(length) {
      state.lastLength = length;
      for (const button of useLengthButtons) {
        button.disabled = !length;
        button.textContent = length ? `use ${length.value.toFixed(1)} ${length.unit || 'mm'}` : 'use length';
      }
    },

    setDisabled(disabled) {
      for (const input of formElement.querySelectorAll('input, button')) {
        input.disabled = disabled || (input.classList.contains('use-length') && !state.lastLength);
      }
    },

    /** A short human summary for the confirmation dialog. */
    summary() {
      const a = api.answers();
      const lines = [`Call: ${CALL_LABELS[a.call] || a.call || '—'}`];
      if ('confidence' in a) lines.push(`Probability of malignancy: ${a.confidence ?? '—'}%`);
      if (a.three_tier) {
        lines.push(`Three-tier: ${form.three_tier.find((t) => t.key === a.three_tier)?.label || a.three_tier}`);
      }
      if (a.features) {
        const present = features.filter((f) => a.features[f.key]).map((f) => f.label);
        lines.push(`Features present: ${present.length ? present.join('; ') : 'none'}`);
      }
      if (a.measurements) {
        for (const m of measurements) {
          lines.push(`${m.label}: ${a.measurements[m.key] ?? '—'} ${m.unit}`);
        }
      }
      return lines;
    },
  };
  return api;
}
