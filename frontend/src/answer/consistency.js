/**
 * Which answers contradict each other: the server's rule (`Question.contradiction` in
 * readerstudy/studies/protocol.py), applied to the table the form description carries
 * (`refused_with`), so that the page refuses exactly what the API refuses, with its words.
 *
 * Pure (no DOM): the node tests run it against the server's own answers.
 */

/** `label` inside a sentence: its first letter in lower case, the rest as written ("MRI" stays). */
function inSentence(label) {
  return label.slice(0, 1).toLowerCase() + label.slice(1);
}

/** Why `value`, the answer to question `q`, contradicts `answers`; '' when it does not. */
export function contradiction(q, value, answers) {
  const call = answers[q.consistent_with];
  if (!q.consistent_with || value === null || value === undefined || call === null || call === undefined) return '';
  const refused = q.refused_with?.[call] || {};
  const label = inSentence(q.label);
  if (q.kind === 'scale') {
    if (value > (refused.above ?? Infinity) || value < (refused.below ?? -Infinity)) {
      return `A ${call} call with a ${value}${q.unit || ''} ${label} is contradictory: adjust the call or the slider.`;
    }
    return '';
  }
  if ((refused.choices || []).includes(value)) {
    const choice = (q.choices || []).find((c) => c.key === value);
    return `A ${call} call with "${inSentence(choice?.label || value)}" as the ${label} is ` +
      `contradictory: adjust the call or the ${label}.`;
  }
  return '';
}
