// Patchbay's JavaScript SDK: a `paragon` object compatible with Paragon's
// Connect SDK (`@useparagon/connect`), pointed at a Patchbay deployment.
//
// Plain modern JavaScript with no dependencies and no build step. Patchbay
// serves this file as an ES module at `/sdk.js`, and everything above the
// "module exports" marker, wrapped in a function, as a classic script at
// `/sdk.global.js` (which sets `window.paragon`). So nothing above the marker
// may use module-only syntax: import or export statements, or the module's URL.

/** The events `subscribe` accepts. */
const SDK_EVENTS = [
  'onIntegrationInstall',
  'onIntegrationUninstall',
  'onWorkflowChange',
  'onCredentialChange',
  'onPortalOpen',
  'onPortalClose',
];

/** The events the server pushes on `GET /sdk/events/stream`. */
const STREAM_EVENTS = ['onIntegrationInstall', 'onIntegrationUninstall', 'onWorkflowChange', 'onCredentialChange'];

/** `connect()` callbacks by the event that triggers them, as Paragon names them. */
const PORTAL_CALLBACKS = {
  onIntegrationInstall: 'onInstall',
  onIntegrationUninstall: 'onUninstall',
  onWorkflowChange: 'onWorkflowChange',
  onCredentialChange: 'onCredentialChange',
};

/** How often an install session is polled while its popup is open. */
const POLL_INTERVAL_MS = 1000;
/** Install sessions expire after 10 minutes on the server; stop waiting then. */
const INSTALL_DEADLINE_MS = 10 * 60 * 1000;

/**
 * Every error the SDK rejects with. `message` is Paragon's sentence where
 * Paragon has one; `code`, `status` and `meta` are Patchbay's error fields
 * when the server answered with one.
 */
class ParagonError extends Error {
  constructor(message, { status, code, meta, body } = {}) {
    super(message);
    this.name = 'ParagonError';
    this.status = status;
    this.code = code;
    this.meta = meta;
    this.body = body;
  }
}

/** `https://host` from `host`, `https://host/` or `http://127.0.0.1:8080`. */
function normalizeHost(host) {
  const text = String(host).trim().replace(/\/+$/, '');
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
}

/** The origin of a script's URL, when it was loaded over HTTP(S). */
function hostOf(scriptUrl) {
  try {
    const url = new URL(scriptUrl);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

function isRawBody(body) {
  return (
    typeof body === 'string' ||
    (typeof Blob !== 'undefined' && body instanceof Blob) ||
    (typeof FormData !== 'undefined' && body instanceof FormData) ||
    (typeof URLSearchParams !== 'undefined' && body instanceof URLSearchParams) ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body)
  );
}

function hasHeader(headers, name) {
  const wanted = name.toLowerCase();
  return Object.keys(headers).some((key) => key.toLowerCase() === wanted);
}

/** The SDK sets these itself; a caller's copy, in any case, would be merged into them. */
const SDK_HEADERS = ['authorization', 'x-paragon-credential'];

function callerHeaders(headers) {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => !SDK_HEADERS.includes(key.toLowerCase())));
}

function withoutUndefined(object) {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

/** A response body: JSON when it says so, text otherwise, null when empty. */
async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  const type = (response.headers && response.headers.get('content-type')) || '';
  if (type.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function errorFrom(response, body) {
  if (body && typeof body === 'object' && typeof body.message === 'string') {
    return new ParagonError(body.message, { status: response.status, code: body.code, meta: body.meta, body });
  }
  return new ParagonError(`The request failed with status ${response.status}.`, { status: response.status, body });
}

/**
 * A new SDK instance. `env` replaces the browser's globals (tests pass fakes):
 * `{host, fetch, EventSource, window, pollIntervalMs}`.
 */
function createParagon(env = {}) {
  const win = env.window || (typeof window !== 'undefined' ? window : undefined);
  const fetchFn = env.fetch || ((...args) => globalThis.fetch(...args));
  const EventSourceImpl = env.EventSource || (win && win.EventSource) || globalThis.EventSource;
  const pollIntervalMs = env.pollIntervalMs ?? POLL_INTERVAL_MS;

  let host = env.host ? normalizeHost(env.host) : win && win.location ? win.location.origin : undefined;
  // The token lives only in this closure: never in localStorage, cookies or the URL bar.
  let projectId;
  let token;
  let user = { authenticated: false };
  let integrationMetadata = [];
  let stream;
  let streamQueue = Promise.resolve();
  let portal;
  const listeners = new Map(SDK_EVENTS.map((name) => [name, new Set()]));

  // ---- HTTP ---------------------------------------------------------------

  function requireAuth() {
    if (!token) {
      throw new ParagonError('User is not authenticated. Call paragon.authenticate(projectId, token) first.', {
        code: 'not_authenticated',
      });
    }
  }

  function sdkUrl(path) {
    if (!host) throw new ParagonError('No Patchbay host: call paragon.configureGlobal({host}) first.');
    return `${host}/projects/${encodeURIComponent(projectId)}/sdk${path}`;
  }

  /** Sends one end-user API request; `body` is already serialized. */
  function send(method, path, { body, headers = {}, credential } = {}) {
    requireAuth();
    const all = { ...callerHeaders(headers), Authorization: `Bearer ${token}` };
    if (credential) all['X-Paragon-Credential'] = credential;
    return fetchFn(sdkUrl(path), { method, headers: all, body });
  }

  /** A JSON call: the parsed answer, or a ParagonError. */
  async function call(method, path, { json, headers = {}, credential } = {}) {
    const all = { ...headers };
    let body;
    if (json !== undefined) {
      all['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    }
    const response = await send(method, path, { body, headers: all, credential });
    const data = await readBody(response);
    if (!response.ok) throw errorFrom(response, data);
    return data;
  }

  async function refreshUser() {
    requireAuth();
    user = await call('GET', '/me');
    return user;
  }

  /** After a change this SDK made: the user object is stale. */
  async function refreshQuietly() {
    try {
      await refreshUser();
    } catch {
      // The change itself succeeded; the next refresh will catch up.
    }
  }

  function integrationState(type) {
    return (user.integrations && user.integrations[type]) || undefined;
  }

  function metadataFor(type) {
    return integrationMetadata.find((integration) => integration.type === type);
  }

  /**
   * The id of the account `selectedCredentialId` names (an id, `ext:<externalId>`
   * or a plain externalId), else of the default account.
   */
  function credentialIdFor(type, selectedCredentialId) {
    const state = integrationState(type);
    if (!state) throw new ParagonError(`Integration "${type}" not found.`, { status: 404, code: 'integration_not_found' });
    if (!selectedCredentialId) {
      if (!state.credentialId) {
        throw new ParagonError(`Integration "${type}" is not installed.`, { status: 404, code: 'integration_not_installed' });
      }
      return state.credentialId;
    }
    const label = selectedCredentialId.startsWith('ext:') ? selectedCredentialId.slice(4) : selectedCredentialId;
    const found = state.allCredentials.find((c) => c.id === selectedCredentialId || c.externalId === label);
    if (!found) throw new ParagonError('Credential not found.', { status: 404, code: 'credential_not_found' });
    return found.id;
  }

  // ---- events -------------------------------------------------------------

  function emit(name, payload) {
    for (const callback of [...listeners.get(name)]) {
      try {
        callback(payload, user);
      } catch (error) {
        // One listener's bug must not keep the others from hearing the event.
        console.error(error);
      }
    }
  }

  function openStream() {
    if (!EventSourceImpl) return;
    const source = new EventSourceImpl(`${sdkUrl('/events/stream')}?token=${encodeURIComponent(token)}`);
    for (const name of STREAM_EVENTS) {
      source.addEventListener(name, (message) => {
        // In arrival order, each after the user object has caught up with it.
        streamQueue = streamQueue.then(() => deliverStreamEvent(source, name, message));
      });
    }
    // The server ends a stream whose token expired or whose signing key was
    // revoked; reconnecting with the same token could only be refused.
    source.addEventListener('streamEnded', () => {
      if (source === stream) closeStream();
    });
    stream = source;
  }

  async function deliverStreamEvent(source, name, message) {
    if (source !== stream) return;
    let payload;
    try {
      payload = JSON.parse(message.data);
    } catch {
      return;
    }
    await refreshQuietly();
    emit(name, payload);
  }

  function closeStream() {
    if (stream) stream.close();
    stream = undefined;
  }

  // ---- installing ---------------------------------------------------------

  function openPopup() {
    if (!win || typeof win.open !== 'function') return null;
    const features = 'popup,width=520,height=720';
    return win.open('about:blank', `patchbay-connect-${Math.random().toString(36).slice(2)}`, features);
  }

  async function installWithPopup(type, body, popup) {
    let started;
    try {
      started = await call('POST', `/integrations/${encodeURIComponent(type)}/install`, { json: body });
    } catch (error) {
      if (popup) popup.close();
      throw error;
    }
    if (!started || !started.authorizationUrl) {
      if (popup) popup.close();
      return installed(type, started && started.credential && started.credential.id, started);
    }
    if (body.redirectUrl) {
      win.location.assign(started.authorizationUrl);
      return new Promise(() => {});
    }
    popup.location.href = started.authorizationUrl;
    const outcome = await waitForInstall(started.installSessionId, popup);
    if (outcome.status !== 'complete') {
      throw new ParagonError(outcome.error || 'The account could not be connected.', { code: 'install_failed' });
    }
    return installed(type, outcome.credentialId, outcome);
  }

  async function installed(type, credentialId, outcome) {
    await refreshQuietly();
    const state = integrationState(type);
    const credential = state && state.allCredentials.find((c) => c.id === credentialId);
    const meta = metadataFor(type);
    return {
      integrationId: (meta && meta.id) || (credential && credential.integrationId),
      integrationType: type,
      credentialId,
      credential,
      deduplicated: Boolean(outcome && outcome.deduplicated),
    };
  }

  /**
   * Resolves with the install session's end: from the callback page's
   * `postMessage`, or — when that never comes (the opener's origin is not
   * an allowed origin, the popup lost its opener) — from polling.
   */
  function waitForInstall(sessionId, popup) {
    return new Promise((resolve) => {
      const deadline = Date.now() + INSTALL_DEADLINE_MS;
      let settled = false;
      let timer;
      let closedPolls = 0;
      const finish = (outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (win) win.removeEventListener('message', onMessage);
        resolve(outcome);
      };
      const onMessage = (event) => {
        const data = event.data;
        if (event.origin !== host || !data || data.type !== 'patchbay:install') return;
        if (data.installSessionId !== sessionId) return;
        finish(data);
      };
      const poll = async () => {
        if (settled) return;
        try {
          const session = await call('GET', `/install-sessions/${encodeURIComponent(sessionId)}`);
          if (session.status !== 'pending') return finish(session);
        } catch {
          // A failed poll is retried; the deadline bounds the waiting.
        }
        // Closed twice in a row with the session still pending: the user gave up.
        closedPolls = popup.closed ? closedPolls + 1 : 0;
        if (closedPolls >= 2) {
          return finish({ status: 'failed', error: 'The connection window was closed before an account was connected.' });
        }
        if (Date.now() > deadline) {
          return finish({ status: 'failed', error: 'The connection took longer than 10 minutes; start again.' });
        }
        if (!settled) timer = setTimeout(poll, pollIntervalMs);
      };
      if (win) win.addEventListener('message', onMessage);
      timer = setTimeout(poll, pollIntervalMs);
    });
  }

  // ---- the Connect Portal -------------------------------------------------

  function openPortal(type, options) {
    const doc = win.document;
    const previousFocus = doc.activeElement;
    const meta = metadataFor(type);
    const overlay = doc.createElement('div');
    overlay.setAttribute('data-patchbay-portal', type);
    overlay.setAttribute('role', 'dialog');
    overlay.setAttribute('aria-modal', 'true');
    overlay.setAttribute('aria-label', `${(meta && meta.name) || type} Connect Portal`);
    overlay.style.cssText =
      'position:fixed;inset:0;z-index:2147483000;display:flex;align-items:center;justify-content:center;' +
      'background:rgba(15,23,42,.55);padding:1rem;box-sizing:border-box;';
    const frame = doc.createElement('iframe');
    frame.title = `${(meta && meta.name) || type} Connect Portal`;
    frame.src = `${host}/portal/`;
    frame.style.cssText =
      'width:min(760px,100%);height:min(680px,100%);border:0;border-radius:12px;background:#fff;' +
      'box-shadow:0 20px 50px rgba(0,0,0,.35);';
    overlay.append(frame);

    const onMessage = (event) => {
      const data = event.data;
      if (event.source !== frame.contentWindow || event.origin !== host || !data) return;
      if (data.type === 'patchbay:portal-ready') {
        frame.contentWindow.postMessage(
          {
            type: 'patchbay:portal-init',
            projectId,
            token,
            integration: type,
            selectedCredentialId: options.selectedCredentialId,
            install: Boolean(options.install),
          },
          host,
        );
        frame.focus();
      } else if (data.type === 'patchbay:portal-close') {
        close();
      } else if (data.type === 'patchbay:portal-change') {
        refreshQuietly().then(() => {
          const callback = options[PORTAL_CALLBACKS[data.event]];
          if (typeof callback === 'function') callback(data.payload, user);
        });
      }
    };
    const onKeydown = (event) => {
      if (event.key === 'Escape') close();
    };
    const onOverlayClick = (event) => {
      if (event.target === overlay) close();
    };

    let closed = false;
    function close() {
      if (closed) return;
      closed = true;
      win.removeEventListener('message', onMessage);
      doc.removeEventListener('keydown', onKeydown);
      overlay.remove();
      if (portal && portal.close === close) portal = undefined;
      if (previousFocus && typeof previousFocus.focus === 'function') previousFocus.focus();
      emit('onPortalClose', { integrationType: type });
      if (typeof options.onClose === 'function') options.onClose();
      refreshQuietly();
    }

    win.addEventListener('message', onMessage);
    doc.addEventListener('keydown', onKeydown);
    overlay.addEventListener('click', onOverlayClick);
    doc.body.append(overlay);
    emit('onPortalOpen', { integrationType: type });
    if (typeof options.onOpen === 'function') options.onOpen();
    return { close, frame };
  }

  /**
   * API-key and basic-auth accounts without `credentials`: the portal asks
   * the user for them. Resolves once an account is connected; rejects if the
   * portal closes first.
   */
  function installInPortal(type, selectedCredentialId) {
    return new Promise((resolve, reject) => {
      let connected = false;
      try {
        api.connect(type, {
          selectedCredentialId,
          install: true,
          onInstall: (payload) => {
            connected = true;
            installed(type, payload.credentialId, payload).then(resolve);
          },
          onClose: () => {
            if (connected) return;
            reject(new ParagonError('The Connect Portal was closed before an account was connected.', { code: 'install_cancelled' }));
          },
        });
      } catch (error) {
        reject(error);
      }
    });
  }

  // ---- the public object --------------------------------------------------

  // Its methods never use `this`, so they work detached (`const { request } = paragon`).
  const api = {
    /** Points the SDK at a Patchbay deployment (`https://patchbay.example` or a bare host name). */
    configureGlobal({ host: newHost } = {}) {
      if (newHost) host = normalizeHost(newHost);
    },

    /** Signs the user in: loads the user object and starts listening for changes. */
    async authenticate(newProjectId, userToken) {
      if (!newProjectId || !userToken) {
        throw new ParagonError('paragon.authenticate(projectId, token) needs a project id and a user token.');
      }
      closeStream();
      projectId = newProjectId;
      token = userToken;
      try {
        const [me, metadata] = await Promise.all([call('GET', '/me'), call('GET', '/integrations')]);
        user = me;
        integrationMetadata = metadata;
      } catch (error) {
        projectId = undefined;
        token = undefined;
        user = { authenticated: false };
        throw error;
      }
      openStream();
    },

    /** The user object as last loaded (refreshed after every change the SDK makes or hears about). */
    getUser() {
      return user;
    },

    /** Beyond Paragon: reloads the user object now. */
    refreshUser,

    /** Listens for `event`; returns a function that stops listening. */
    subscribe(event, callback) {
      const set = listeners.get(event);
      if (!set) throw new ParagonError(`Unknown event "${event}". Events: ${SDK_EVENTS.join(', ')}.`);
      set.add(callback);
      return () => set.delete(callback);
    },

    unsubscribe(event, callback) {
      const set = listeners.get(event);
      if (set) set.delete(callback);
    },

    /** Opens the Connect Portal for `type` over the page, on the selected (or first) account. */
    connect(type, options = {}) {
      requireAuth();
      if (!win || !win.document) throw new ParagonError('paragon.connect() needs a browser window.');
      if (portal) portal.close();
      portal = openPortal(type, options);
    },

    /**
     * Connects an account. For OAuth integrations the popup opens right
     * here, synchronously — call it directly inside a click handler, before
     * any `await`, or the browser blocks the popup.
     */
    installIntegration(type, options = {}) {
      try {
        requireAuth();
      } catch (error) {
        return Promise.reject(error);
      }
      const {
        allowMultipleCredentials,
        selectedCredentialId,
        externalId,
        credentials,
        connection,
        redirectUrl,
        showPortalAfterInstall,
      } = options;
      const state = integrationState(type);
      const hasValid = state && state.allCredentials.some((c) => c.status === 'VALID');
      if (hasValid && !allowMultipleCredentials && !selectedCredentialId) {
        return Promise.reject(
          new ParagonError(`Integration "${type}" is already installed.`, {
            status: 409,
            code: 'integration_already_installed',
          }),
        );
      }
      const body = withoutUndefined({
        allowMultipleCredentials: allowMultipleCredentials || undefined,
        selectedCredentialId,
        externalId,
        credentials,
        connection,
        redirectUrl,
      });
      const meta = metadataFor(type);
      if (meta && meta.authType !== 'oauth2' && !credentials) {
        return installInPortal(type, selectedCredentialId);
      }
      const needsPopup = !credentials && !redirectUrl && (!meta || meta.authType === 'oauth2');
      const popup = needsPopup ? openPopup() : null;
      if (needsPopup && !popup) {
        return Promise.reject(
          new ParagonError(
            'The browser blocked the connection popup. Call paragon.installIntegration directly inside a click handler.',
            { code: 'popup_blocked' },
          ),
        );
      }
      const installing = installWithPopup(type, body, popup);
      if (!showPortalAfterInstall) return installing;
      // Paragon's option: present the new account's settings right away.
      return installing.then((result) => {
        api.connect(type, { selectedCredentialId: result.credentialId });
        return result;
      });
    },

    /** Disconnects the selected account (required when the user has several). */
    async uninstallIntegration(type, { selectedCredentialId } = {}) {
      await call('DELETE', `/integrations/${encodeURIComponent(type)}`, { credential: selectedCredentialId });
      await refreshQuietly();
    },

    /** Calls the integration's API as the selected (or default) account, through the proxy. */
    async request(type, path, { method = 'GET', body, headers = {}, selectedCredentialId } = {}) {
      const all = { ...headers };
      let payload = body;
      if (body !== undefined && body !== null && !isRawBody(body)) {
        payload = JSON.stringify(body);
        if (!hasHeader(all, 'content-type')) all['Content-Type'] = 'application/json';
      }
      const relative = String(path).replace(/^\/+/, '');
      const response = await send(method.toUpperCase(), `/proxy/${encodeURIComponent(type)}/${relative}`, {
        body: payload,
        headers: all,
        credential: selectedCredentialId,
      });
      const data = await readBody(response);
      if (!response.ok) throw errorFrom(response, data);
      return data;
    },

    /** Runs a Request-trigger workflow for the selected (or default) account. */
    async workflow(workflowId, { body, query, headers = {}, selectedCredentialId } = {}) {
      const search = query && Object.keys(query).length ? `?${new URLSearchParams(query)}` : '';
      return call('POST', `/triggers/${encodeURIComponent(workflowId)}${search}`, {
        json: body ?? {},
        headers,
        credential: selectedCredentialId,
      });
    },

    /** Sends an App Event: runs the user's enabled workflows that listen to `name`. */
    async event(name, payload = {}) {
      return call('POST', '/events/trigger', { json: { name, payload } });
    },

    /** Merges `meta` into the user's metadata. */
    async setUserMetadata(meta) {
      user = await call('PATCH', '/me', { json: { meta } });
      return user;
    },

    async enableWorkflow(workflowId, { selectedCredentialId } = {}) {
      const credential = await call('POST', `/workflows/${encodeURIComponent(workflowId)}`, {
        credential: selectedCredentialId,
      });
      await refreshQuietly();
      return credential;
    },

    async disableWorkflow(workflowId, { selectedCredentialId } = {}) {
      const credential = await call('DELETE', `/workflows/${encodeURIComponent(workflowId)}`, {
        credential: selectedCredentialId,
      });
      await refreshQuietly();
      return credential;
    },

    /** Merges `settings` into the selected (or default) account's user settings. */
    async updateIntegrationUserSettings(type, settings, { selectedCredentialId } = {}) {
      requireAuth();
      let id;
      try {
        id = credentialIdFor(type, selectedCredentialId);
      } catch {
        // The account may be newer than the user object this SDK holds.
        await refreshUser();
        id = credentialIdFor(type, selectedCredentialId);
      }
      const credential = await call('PATCH', `/credentials/${encodeURIComponent(id)}`, {
        json: { config: { sharedSettings: settings } },
      });
      await refreshQuietly();
      return credential;
    },

    /** The project's integrations (name, icon, user settings, workflows), or one of them. */
    getIntegrationMetadata(type) {
      requireAuth();
      return type === undefined ? integrationMetadata : metadataFor(type);
    },
  };
  return api;
}

// ---- module exports (not part of the classic script served at /sdk.global.js) ----
const paragon = createParagon({ host: hostOf(import.meta.url) });

export { paragon, createParagon, ParagonError };
export default paragon;
