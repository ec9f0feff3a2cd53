/**
 * The answer panel, built from the study's form (`payload.form`): the questions of the reading
 * protocol the study asks in this round (`readerstudy/studies/protocol.py`), in order, each drawn
 * by its kind, and the groups some are answered in (one fieldset, one object in the answers).
 *
 * The server's `validate_answers` is the rule; the checks here only spare the reader a round
 * trip and mirror its messages.
 *
 * Kinds: `choice` (radio buttons, with a key per choice when it has a `shortcut`), `scale` (a
 * whole number on a slider that starts unset; keys 1, 2, ... set its `shortcuts`), `number` (a
 * number in its `unit`; a length in mm can be copied from the length tool, an angle in degrees from
 * the angle and Cobb angle tools) and `boolean` (a
 * checkbox: unticked is false).
 */
import { el } from '../lib/dom.js';
import { contradiction } from './consistency.js';

// Which measurement tool can fill a number field, by the field's unit.
const MEASURED_UNITS = {
  mm: { key: 'length', title: 'Copy the last length drawn with the length tool (L)' },
  degrees: { key: 'angle', title: 'Copy the last angle drawn with the angle (A) or Cobb angle (C) tool' },
};

function fieldError(name) {
  return el('p', { class: 'field-error', dataset: { errorFor: name }, hidden: true, role: 'alert' });
}

/** The id of a question's input (`<group prefix>-<key>` in a group), or of one of its choices. */
function inputId(question, groups, choice = null) {
  const prefix = question.group ? groups[question.group]?.prefix || question.group : '';
  const base = prefix ? `${prefix}-${question.key}` : question.key;
  return choice ? `${base}-${choice}` : base;
}

/**
 * Builds the panel inside `root`; returns an object to read, restore and check answers.
 * `onChange()` is called whenever an answer changes.
 */
export function buildAnswerForm(root, form, { onChange = () => {} } = {}) {
  const questions = form.questions || [];
  const groups = Object.fromEntries((form.groups || []).map((group) => [group.key, group]));
  const formElement = el('form', { class: 'answer-form', novalidate: true, autocomplete: 'off' });
  const state = { last: {} }; // the last measurement of each kind (length, angle) drawn on the images
  const inputs = {}; // question key -> its input(s)
  const scales = {}; // question key -> { slider, touched }
  const groupBodies = {};
  const useButtons = []; // [{button, kind}]

  function choiceWidget(q) {
    const set = el('fieldset', { class: `field field-choice field-${q.key}` }, [el('legend', { text: q.label })]);
    for (const choice of q.choices) {
      const id = inputId(q, groups, choice.key);
      set.append(
        el('label', { class: `choice choice-${choice.key}`, for: id }, [
          el('input', { type: 'radio', name: inputId(q, groups), value: choice.key, id, dataset: { question: q.key } }),
          el('span', { text: choice.label }),
          choice.shortcut ? el('kbd', { text: choice.shortcut }) : null,
        ]),
      );
    }
    if (q.help) set.append(el('p', { class: 'help', text: q.help }));
    inputs[q.key] = set;
    return set;
  }

  function scaleWidget(q) {
    const id = inputId(q, groups);
    const middle = (q.minimum + q.maximum) / 2;
    const slider = el('input', {
      type: 'range', name: id, id, min: q.minimum, max: q.maximum, step: 1, value: middle,
      'aria-describedby': `${id}-help`, dataset: { question: q.key },
    });
    const output = el('output', { for: id, id: `${id}-value`, class: `scale-value ${q.key}-value`, text: 'not set' });
    const [low, high] = q.anchors || [];
    const keys = q.shortcuts || [];
    const field = el('div', { class: `field field-scale field-${q.key} is-untouched` }, [
      el('label', { for: id }, [`${q.label} `, output]),
      slider,
      low || high
        ? el('div', { class: 'scale-ends', 'aria-hidden': 'true' }, [
          el('span', { text: `${q.minimum} ${low || ''}` }),
          el('span', { text: `${q.maximum} ${high || ''}` }),
        ])
        : null,
      el('p', { class: 'help', id: `${id}-help` }, [
        q.help ? `${q.help} ` : '',
        ...(keys.length
          ? ['Keys ', el('kbd', { text: '1' }), '–', el('kbd', { text: String(keys.length) }),
            ` set ${keys.join(', ')}; arrows fine-tune.`]
          : []),
      ]),
    ]);
    const scale = { slider, touched: false };
    slider.addEventListener('input', () => {
      scale.touched = true;
      field.classList.remove('is-untouched');
      output.textContent = `${slider.value}${q.unit || ''}`;
    });
    scales[q.key] = scale;
    inputs[q.key] = slider;
    return field;
  }

  function booleanWidget(q) {
    const id = inputId(q, groups);
    const input = el('input', { type: 'checkbox', name: id, id, dataset: { question: q.key } });
    inputs[q.key] = input;
    return el('label', { class: 'checkbox-item', for: id }, [input, el('span', { text: q.label })]);
  }

  function numberWidget(q) {
    const id = inputId(q, groups);
    const input = el('input', {
      type: 'number', inputmode: 'decimal', step: 'any', name: id, id, dataset: { question: q.key },
    });
    inputs[q.key] = input;
    const row = el('div', { class: `number-row number-${q.key}` }, [
      el('label', { for: id, text: q.label }),
      input,
      el('span', { class: 'unit', text: q.unit }),
    ]);
    const kind = MEASURED_UNITS[q.unit];
    if (kind) {
      const button = el('button', {
        type: 'button',
        class: `use-measurement use-${kind.key}`,
        disabled: true,
        title: kind.title,
        text: `use ${kind.key}`,
        dataset: { measurement: kind.key },
        onclick: () => {
          const last = state.last[kind.key];
          if (last) {
            input.value = last.value.toFixed(1);
            onChange();
          }
        },
      });
      useButtons.push({ button, kind: kind.key });
      row.append(button);
    }
    return row;
  }

  const widgets = { choice: choiceWidget, scale: scaleWidget, boolean: booleanWidget, number: numberWidget };

  function groupBody(key) {
    if (!groupBodies[key]) {
      const group = groups[key] || { key, label: key };
      const body = el('div', { class: 'group-items' });
      formElement.append(
        el('fieldset', { class: `field field-group field-${key}` }, [
          el('legend', { text: group.label }),
          group.help ? el('p', { class: 'help', text: group.help }) : null,
          body,
          fieldError(key),
        ]),
      );
      groupBodies[key] = body;
    }
    return groupBodies[key];
  }

  for (const q of questions) {
    const widget = widgets[q.kind]?.(q);
    if (!widget) continue; // a kind this page does not know: the server will say it is missing
    if (q.group) {
      groupBody(q.group).append(widget);
    } else {
      const field = widget.classList.contains('field') ? widget : el('div', { class: `field field-${q.key}` }, [widget]);
      field.append(fieldError(q.key));
      formElement.append(field);
    }
  }

  const formErrors = el('div', { class: 'form-errors', role: 'alert', hidden: true });
  formElement.append(formErrors);
  formElement.addEventListener('input', () => onChange());
  formElement.addEventListener('change', () => onChange());
  // Enter in a number field must not submit the browser form: submission is the page's job.
  formElement.addEventListener('submit', (evt) => evt.preventDefault());
  root.replaceChildren(formElement);

  function valueOf(q) {
    const input = inputs[q.key];
    if (q.kind === 'choice') return input.querySelector('input:checked')?.value ?? null;
    if (q.kind === 'scale') return scales[q.key].touched ? Number(input.value) : null;
    if (q.kind === 'boolean') return input.checked;
    return input.value === '' ? null : Number(input.value);
  }

  function setValue(q, value) {
    const input = inputs[q.key];
    if (q.kind === 'choice') {
      for (const radio of input.querySelectorAll('input')) radio.checked = radio.value === value;
    } else if (q.kind === 'scale') {
      input.value = String(value);
      input.dispatchEvent(new Event('input', { bubbles: true }));
    } else if (q.kind === 'boolean') {
      input.checked = Boolean(value);
    } else {
      input.value = String(value);
    }
  }

  const known = questions.filter((q) => inputs[q.key]);

  /** The text of an answer for a person: a choice's label, a number with its unit. */
  function shown(q, value) {
    if (value === null || value === undefined) return '—';
    if (q.kind === 'choice') return q.choices.find((c) => c.key === value)?.label || value;
    if (q.kind === 'boolean') return value ? 'yes' : 'no';
    return `${value}${q.kind === 'scale' ? '' : ' '}${q.unit || ''}`;
  }

  const api = {
    element: formElement,

    /** The answers in the shape the reads endpoint takes: a group's answers in one object. */
    answers() {
      const answers = {};
      for (const q of known) {
        const target = q.group ? (answers[q.group] ||= {}) : answers;
        target[q.key] = valueOf(q);
      }
      return answers;
    },

    /** Puts saved answers back (a submission restored from the outbox). */
    restore(answers) {
      for (const q of known) {
        const value = q.group ? (answers[q.group] || {})[q.key] : answers[q.key];
        if (value !== null && value !== undefined) setValue(q, value);
      }
      onChange();
    },

    /** Problems the reader must fix before submitting, keyed like the server's errors. */
    problems() {
      const answers = api.answers();
      const problems = {};
      const add = (key, message) => (problems[key] ||= []).push(message);
      const missingInGroup = {};
      for (const q of known) {
        const value = q.group ? answers[q.group][q.key] : answers[q.key];
        const missing = value === null || Number.isNaN(value);
        if (!missing || !q.required || q.kind === 'boolean') continue;
        if (q.group) {
          (missingInGroup[q.group] ||= []).push(q.label);
        } else if (q.kind === 'choice') {
          add(q.key, `Choose ${q.choices.map((c) => c.label.toLowerCase()).join(' or ')}.`);
        } else if (q.kind === 'scale') {
          add(q.key, `Set the ${q.label.toLowerCase()}${q.shortcuts?.length ? ` (drag the slider or press 1–${q.shortcuts.length})` : ''}.`);
        } else {
          add(q.key, `Enter the ${q.label.toLowerCase()}.`);
        }
      }
      for (const [group, labels] of Object.entries(missingInGroup)) add(group, `Enter: ${labels.join(', ')}.`);
      for (const q of known) {
        if (q.group || problems[q.key]) continue;
        const message = contradiction(q, answers[q.key], answers);
        if (message) add(q.key, message);
      }
      return problems;
    },

    /** Shows `errors` ({field: [messages]}, as DRF returns them) next to their fields. */
    showErrors(errors = {}) {
      const shownFields = new Set();
      for (const node of formElement.querySelectorAll('[data-error-for]')) {
        const messages = errors[node.dataset.errorFor];
        node.hidden = !messages;
        node.textContent = messages ? [].concat(messages).join(' ') : '';
        if (messages) shownFields.add(node.dataset.errorFor);
      }
      const other = Object.entries(errors).filter(([field]) => !shownFields.has(field));
      formErrors.hidden = other.length === 0;
      formErrors.replaceChildren(
        ...other.map(([field, messages]) =>
          el('p', { text: `${field === 'non_field_errors' || field === 'detail' ? '' : `${field}: `}${[].concat(messages).join(' ')}` }),
        ),
      );
    },

    /** Applies an answer key (a choice's shortcut, or 1, 2, ... on a scale); false when `key` is none. */
    shortcut(key) {
      for (const q of known) {
        if (q.kind === 'choice') {
          const choice = q.choices.find((c) => c.shortcut && c.shortcut.toLowerCase() === key.toLowerCase());
          if (choice) {
            setValue(q, choice.key);
            onChange();
            return true;
          }
        }
      }
      const scale = known.find((q) => q.kind === 'scale' && q.shortcuts?.length);
      const index = /^[1-9]$/.test(key) ? Number(key) - 1 : -1;
      if (scale && index >= 0 && index < scale.shortcuts.length) {
        setValue(scale, scale.shortcuts[index]);
        return true;
      }
      return false;
    },

    /** The last length or angle measured on the images ({kind, value, unit}), for the fields of its unit. */
    setLastMeasurement(measurement) {
      state.last[measurement.kind] = measurement;
      for (const { button, kind } of useButtons) {
        if (kind !== measurement.kind) continue;
        button.disabled = false;
        button.textContent = `use ${measurement.value.toFixed(1)} ${measurement.unit === 'degrees' ? '°' : measurement.unit}`;
      }
    },

    setDisabled(disabled) {
      for (const input of formElement.querySelectorAll('input, button')) {
        const unmeasured = input.dataset.measurement && !state.last[input.dataset.measurement];
        input.disabled = disabled || Boolean(unmeasured);
      }
    },

    /** A short human summary for the confirmation dialog (a checklist: what is ticked). */
    summary() {
      const answers = api.answers();
      const lines = [];
      const ticked = {};
      for (const q of known) {
        const value = q.group ? answers[q.group][q.key] : answers[q.key];
        if (q.kind === 'boolean' && q.group) {
          ticked[q.group] ||= [];
          if (value) ticked[q.group].push(q.label);
        } else {
          lines.push(`${q.label}: ${shown(q, value)}`);
        }
      }
      for (const [group, labels] of Object.entries(ticked)) {
        lines.push(`${groups[group]?.label || group}: ${labels.length ? labels.join('; ') : 'none'}`);
      }
      return lines;
    },
  };
  return api;
}
