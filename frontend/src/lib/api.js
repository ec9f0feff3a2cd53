/**
 * JSON over fetch with Django's session cookie and CSRF token.
 *
 * Errors come in two kinds so callers can decide what to retry:
 * `NetworkError` (no answer from the server: offline, restarting) and `ApiError` (the server
 * answered with a non-2xx status; `status` and the parsed `body` are kept).
 */

export class ApiError extends Error {
  /** `retryAfterMs`: the wait the server asked for (`Retry-After`, on a 503 or 429), or null. */
  constructor(status, body, url, retryAfterMs = null) {
    super(describeApiError(status, body, url));
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.url = url;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * `Retry-After` in milliseconds: delay-seconds or an HTTP date (RFC 9110, 10.2.3); null when
 * absent or unreadable.
 */
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null || value === '') return null;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

export class NetworkError extends Error {
  constructor(url, cause) {
    super(`No answer from the server for ${url} (${cause?.message ?? 'network error'}).`);
    this.name = 'NetworkError';
    this.url = url;
    this.cause = cause;
  }
}

function describeApiError(status, body, url) {
  const detail = body && typeof body === 'object' && body.detail ? `: ${body.detail}` : '';
  return `The server answered ${status} for ${url}${detail}`;
}

let fallbackCsrfToken = '';

/** The token from the page's configuration, used when the cookie cannot be read. */
export function setCsrfToken(token) {
  fallbackCsrfToken = token || '';
}

/**
 * The CSRF token, read from the cookie at every call: signing in again in another tab
 * rotates the token, and a submission waiting in this page must use the new one.
 */
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : fallbackCsrfToken;
}

async function parseBody(response) {
  const type = response.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }
  return null;
}

async function request(method, url, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['X-CSRFToken'] = csrfToken();
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new NetworkError(url, error);
  }
  const parsed = await parseBody(response);
  if (!response.ok) {
    throw new ApiError(response.status, parsed, url, parseRetryAfter(response.headers.get('Retry-After')));
  }
  return { status: response.status, body: parsed };
}

export async function getJson(url) {
  return (await request('GET', url)).body;
}

export async function postJson(url, body) {
  return request('POST', url, body);
}
