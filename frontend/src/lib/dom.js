/** Small DOM helpers: elements are built with textContent only, never innerHTML. */

export function el(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') {
      element.textContent = value;
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of [].concat(children)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Shows a message in a banner element (`role="alert"` or `role="status"` in the template). */
export function showBanner(banner, message, { kind = 'error', action = null } = {}) {
  banner.replaceChildren(el('span', { text: message }));
  if (action) {
    banner.append(
      el('button', { type: 'button', class: 'banner-action', text: action.label, onclick: action.run }),
    );
  }
  banner.dataset.kind = kind;
  banner.hidden = false;
}

export function hideBanner(banner) {
  banner.hidden = true;
  banner.replaceChildren();
}

/** Formats an ISO date (YYYY-MM-DD or a timestamp) as a calm, unambiguous date. */
export function formatDate(iso) {
  if (!iso) return '';
  const date = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}
