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

/** A subclass named as Paragon's SDK names it, so `instanceof` checks written for Paragon hold. */
function paragonErrorClass(name) {
  const ErrorClass = class extends ParagonError {
    constructor(message, fields) {
      super(message, fields);
      this.name = name;
    }
  };
  Object.defineProperty(ErrorClass, 'name', { value: name });
  return ErrorClass;
}

/** A call needed `authenticate` first, or the server refused the user token. */
const UserNotAuthenticatedError = paragonErrorClass('UserNotAuthenticatedError');
/** The project has no integration of that type (or the token may not see it). */
const IntegrationNotFoundError = paragonErrorClass('IntegrationNotFoundError');
/** The user has no (or not the selected) account of that integration. */
const IntegrationNotInstalledError = paragonErrorClass('IntegrationNotInstalledError');
/** The browser blocked the provider's popup. */
const OAuthBlockedError = paragonErrorClass('OAuthBlockedError');
/** The provider's authorization did not finish in time. */
const OAuthTimeoutError = paragonErrorClass('OAuthTimeoutError');
/** `request()`: the provider (or the proxy) answered with an error status. */
const ProxyRequestError = paragonErrorClass('ProxyRequestError');
/** An `installFlow` setter was called with no install flow waiting for it. */
const NoActiveInstallFlowError = paragonErrorClass('NoActiveInstallFlowError');
/**
 * Paragon's projects must enable headless mode for `installFlow`; Patchbay's
 * always allow it, so this is never thrown. Exported for code that checks for it.
 */
const HeadlessModeNotEnabledError = paragonErrorClass('HeadlessModeNotEnabledError');

/** Patchbay's stable error codes (and the SDK's own) that have a Paragon error class. */
const ERROR_CLASS_BY_CODE = {
  not_authenticated: UserNotAuthenticatedError,
  unauthorized_missing_token: UserNotAuthenticatedError,
  integration_not_found: IntegrationNotFoundError,
  integration_not_installed: IntegrationNotInstalledError,
  credential_not_found: IntegrationNotInstalledError,
  popup_blocked: OAuthBlockedError,
  oauth_timeout: OAuthTimeoutError,
  no_active_install_flow: NoActiveInstallFlowError,
};

/** The error for `code`: Paragon's class when there is one, else `fallback`. */
function errorFor(message, fields = {}, fallback = ParagonError) {
  const code = fields.code || '';
  const ErrorClass =
    ERROR_CLASS_BY_CODE[code] || (code.startsWith('unauthorized_token') ? UserNotAuthenticatedError : fallback);
  return new ErrorClass(message, fields);
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
const SDK_HEADERS = ['authorization', 'x-paragon-credential', 'x-paragon-configuration-id'];

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

/**
 * The provider's body out of the proxy's `{output}` wrapper. Patchbay's own
 * errors, and answers the proxy passes on raw (binary data), are not wrapped.
 */
function proxyOutput(body) {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const keys = Object.keys(body);
    if (keys.length === 1 && keys[0] === 'output') return body.output;
  }
  return body;
}

function errorFrom(response, body, fallback) {
  if (body && typeof body === 'object' && typeof body.message === 'string') {
    return errorFor(body.message, { status: response.status, code: body.code, meta: body.meta, body }, fallback);
  }
  return errorFor(`The request failed with status ${response.status}.`, { status: response.status, body }, fallback);
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
      throw new UserNotAuthenticatedError('User is not authenticated. Call paragon.authenticate(projectId, token) first.', {
        code: 'not_authenticated',
      });
    }
  }

  /** `/projects/{id}/sdk{path}`, or Paragon's `/v2/projects/...` spelling with `version`. */
  function sdkUrl(path, version) {
    if (!host) throw new ParagonError('No Patchbay host: call paragon.configureGlobal({host}) first.');
    const prefix = version ? `/${version}` : '';
    return `${host}${prefix}/projects/${encodeURIComponent(projectId)}/sdk${path}`;
  }

  /**
   * Sends one end-user API request; `body` is already serialized. `credential` and
   * `configuration` choose the account and its configuration (`X-Paragon-Credential`,
   * `X-Paragon-Configuration-Id`).
   */
  function send(method, path, { body, headers = {}, credential, configuration, version } = {}) {
    requireAuth();
    const all = { ...callerHeaders(headers), Authorization: `Bearer ${token}` };
    if (credential) all['X-Paragon-Credential'] = credential;
    if (configuration) all['X-Paragon-Configuration-Id'] = configuration;
    return fetchFn(sdkUrl(path, version), { method, headers: all, body });
  }

  /** A JSON call: the parsed answer, or a ParagonError. */
  async function call(method, path, { json, headers = {}, credential, configuration, version } = {}) {
    const all = { ...headers };
    let body;
    if (json !== undefined) {
      all['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    }
    const response = await send(method, path, { body, headers: all, credential, configuration, version });
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
   * The account `selectedCredentialId` names (an id, `ext:<externalId>` or a
   * plain externalId), else the default account.
   */
  function credentialFor(type, selectedCredentialId) {
    const state = integrationState(type);
    if (!state) {
      throw new IntegrationNotFoundError(`Integration "${type}" not found.`, { status: 404, code: 'integration_not_found' });
    }
    const wanted = selectedCredentialId || state.credentialId;
    if (!wanted) {
      throw new IntegrationNotInstalledError(`Integration "${type}" is not installed.`, {
        status: 404,
        code: 'integration_not_installed',
      });
    }
    const label = wanted.startsWith('ext:') ? wanted.slice(4) : wanted;
    const found = state.allCredentials.find((c) => c.id === wanted || c.externalId === label);
    if (!found) {
      throw new IntegrationNotInstalledError('Credential not found.', { status: 404, code: 'credential_not_found' });
    }
    return found;
  }

  /** Whether `configuration` is the one `selection` names: its id, or `ext:<externalId>`. */
  function isConfiguration(configuration, selection) {
    if (configuration.id === selection) return true;
    return selection.startsWith('ext:') && configuration.externalId === selection.slice(4);
  }

  /**
   * The account an operation on `type` acts as: the one `selectedCredentialId` names, else
   * the one holding the configuration `selectedConfigurationId` names (a configuration
   * belongs to one account), else the default account.
   */
  function accountFor(type, selectedCredentialId, selectedConfigurationId) {
    if (selectedCredentialId || !selectedConfigurationId) return credentialFor(type, selectedCredentialId);
    const state = integrationState(type);
    const holder =
      state &&
      state.allCredentials.find((c) => (c.configurations || []).some((conf) => isConfiguration(conf, selectedConfigurationId)));
    if (holder) return holder;
    credentialFor(type);
    throw new ParagonError('Configuration not found.', { status: 404, code: 'configuration_not_found' });
  }

  /** `accountFor`, once more after reloading the user object when the SDK's copy is stale. */
  async function freshAccountFor(type, selectedCredentialId, selectedConfigurationId) {
    requireAuth();
    try {
      return accountFor(type, selectedCredentialId, selectedConfigurationId);
    } catch {
      await refreshUser();
      return accountFor(type, selectedCredentialId, selectedConfigurationId);
    }
  }

  /** `/credentials/{credentialId}/configurations[/{id}]`. */
  function configurationsPath(credentialId, id) {
    if (!credentialId) {
      throw new ParagonError('A configuration belongs to one account: pass its credentialId.', { code: 'invalid_parameter' });
    }
    const base = `/credentials/${encodeURIComponent(credentialId)}/configurations`;
    return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
  }

  // ---- events -------------------------------------------------------------

  /** Calls a caller's optional callback. */
  function invoke(callback, ...args) {
    if (typeof callback === 'function') callback(...args);
  }

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
    // A replaced account (reconnected, or the same external account connected
    // again) went through an install: Paragon announces it as one.
    if (name === 'onCredentialChange' && typeof payload.deduplicated === 'boolean') emit('onIntegrationInstall', payload);
  }

  function closeStream() {
    if (stream) stream.close();
    stream = undefined;
  }

  function signOut() {
    closeStream();
    projectId = undefined;
    token = undefined;
    user = { authenticated: false };
    integrationMetadata = [];
  }

  // ---- installing ---------------------------------------------------------

  function openPopup() {
    if (!win || typeof win.open !== 'function') return null;
    const features = 'popup,width=520,height=720';
    return win.open('about:blank', `patchbay-connect-${Math.random().toString(36).slice(2)}`, features);
  }

  function popupBlocked() {
    return new OAuthBlockedError(
      'The browser blocked the connection popup. Call paragon.installIntegration directly inside a click handler.',
      { code: 'popup_blocked' },
    );
  }

  /** Refuses a second account unless the caller asked for one or names the account to replace. */
  function ensureInstallable(type, { allowMultipleCredentials, selectedCredentialId }) {
    const state = integrationState(type);
    const hasValid = state && state.allCredentials.some((c) => c.status === 'VALID');
    if (hasValid && !allowMultipleCredentials && !selectedCredentialId) {
      throw new ParagonError(`Integration "${type}" is already installed.`, {
        status: 409,
        code: 'integration_already_installed',
      });
    }
  }

  /**
   * How an install of `meta` with `accountType` connects: that account type's auth type and
   * fields, or the integration's own (its default way in).
   */
  function wayIn(meta, accountType) {
    const types = (meta && meta.accountTypes) || [];
    return types.find((type) => type.id === accountType) || meta;
  }

  /** The install request's body from `installIntegration`'s (or `installFlow.start`'s) options. */
  function installBody(options) {
    return withoutUndefined({
      allowMultipleCredentials: options.allowMultipleCredentials || undefined,
      selectedCredentialId: options.selectedCredentialId,
      externalId: options.externalId,
      credentials: options.credentials,
      connection: options.connection,
      accountType: options.accountType,
      // Paragon's option name and Patchbay's.
      redirectUrl: options.overrideRedirectUrl || options.redirectUrl,
    });
  }

  /**
   * Starts the install and follows it to its end: at once for credentials,
   * through `popup` (opened already, inside the user's click) for OAuth, or by
   * navigating this page away when a redirect URL was given.
   */
  async function runInstall(type, body, popup, oauthTimeoutMs = INSTALL_DEADLINE_MS) {
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
    const outcome = await waitForInstall(started.installSessionId, popup, oauthTimeoutMs);
    if (outcome.status !== 'complete') {
      const code = outcome.timedOut ? 'oauth_timeout' : 'install_failed';
      throw errorFor(outcome.error || 'The account could not be connected.', { code });
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
  function waitForInstall(sessionId, popup, timeoutMs) {
    return new Promise((resolve) => {
      const deadline = Date.now() + timeoutMs;
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
          if (!popup.closed) popup.close();
          const seconds = Math.round(timeoutMs / 1000);
          return finish({ status: 'failed', timedOut: true, error: `The connection took longer than ${seconds} seconds; start again.` });
        }
        if (!settled) timer = setTimeout(poll, pollIntervalMs);
      };
      if (win) win.addEventListener('message', onMessage);
      timer = setTimeout(poll, pollIntervalMs);
    });
  }

  // ---- the headless install flow -----------------------------------------

  /**
   * Paragon's `installFlow`: the install as a series of stages the page
   * renders itself. `preOptions` asks for the connection fields (and, for
   * API-key and basic-auth integrations, the credentials); `oauth` is the
   * provider's popup; `postOptions` asks for the integration's required user
   * settings; `done` ends it. An integration with several account types
   * (and no `accountType` option) starts with the `accountType` stage.
   */
  function createInstallFlow() {
    let flow;

    function current() {
      if (!flow) throw new NoActiveInstallFlowError('No install flow is active. Call paragon.installFlow.start first.', { code: 'no_active_install_flow' });
      return flow;
    }

    function enter(active, stage) {
      active.stage = stage;
      invoke(active.options.onNext, stage);
    }

    /** Tells `onError`, naming the stage the flow was at. */
    function report(active, error) {
      invoke(active.options.onError, error, { stage: active.stage && active.stage.stage });
    }

    /** Ends the flow with `error`. */
    function fail(active, error) {
      if (flow === active) flow = undefined;
      report(active, error);
    }

    async function finish(active, result) {
      if (flow !== active) return;
      flow = undefined;
      enter(active, { stage: 'done', done: true });
      invoke(active.options.onComplete, result);
    }

    /** After the account is connected: its required settings, or the end. */
    function afterInstall(active, result) {
      if (flow !== active) return;
      active.result = result;
      const meta = metadataFor(active.type);
      const required = ((meta && meta.userSettings) || []).filter((setting) => setting.required);
      if (required.length) enter(active, { stage: 'postOptions', options: required, done: false });
      else finish(active, result);
    }

    /** Connects the account; for OAuth, call this inside the user's click (the popup opens here). */
    function install(active, extra) {
      const body = installBody({ ...active.options, ...extra });
      const way = wayIn(metadataFor(active.type), body.accountType);
      let popup = null;
      if (way.authType === 'oauth2' && !body.redirectUrl) {
        popup = openPopup();
        if (!popup) return fail(active, popupBlocked());
        enter(active, { stage: 'oauth', done: false });
      }
      runInstall(active.type, body, popup, active.options.oauthTimeout ?? INSTALL_DEADLINE_MS).then(
        (result) => afterInstall(active, result),
        (error) => fail(active, error),
      );
    }

    /** The connection fields and, without OAuth, the credentials; or straight to the install. */
    function askPreOptions(active) {
      const way = wayIn(metadataFor(active.type), active.options.accountType);
      const fields = [...(way.connectionFields || []), ...(way.authType === 'oauth2' ? [] : way.credentialFields || [])];
      if (fields.length) enter(active, { stage: 'preOptions', options: fields, done: false });
      else install(active, {});
    }

    function expect(stageName) {
      const active = current();
      if (active.stage.stage !== stageName) {
        throw new NoActiveInstallFlowError(`The install flow is at its "${active.stage.stage}" stage, not "${stageName}".`, {
          code: 'no_active_install_flow',
        });
      }
      return active;
    }

    return {
      start(type, options = {}) {
        const active = { type, options, stage: undefined };
        flow = active;
        try {
          requireAuth();
          const meta = metadataFor(type);
          if (!meta) {
            throw new IntegrationNotFoundError(`Integration "${type}" not found.`, { status: 404, code: 'integration_not_found' });
          }
          ensureInstallable(type, options);
          const types = meta.accountTypes || [];
          if (types.length > 1 && !options.accountType) enter(active, { stage: 'accountType', options: types, done: false });
          else askPreOptions(active);
        } catch (error) {
          fail(active, error);
        }
      },

      /** The stage the flow is at. */
      next() {
        return current().stage;
      },

      /** The `preOptions` answers: connection fields and, without OAuth, the credentials. */
      setPreOptions(values = {}) {
        const active = expect('preOptions');
        const way = wayIn(metadataFor(active.type), active.options.accountType);
        const pick = (fields) =>
          Object.fromEntries(fields.filter((f) => values[f.id] !== undefined).map((f) => [f.id, String(values[f.id])]));
        const connection = pick(way.connectionFields || []);
        const credentials = way.authType === 'oauth2' ? undefined : pick(way.credentialFields || []);
        install(active, withoutUndefined({ connection: Object.keys(connection).length ? connection : undefined, credentials }));
      },

      /** The `postOptions` answers: saved as the new account's user settings. */
      setPostOptions(values = {}) {
        const active = expect('postOptions');
        api
          .updateIntegrationUserSettings(active.type, values, { selectedCredentialId: active.result.credentialId })
          // Refused settings (`validation_failed`) keep the stage open for corrected answers.
          .then(
            () => finish(active, active.result),
            (error) => report(active, error),
          );
      },

      /** The `accountType` answer: the id of one of the stage's options. For OAuth without preOptions the popup opens here. */
      setAccountType(accountType) {
        const active = expect('accountType');
        if (!active.stage.options.some((type) => type.id === accountType)) {
          const known = active.stage.options.map((type) => type.id).join(', ');
          report(active, new ParagonError(`"${accountType}" is not an account type of "${active.type}"; it has ${known}.`, { code: 'validation_failed' }));
          return;
        }
        active.options = { ...active.options, accountType };
        askPreOptions(active);
      },
    };
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
            selectedConfigurationId: options.selectedConfigurationId,
            install: Boolean(options.install),
          },
          host,
        );
        frame.focus();
      } else if (data.type === 'patchbay:portal-close') {
        close();
      } else if (data.type === 'patchbay:portal-change') {
        const payload = { integrationId: meta && meta.id, ...data.payload };
        refreshQuietly().then(() => {
          invoke(options[PORTAL_CALLBACKS[data.event]], payload, user);
          // Paragon's `onSuccess`: an account was connected in the portal.
          if (data.event === 'onIntegrationInstall') invoke(options.onSuccess, payload, user);
        });
      } else if (data.type === 'patchbay:portal-error') {
        const failure = data.error || {};
        const message = typeof failure.message === 'string' ? failure.message : 'The Connect Portal failed.';
        invoke(options.onError, errorFor(message, { status: failure.status, code: failure.code, meta: failure.meta }));
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
      invoke(options.onClose);
      refreshQuietly();
    }

    win.addEventListener('message', onMessage);
    doc.addEventListener('keydown', onKeydown);
    overlay.addEventListener('click', onOverlayClick);
    doc.body.append(overlay);
    emit('onPortalOpen', { integrationType: type });
    invoke(options.onOpen);
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

    /**
     * Signs the user in: loads the user object and starts listening for
     * changes. `metadata` is merged into the user's metadata (`getUser().meta`).
     */
    async authenticate(newProjectId, userToken, { metadata } = {}) {
      if (!newProjectId || !userToken) {
        throw new ParagonError('paragon.authenticate(projectId, token) needs a project id and a user token.');
      }
      closeStream();
      projectId = newProjectId;
      token = userToken;
      try {
        const [me, integrations] = await Promise.all([call('GET', '/me'), call('GET', '/integrations')]);
        user = me;
        integrationMetadata = integrations;
        if (metadata && Object.keys(metadata).length) user = await call('PATCH', '/me', { json: { meta: metadata } });
      } catch (error) {
        signOut();
        throw error;
      }
      openStream();
    },

    /** Forgets the user: closes the portal and the event stream, drops the token. */
    logout() {
      if (portal) portal.close();
      signOut();
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

    /**
     * Opens the Connect Portal for `type` over the page, on the selected (or
     * first) account. An integration the project does not have opens nothing
     * and reports `IntegrationNotFoundError` to `onError`.
     */
    connect(type, options = {}) {
      requireAuth();
      if (!win || !win.document) throw new ParagonError('paragon.connect() needs a browser window.');
      if (!metadataFor(type)) {
        invoke(
          options.onError,
          new IntegrationNotFoundError(`Integration "${type}" not found.`, { status: 404, code: 'integration_not_found' }),
        );
        return;
      }
      if (portal) portal.close();
      portal = openPortal(type, options);
    },

    /** Closes the Connect Portal, if one is open. */
    closePortal() {
      if (portal) portal.close();
    },

    /**
     * Connects an account. For OAuth integrations the popup opens right
     * here, synchronously — call it directly inside a click handler, before
     * any `await`, or the browser blocks the popup.
     */
    installIntegration(type, options = {}) {
      try {
        requireAuth();
        ensureInstallable(type, options);
      } catch (error) {
        return Promise.reject(error);
      }
      const body = installBody(options);
      const meta = metadataFor(type);
      const way = meta && wayIn(meta, options.accountType);
      if (way && way.authType !== 'oauth2' && !options.credentials) {
        return installInPortal(type, options.selectedCredentialId);
      }
      const needsPopup = !options.credentials && !body.redirectUrl && (!way || way.authType === 'oauth2');
      const popup = needsPopup ? openPopup() : null;
      if (needsPopup && !popup) return Promise.reject(popupBlocked());
      const installing = runInstall(type, body, popup, options.oauthTimeout ?? INSTALL_DEADLINE_MS);
      if (!options.showPortalAfterInstall) return installing;
      // Paragon's option: present the new account's settings right away.
      return installing.then((result) => {
        api.connect(type, { selectedCredentialId: result.credentialId });
        return result;
      });
    },

    /** Paragon's headless install flow (`start`, `next`, `setPreOptions`, `setPostOptions`, `setAccountType`). */
    installFlow: createInstallFlow(),

    /** Disconnects the selected account (required when the user has several). */
    async uninstallIntegration(type, { selectedCredentialId } = {}) {
      await call('DELETE', `/integrations/${encodeURIComponent(type)}`, { credential: selectedCredentialId });
      await refreshQuietly();
    },

    /**
     * The selected (or default) account. Never with its tokens: with
     * `includeAccountAuth: true` it rejects and points to `request()`, which
     * calls the provider with them on the server.
     */
    async getIntegrationAccount(type, { selectedCredentialId, selectedConfigurationId, includeAccountAuth } = {}) {
      requireAuth();
      if (includeAccountAuth) {
        throw new ParagonError(
          'Patchbay never hands provider tokens to the browser. Call the provider through paragon.request(), ' +
            'which adds the account\'s credentials on the server.',
          { code: 'account_auth_not_exposed' },
        );
      }
      // The account may be newer than the user object this SDK holds: then it reloads it.
      return freshAccountFor(type, selectedCredentialId, selectedConfigurationId);
    },

    /**
     * Calls the integration's API as the selected (or default) account, through the proxy;
     * `selectedConfigurationId` names one of its configurations (and with it the account).
     */
    async request(type, path, { method = 'GET', body, headers = {}, selectedCredentialId, selectedConfigurationId } = {}) {
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
        configuration: selectedConfigurationId,
      });
      // The proxy answers Paragon's `{"output": <the provider's body>}`;
      // like Paragon's SDK, `request` resolves the provider's body itself.
      const data = proxyOutput(await readBody(response));
      if (!response.ok) throw errorFrom(response, data, ProxyRequestError);
      return data;
    },

    /** Runs a Request-trigger workflow for the selected (or default) account and configuration. */
    async workflow(workflowId, { body, query, headers = {}, selectedCredentialId, selectedConfigurationId } = {}) {
      const search = query && Object.keys(query).length ? `?${new URLSearchParams(query)}` : '';
      return call('POST', `/triggers/${encodeURIComponent(workflowId)}${search}`, {
        json: body ?? {},
        headers,
        credential: selectedCredentialId,
        configuration: selectedConfigurationId,
      });
    },

    /**
     * Sends an App Event: runs the user's enabled workflows that listen to
     * `name`, only for the selected account when one is named.
     */
    async event(name, payload = {}, { selectedCredentialId, selectedConfigurationId } = {}) {
      return call('POST', '/events/trigger', {
        json: { name, payload },
        credential: selectedCredentialId,
        configuration: selectedConfigurationId,
        version: 'v2',
      });
    },

    /** Merges `meta` into the user's metadata. */
    async setUserMetadata(meta) {
      user = await call('PATCH', '/me', { json: { meta } });
      return user;
    },

    /** Enables the workflow for the selected (or default) account, in the selected (or default) configuration. */
    async enableWorkflow(workflowId, { selectedCredentialId, selectedConfigurationId } = {}) {
      const credential = await call('POST', `/workflows/${encodeURIComponent(workflowId)}`, {
        credential: selectedCredentialId,
        configuration: selectedConfigurationId,
      });
      await refreshQuietly();
      return credential;
    },

    async disableWorkflow(workflowId, { selectedCredentialId, selectedConfigurationId } = {}) {
      const credential = await call('DELETE', `/workflows/${encodeURIComponent(workflowId)}`, {
        credential: selectedCredentialId,
        configuration: selectedConfigurationId,
      });
      await refreshQuietly();
      return credential;
    },

    /**
     * Enables or disables several workflows for the selected (or default)
     * account: `{[workflowId]: enabled}`. Resolves with the account as the
     * last change left it.
     */
    async updateWorkflowState(states, { selectedCredentialId, selectedConfigurationId } = {}) {
      let credential;
      for (const [workflowId, enabled] of Object.entries(states)) {
        const change = enabled ? api.enableWorkflow : api.disableWorkflow;
        credential = await change(workflowId, { selectedCredentialId, selectedConfigurationId });
      }
      return credential;
    },

    /**
     * Merges `settings` into the user settings of the selected (or default) account's
     * selected (or default) configuration.
     */
    async updateIntegrationUserSettings(type, settings, { selectedCredentialId, selectedConfigurationId } = {}) {
      const account = await freshAccountFor(type, selectedCredentialId, selectedConfigurationId);
      const credential = await call('PATCH', `/credentials/${encodeURIComponent(account.id)}`, {
        json: { config: { sharedSettings: settings } },
        configuration: selectedConfigurationId,
      });
      await refreshQuietly();
      return credential;
    },

    /**
     * Merges `settings` into one workflow's own settings (its `inputs`) for the selected
     * (or default) account and configuration; the workflow's enabled state is left as it is.
     */
    async updateWorkflowUserSettings(type, workflowId, settings, { selectedCredentialId, selectedConfigurationId } = {}) {
      const account = await freshAccountFor(type, selectedCredentialId, selectedConfigurationId);
      const credential = await call('PATCH', `/credentials/${encodeURIComponent(account.id)}`, {
        json: { config: { workflowSettings: { [workflowId]: { settings } } } },
        configuration: selectedConfigurationId,
      });
      await refreshQuietly();
      return credential;
    },

    /**
     * Adds a configuration to an account: another set of user settings and workflow
     * choices for the same connection. Resolves with the configuration.
     */
    async createConfiguration({ credentialId, externalId, meta } = {}) {
      const configuration = await call('POST', configurationsPath(credentialId), {
        json: withoutUndefined({ externalId, meta }),
      });
      await refreshQuietly();
      return configuration;
    },

    /** Changes a configuration's `externalId` (`null` removes it) or `meta`. Resolves with it. */
    async updateConfiguration({ id, credentialId, externalId, meta, sharedSettings, workflowSettings } = {}) {
      const configuration = await call('PATCH', configurationsPath(credentialId, id), {
        json: withoutUndefined({ externalId, meta, sharedSettings, workflowSettings }),
      });
      await refreshQuietly();
      return configuration;
    },

    /** Deletes a configuration (never the account's default one). */
    async destroyConfiguration({ id, credentialId } = {}) {
      await call('DELETE', configurationsPath(credentialId, id));
      await refreshQuietly();
    },

    /**
     * The options of a `dynamic_select`, `combo` or `field_mapping` setting (a workflow's
     * input with `workflowId`), listed from the account's own API: `{data: [{label, value}],
     * nextCursor}` (also as Paragon's `nextPageCursor`). `search` filters, `cursor` is the
     * previous page's `nextCursor`, `main` is a combo's first value (its second's options).
     */
    async getFieldOptions({ integration, field, workflowId, search, cursor, main, selectedCredentialId } = {}) {
      if (!integration || !field) {
        throw new ParagonError('paragon.getFieldOptions needs an integration and a field.', { code: 'invalid_parameter' });
      }
      const account = await freshAccountFor(integration, selectedCredentialId);
      const query = new URLSearchParams(
        withoutUndefined({ setting: field, workflow: workflowId || undefined, search: search || undefined, cursor: cursor || undefined, main }),
      );
      const page = await call('GET', `/credentials/${encodeURIComponent(account.id)}/field-options?${query}`);
      const nextCursor = (page && page.nextCursor) || null;
      return { data: (page && page.data) || [], nextCursor, nextPageCursor: nextCursor };
    },

    /** The project's integrations (name, icon, brand colour, user settings, workflows), or one of them. */
    getIntegrationMetadata(type) {
      requireAuth();
      return type === undefined ? integrationMetadata : metadataFor(type);
    },

    /**
     * What the Connect Portal shows for `type`: its descriptions, user
     * settings and workflows, in Paragon's field names.
     */
    getIntegrationConfig(type) {
      requireAuth();
      const meta = metadataFor(type);
      if (!meta) {
        throw new IntegrationNotFoundError(`Integration "${type}" not found.`, { status: 404, code: 'integration_not_found' });
      }
      return {
        id: meta.id,
        type: meta.type,
        shortDescription: meta.description,
        longDescription: meta.description,
        availableUserSettings: meta.userSettings,
        availableWorkflows: meta.workflows,
      };
    },
  };
  return api;
}

/** Every error class, for the classic script's `window.Patchbay`. */
const ERROR_CLASSES = {
  ParagonError,
  UserNotAuthenticatedError,
  IntegrationNotFoundError,
  IntegrationNotInstalledError,
  OAuthBlockedError,
  OAuthTimeoutError,
  ProxyRequestError,
  NoActiveInstallFlowError,
  HeadlessModeNotEnabledError,
};

// ---- module exports (not part of the classic script served at /sdk.global.js) ----
const paragon = createParagon({ host: hostOf(import.meta.url) });

export {
  paragon,
  createParagon,
  ParagonError,
  UserNotAuthenticatedError,
  IntegrationNotFoundError,
  IntegrationNotInstalledError,
  OAuthBlockedError,
  OAuthTimeoutError,
  ProxyRequestError,
  NoActiveInstallFlowError,
  HeadlessModeNotEnabledError,
};
export default paragon;
