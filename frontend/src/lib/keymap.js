/**
 * The viewer's keys, from the table the page's configuration carries (`config.keys`, made from
 * readerstudy/studies/keymap.py, where the in-page help and the README's table come from too).
 * The server refuses an answer shortcut that one of these keys has, so a key does one thing.
 *
 * Pure (no DOM): node's test runner checks it.
 */

/** The name a key goes by in the table: a letter in lower case, any other key as `KeyboardEvent.key`. */
export function keyName(key) {
  return key.length === 1 ? key.toLowerCase() : key;
}

/**
 * A `Map` from key name to action ("tool:angle", "scroll:-1"...) for `bindings`
 * (`[{keys, action}]`); a key bound twice is an error, said with both actions.
 */
export function keymapFrom(bindings) {
  const map = new Map();
  for (const { keys, action } of bindings || []) {
    for (const key of keys) {
      const name = keyName(key);
      if (map.has(name)) {
        throw new Error(`The key "${key}" is bound twice, to "${map.get(name)}" and to "${action}".`);
      }
      map.set(name, action);
    }
  }
  return map;
}

/** An action as `{verb, argument}`: "tool:angle" -> {verb: "tool", argument: "angle"}. */
export function parseAction(action) {
  const at = action.indexOf(':');
  return at < 0 ? { verb: action, argument: '' } : { verb: action.slice(0, at), argument: action.slice(at + 1) };
}
