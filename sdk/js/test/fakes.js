// Stand-ins for what the SDK takes from the browser: fetch, EventSource,
// window (popups, messages) and a little of the DOM.

export const HOST = 'https://patchbay.test';
export const PROJECT = '5a7c6b00-de30-4000-8000-000000000001';
export const TOKEN = 'user.token.value';

/** A user object with the given sandbox accounts. */
export function userWith(credentials = [], overrides = {}) {
  const first = credentials.find((c) => c.status === 'VALID') || credentials[0];
  return {
    authenticated: true,
    userId: 'demo-user',
    meta: {},
    resources: [],
    integrations: {
      sandbox: {
        enabled: credentials.length > 0,
        credentialId: first && first.id,
        credentialStatus: first && first.status,
        allCredentials: credentials.map((c) => ({ integrationId: 'int-sandbox', externalId: null, ...c })),
        allConfigurations: [],
        sharedSettings: {},
        workflowSettings: {},
        configuredWorkflows: {},
      },
    },
    ...overrides,
  };
}

export const METADATA = [
  { id: 'int-sandbox', type: 'sandbox', name: 'Sandbox CRM', authType: 'oauth2', userSettings: [], workflows: [] },
  {
    id: 'int-keys',
    type: 'sandbox-keys',
    name: 'Sandbox (API key)',
    authType: 'api_key',
    credentialFields: [{ id: 'apiKey', title: 'API key', secret: true }],
    connectionFields: [],
    userSettings: [],
    workflows: [],
  },
];

function response(status, body, contentType = 'application/json') {
  const text = body === undefined || body === null ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: { get: (name) => (name.toLowerCase() === 'content-type' && text ? contentType : null) },
    text: async () => text,
  };
}

/**
 * A fetch that answers from `routes` (`"METHOD /path"` below
 * `/projects/{PROJECT}/sdk`, or `"METHOD /v2/path"` below Paragon's
 * `/v2/projects/{PROJECT}/sdk` → a function of the call, or a value) and
 * records every call.
 */
export function fakeFetch(routes) {
  const calls = [];
  const prefix = `${HOST}/projects/${PROJECT}/sdk`;
  const v2Prefix = `${HOST}/v2/projects/${PROJECT}/sdk`;
  const fetch = async (url, init = {}) => {
    const call = { url, method: init.method || 'GET', headers: init.headers || {}, body: init.body };
    if (url.startsWith(prefix)) call.path = url.slice(prefix.length);
    else if (url.startsWith(v2Prefix)) call.path = `/v2${url.slice(v2Prefix.length)}`;
    else call.path = url;
    call.json = () => JSON.parse(call.body);
    calls.push(call);
    const key = `${call.method} ${call.path.split('?')[0]}`;
    const route = routes[key];
    if (route === undefined) return response(404, { message: `No route for ${key}.`, code: 'route_not_found' });
    const answer = typeof route === 'function' ? await route(call) : route;
    if (answer && answer.__response) return answer.__response;
    return response(200, answer);
  };
  fetch.calls = calls;
  return fetch;
}

/** An answer with another status, or another content type. */
export function reply(status, body, contentType) {
  return { __response: response(status, body, contentType) };
}

/** A fake EventSource class; `FakeEventSource.last` is the latest stream. */
export class FakeEventSource {
  static instances = [];
  constructor(url) {
    this.url = url;
    this.listeners = {};
    this.closed = false;
    FakeEventSource.instances.push(this);
  }
  static get last() {
    return FakeEventSource.instances[FakeEventSource.instances.length - 1];
  }
  addEventListener(name, listener) {
    (this.listeners[name] ||= []).push(listener);
  }
  close() {
    this.closed = true;
  }
  /** The server sends `event: name` with `data`. */
  push(name, data) {
    for (const listener of this.listeners[name] || []) listener({ data: JSON.stringify(data) });
  }
}

class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.attributes = {};
    this.style = {};
    this.children = [];
    this.listeners = {};
    this.parent = null;
    this.focused = 0;
  }
  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }
  getAttribute(name) {
    return this.attributes[name];
  }
  append(...nodes) {
    for (const node of nodes) {
      node.parent = this;
      this.children.push(node);
    }
  }
  remove() {
    if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this);
    this.parent = null;
  }
  addEventListener(name, listener) {
    (this.listeners[name] ||= []).push(listener);
  }
  focus() {
    this.focused += 1;
  }
}

/**
 * A window: `open` records popups (or returns null when `blockPopups`),
 * messages are dispatched with `post`, and touching storage or cookies
 * fails the test that set `forbidStorage`.
 */
export function fakeWindow({ blockPopups = false } = {}) {
  const listeners = { message: new Set() };
  const docListeners = { keydown: new Set() };
  const popups = [];
  const touched = [];
  const body = new FakeElement('body');
  const opener = new FakeElement('button');
  const document = {
    body,
    activeElement: opener,
    createElement: (tag) => {
      const element = new FakeElement(tag);
      if (tag === 'iframe') element.contentWindow = { messages: [], postMessage(data, origin) { this.messages.push({ data, origin }); } };
      return element;
    },
    addEventListener: (name, l) => docListeners[name].add(l),
    removeEventListener: (name, l) => docListeners[name].delete(l),
    get cookie() {
      touched.push('document.cookie');
      return '';
    },
  };
  const win = {
    location: { origin: 'https://app.example' },
    document,
    popups,
    touched,
    opener,
    open(url, name, features) {
      if (blockPopups) return null;
      const popup = { openedWith: { url, name, features }, location: { href: url }, closed: false, close() { this.closed = true; } };
      popups.push(popup);
      return popup;
    },
    addEventListener: (name, l) => listeners[name].add(l),
    removeEventListener: (name, l) => listeners[name].delete(l),
    /** A `message` event as the browser would deliver it. */
    post(data, origin, source) {
      for (const l of [...listeners.message]) l({ data, origin, source });
    },
    keydown(key) {
      for (const l of [...docListeners.keydown]) l({ key });
    },
    messageListenerCount: () => listeners.message.size,
    get localStorage() {
      touched.push('localStorage');
      return {};
    },
    get sessionStorage() {
      touched.push('sessionStorage');
      return {};
    },
  };
  return win;
}

/** Lets pending promise callbacks and zero-delay timers run. */
export function settle(ms = 5) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
