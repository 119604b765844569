// Talking to the admin API as the signed-in session: the session's CSRF token goes with every
// change, and a session that has ended is reported once, to whoever drew the sign-in form.

export const session = {
  /** The signed-in session (`GET /dashboard/session`), or null. */
  current: null,
};

let onSignedOut = () => {};

/** What to do when the server says the session has ended. */
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

export class ApiFailure extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Raised when the session has ended: the sign-in form is already on screen. */
export class SignedOut extends Error {}

export async function api(method, path, { query, json, text, headers: extra } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const headers = { ...extra };
  if (method !== 'GET' && session.current) headers['X-CSRF-Token'] = session.current.csrfToken;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (text !== undefined) {
    headers['Content-Type'] = 'application/yaml';
    body = text;
  }
  const response = await fetch(url, { method, headers, body, credentials: 'same-origin' });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401 && session.current) {
    session.current = null;
    onSignedOut('Your session has ended. Sign in again.');
    throw new SignedOut();
  }
  if (!response.ok) {
    throw new ApiFailure(data?.message ?? `The server answered ${response.status}.`, data?.code, response.status);
  }
  return data;
}

export const projectPath = (projectId, rest = '') => `/api/v1/projects/${encodeURIComponent(projectId)}${rest}`;
