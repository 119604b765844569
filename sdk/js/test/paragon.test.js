import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { createParagon, ParagonError, paragon as singleton } from '../paragon.js';
import defaultExport from '../paragon.js';
import {
  HOST,
  PROJECT,
  TOKEN,
  METADATA,
  FakeEventSource,
  fakeFetch,
  fakeWindow,
  reply,
  settle,
  userWith,
} from './fakes.js';

const ADA = { id: '11111111-1111-4111-8111-111111111111', status: 'VALID', providerId: 'acct_ada' };
const GRACE = { id: '22222222-2222-4222-8222-222222222222', status: 'VALID', providerId: 'acct_grace', externalId: 'grace' };

beforeEach(() => {
  FakeEventSource.instances.length = 0;
});

/** An SDK authenticated against fake routes; `state.user` is what `/me` answers. */
async function signedIn(routes = {}, { credentials = [], window: win = fakeWindow() } = {}) {
  const state = { user: userWith(credentials) };
  const fetch = fakeFetch({
    'GET /me': () => state.user,
    'GET /integrations': METADATA,
    ...routes,
  });
  const sdk = createParagon({ host: HOST, fetch, EventSource: FakeEventSource, window: win, pollIntervalMs: 1 });
  await sdk.authenticate(PROJECT, TOKEN);
  return { sdk, fetch, state, win };
}

const installCall = (fetch) => fetch.calls.find((c) => c.method === 'POST' && c.path.endsWith('/install'));

test('paragon is the named and the default export, with every Paragon method', () => {
  assert.equal(singleton, defaultExport);
  for (const method of [
    'authenticate', 'getUser', 'subscribe', 'unsubscribe', 'connect', 'installIntegration',
    'uninstallIntegration', 'request', 'workflow', 'event', 'setUserMetadata', 'enableWorkflow',
    'disableWorkflow', 'updateIntegrationUserSettings', 'getIntegrationMetadata', 'configureGlobal',
  ]) {
    assert.equal(typeof singleton[method], 'function', method);
  }
});

test('authenticate loads the user with the token as a Bearer header, and getUser returns it', async () => {
  const win = fakeWindow();
  const { sdk, fetch } = await signedIn({}, { credentials: [ADA], window: win });
  const me = fetch.calls.find((c) => c.path === '/me');
  assert.equal(me.url, `${HOST}/projects/${PROJECT}/sdk/me`);
  assert.equal(me.headers.Authorization, `Bearer ${TOKEN}`);
  assert.equal(sdk.getUser().authenticated, true);
  assert.equal(sdk.getUser().integrations.sandbox.allCredentials[0].id, ADA.id);
  assert.deepEqual(win.touched, [], 'the token is kept in memory only');
});

test('a refused token rejects authenticate with the server message and leaves the SDK signed out', async () => {
  const fetch = fakeFetch({
    'GET /me': reply(401, { message: 'The token has expired.', code: 'unauthorized_token_expired', status: 401 }),
    'GET /integrations': METADATA,
  });
  const sdk = createParagon({ host: HOST, fetch, EventSource: FakeEventSource, window: fakeWindow() });
  await assert.rejects(sdk.authenticate(PROJECT, TOKEN), (error) => {
    assert.ok(error instanceof ParagonError);
    assert.equal(error.message, 'The token has expired.');
    assert.equal(error.code, 'unauthorized_token_expired');
    assert.equal(error.status, 401);
    return true;
  });
  assert.deepEqual(sdk.getUser(), { authenticated: false });
  assert.equal(FakeEventSource.instances.length, 0);
  await assert.rejects(sdk.request('sandbox', '/me'), { code: 'not_authenticated' });
});

test('every call before authenticate rejects without a request', async () => {
  const fetch = fakeFetch({});
  const win = fakeWindow();
  const sdk = createParagon({ host: HOST, fetch, window: win });
  assert.deepEqual(sdk.getUser(), { authenticated: false });
  await assert.rejects(sdk.installIntegration('sandbox'), { code: 'not_authenticated' });
  await assert.rejects(sdk.workflow('list-contacts'), { code: 'not_authenticated' });
  await assert.rejects(sdk.setUserMetadata({}), { code: 'not_authenticated' });
  assert.throws(() => sdk.connect('sandbox'), { code: 'not_authenticated' });
  assert.equal(fetch.calls.length, 0);
  assert.equal(win.popups.length, 0);
});

test('configureGlobal takes a bare host name or a URL', async () => {
  const fetch = fakeFetch({ 'GET /me': userWith(), 'GET /integrations': METADATA });
  const sdk = createParagon({ fetch, window: fakeWindow() });
  sdk.configureGlobal({ host: 'patchbay.test/' });
  await sdk.authenticate(PROJECT, TOKEN);
  assert.ok(fetch.calls[0].url.startsWith(`${HOST}/projects/`), fetch.calls[0].url);
  sdk.configureGlobal({ host: 'http://127.0.0.1:8080' });
  await assert.rejects(sdk.refreshUser(), { code: 'route_not_found' });
  assert.ok(fetch.calls.at(-1).url.startsWith('http://127.0.0.1:8080/projects/'), fetch.calls.at(-1).url);
});

test('installIntegration opens the popup synchronously, then finishes on the callback message', async () => {
  const { sdk, fetch, state, win } = await signedIn({
    'POST /integrations/sandbox/install': (call) => {
      assert.deepEqual(call.json(), {});
      return { authorizationUrl: `${HOST}/sandbox/oauth/authorize?state=s1`, installSessionId: 'session-1' };
    },
    'GET /install-sessions/session-1': { status: 'pending' },
  });
  const pending = sdk.installIntegration('sandbox');
  // No await happened yet: the popup must already be open (popup blockers).
  assert.equal(win.popups.length, 1);
  assert.equal(win.popups[0].openedWith.url, 'about:blank');
  await settle();
  assert.equal(win.popups[0].location.href, `${HOST}/sandbox/oauth/authorize?state=s1`);

  state.user = userWith([ADA]);
  win.post({ type: 'patchbay:install', status: 'complete', installSessionId: 'other', credentialId: 'x' }, HOST);
  win.post({ type: 'patchbay:install', status: 'complete', installSessionId: 'session-1', credentialId: 'x' }, 'https://evil.example');
  win.post({ type: 'patchbay:install', status: 'complete', installSessionId: 'session-1', credentialId: ADA.id }, HOST);
  const result = await pending;
  assert.equal(result.credentialId, ADA.id);
  assert.equal(result.integrationType, 'sandbox');
  assert.equal(result.integrationId, 'int-sandbox');
  assert.equal(result.credential.providerId, 'acct_ada');
  assert.equal(sdk.getUser().integrations.sandbox.allCredentials.length, 1, 'the user object was reloaded');
  assert.equal(win.messageListenerCount(), 0, 'the message listener is removed');
  assert.ok(fetch.calls.some((c) => c.path === '/integrations/sandbox/install'));
});

test('installIntegration falls back to polling the install session when no message comes', async () => {
  let polls = 0;
  const { sdk, state } = await signedIn({
    'POST /integrations/sandbox/install': { authorizationUrl: 'https://p/authorize', installSessionId: 's2' },
    'GET /install-sessions/s2': () => {
      polls += 1;
      if (polls < 3) return { status: 'pending' };
      state.user = userWith([ADA]);
      return { status: 'complete', credentialId: ADA.id };
    },
  });
  const result = await sdk.installIntegration('sandbox');
  assert.equal(polls, 3);
  assert.equal(result.credentialId, ADA.id);
});

test('a second account needs allowMultipleCredentials: the SDK says so as Paragon does, before any popup', async () => {
  const { sdk, fetch, win } = await signedIn(
    { 'POST /integrations/sandbox/install': { authorizationUrl: 'https://p/a', installSessionId: 's3' } },
    { credentials: [ADA] },
  );
  const before = fetch.calls.length;
  await assert.rejects(sdk.installIntegration('sandbox'), (error) => {
    assert.equal(error.message, 'Integration "sandbox" is already installed.');
    assert.equal(error.code, 'integration_already_installed');
    return true;
  });
  assert.equal(win.popups.length, 0);
  assert.equal(fetch.calls.length, before);

  const adding = sdk.installIntegration('sandbox', { allowMultipleCredentials: true, externalId: 'work' });
  assert.equal(win.popups.length, 1);
  await settle();
  assert.deepEqual(installCall(fetch).json(), { allowMultipleCredentials: true, externalId: 'work' });
  win.post({ type: 'patchbay:install', status: 'complete', installSessionId: 's3', credentialId: GRACE.id }, HOST);
  assert.equal((await adding).credentialId, GRACE.id);
});

test('reconnecting sends selectedCredentialId even when the account is valid', async () => {
  const { sdk, fetch, win } = await signedIn(
    { 'POST /integrations/sandbox/install': { authorizationUrl: 'https://p/a', installSessionId: 's4' } },
    { credentials: [ADA] },
  );
  const reconnecting = sdk.installIntegration('sandbox', { selectedCredentialId: ADA.id });
  await settle();
  assert.deepEqual(installCall(fetch).json(), { selectedCredentialId: ADA.id });
  win.post({ type: 'patchbay:install', status: 'complete', installSessionId: 's4', credentialId: ADA.id }, HOST);
  assert.equal((await reconnecting).credentialId, ADA.id);
});

test('a server refusal closes the popup and rejects with the server message', async () => {
  const { sdk, win } = await signedIn({
    'POST /integrations/sandbox/install': reply(409, {
      message: 'Integration "sandbox" is already installed.',
      code: 'integration_already_installed',
      status: 409,
    }),
  });
  await assert.rejects(sdk.installIntegration('sandbox'), {
    message: 'Integration "sandbox" is already installed.',
    status: 409,
  });
  assert.equal(win.popups[0].closed, true);
});

test('a failed authorization rejects with the reason the callback gives', async () => {
  const { sdk, win } = await signedIn({
    'POST /integrations/sandbox/install': { authorizationUrl: 'https://p/a', installSessionId: 's5' },
    'GET /install-sessions/s5': { status: 'pending' },
  });
  const pending = sdk.installIntegration('sandbox');
  await settle();
  win.post({ type: 'patchbay:install', status: 'failed', installSessionId: 's5', error: 'The provider did not authorize the connection (access_denied).' }, HOST);
  await assert.rejects(pending, { message: 'The provider did not authorize the connection (access_denied).', code: 'install_failed' });
});

test('closing the popup before choosing an account rejects', async () => {
  const { sdk, win } = await signedIn({
    'POST /integrations/sandbox/install': { authorizationUrl: 'https://p/a', installSessionId: 's6' },
    'GET /install-sessions/s6': { status: 'pending' },
  });
  const pending = sdk.installIntegration('sandbox');
  win.popups[0].closed = true;
  await assert.rejects(pending, { message: 'The connection window was closed before an account was connected.' });
});

test('a blocked popup rejects with advice and starts nothing', async () => {
  const { sdk, fetch } = await signedIn({}, { window: fakeWindow({ blockPopups: true }) });
  const before = fetch.calls.length;
  await assert.rejects(sdk.installIntegration('sandbox'), { code: 'popup_blocked' });
  assert.equal(fetch.calls.length, before);
});

test('API-key integrations connect with credentials and no popup', async () => {
  const credential = { id: 'key-cred', integrationId: 'int-keys', providerId: 'acct_ada', status: 'VALID' };
  const { sdk, fetch, win } = await signedIn({
    'POST /integrations/sandbox-keys/install': (call) => {
      assert.deepEqual(call.json(), { allowMultipleCredentials: true, credentials: { apiKey: 'k' } });
      return reply(201, { credential, deduplicated: true });
    },
  });
  const result = await sdk.installIntegration('sandbox-keys', { allowMultipleCredentials: true, credentials: { apiKey: 'k' } });
  assert.equal(result.credentialId, 'key-cred');
  assert.equal(result.deduplicated, true);
  assert.equal(win.popups.length, 0);
  assert.ok(fetch.calls.some((c) => c.path === '/integrations/sandbox-keys/install'));
});

test('API-key integrations without credentials ask for them in the portal', async () => {
  const win = fakeWindow();
  const { sdk, state } = await signedIn({}, { window: win });
  const pending = sdk.installIntegration('sandbox-keys');
  assert.equal(win.popups.length, 0);
  const frame = win.document.body.children[0].children[0];
  win.post({ type: 'patchbay:portal-ready' }, HOST, frame.contentWindow);
  assert.equal(frame.contentWindow.messages[0].data.install, true);
  state.user.integrations['sandbox-keys'] = {
    enabled: true,
    credentialId: 'key-cred',
    allCredentials: [{ id: 'key-cred', integrationId: 'int-keys', providerId: 'acct_ada', status: 'VALID' }],
  };
  win.post({ type: 'patchbay:portal-change', event: 'onIntegrationInstall', payload: { credentialId: 'key-cred' } }, HOST, frame.contentWindow);
  const result = await pending;
  assert.equal(result.credentialId, 'key-cred');
  assert.equal(result.credential.providerId, 'acct_ada');

  // Closing the portal before connecting anything rejects.
  const cancelled = sdk.installIntegration('sandbox-keys', { allowMultipleCredentials: true });
  win.keydown('Escape');
  await assert.rejects(cancelled, { code: 'install_cancelled' });
});

test('uninstallIntegration deletes the selected account and reloads the user', async () => {
  const { sdk, fetch, state } = await signedIn(
    {
      'DELETE /integrations/sandbox': () => {
        state.user = userWith([GRACE]);
        return reply(204, null);
      },
    },
    { credentials: [ADA, GRACE] },
  );
  await sdk.uninstallIntegration('sandbox', { selectedCredentialId: ADA.id });
  const call = fetch.calls.find((c) => c.method === 'DELETE');
  assert.equal(call.headers['X-Paragon-Credential'], ADA.id);
  assert.deepEqual(sdk.getUser().integrations.sandbox.allCredentials.map((c) => c.id), [GRACE.id]);
});

test('uninstalling one of several accounts without a selection rejects with the server error', async () => {
  const { sdk } = await signedIn(
    {
      'DELETE /integrations/sandbox': reply(409, {
        message: 'Select the account: the user has 2 accounts of "sandbox".',
        code: 'credential_selection_required',
        status: 409,
        meta: { credentialIds: [ADA.id, GRACE.id] },
      }),
    },
    { credentials: [ADA, GRACE] },
  );
  await assert.rejects(sdk.uninstallIntegration('sandbox'), (error) => {
    assert.equal(error.code, 'credential_selection_required');
    assert.deepEqual(error.meta.credentialIds, [ADA.id, GRACE.id]);
    return true;
  });
});

test('request calls the proxy as the selected account and returns the provider body out of output', async () => {
  const { sdk, fetch } = await signedIn({
    'POST /proxy/sandbox/contacts': (call) => {
      assert.equal(call.headers['X-Paragon-Credential'], GRACE.id);
      assert.equal(call.headers['Content-Type'], 'application/json');
      assert.equal(call.headers['X-Trace'], '1');
      assert.deepEqual(call.json(), { name: 'Jean' });
      assert.equal(call.headers['X-Paragon-Use-Raw-Response'], undefined, 'Paragon\'s wrapped answer is asked for');
      return reply(201, { output: { id: 'c1', name: 'Jean' } });
    },
    'GET /proxy/sandbox/contacts': reply(200, { output: 'plain text' }),
    'GET /proxy/sandbox/missing': reply(404, { output: { error: 'not here' } }),
    'GET /proxy/sandbox/file': reply(200, 'raw bytes', 'application/octet-stream'),
    'GET /proxy/sandbox/gone': reply(404, { message: 'Integration "sandbox" is not installed.', code: 'integration_not_installed' }),
  });
  const created = await sdk.request('sandbox', '/contacts', {
    method: 'post',
    body: { name: 'Jean' },
    headers: { 'X-Trace': '1', authorization: 'Bearer someone-else', 'x-paragon-credential': ADA.id },
    selectedCredentialId: GRACE.id,
  });
  const sent = fetch.calls.find((c) => c.method === 'POST');
  assert.deepEqual(
    Object.keys(sent.headers).filter((name) => ['authorization', 'x-paragon-credential'].includes(name.toLowerCase())),
    ['Authorization', 'X-Paragon-Credential'],
    'only the SDK\'s own token and selection are sent',
  );
  assert.equal(sent.headers.Authorization, `Bearer ${TOKEN}`);
  assert.deepEqual(created, { id: 'c1', name: 'Jean' });
  assert.equal(await sdk.request('sandbox', 'contacts?limit=1'), 'plain text');
  assert.equal(fetch.calls.at(-1).path, '/proxy/sandbox/contacts?limit=1');
  await assert.rejects(sdk.request('sandbox', '/missing'), (error) => {
    assert.equal(error.status, 404);
    assert.deepEqual(error.body, { error: 'not here' });
    return true;
  });
  // What the proxy passes on unwrapped (binary data) and Patchbay's own errors.
  assert.equal(await sdk.request('sandbox', 'file'), 'raw bytes');
  await assert.rejects(sdk.request('sandbox', 'gone'), (error) => {
    assert.equal(error.code, 'integration_not_installed');
    return true;
  });
});

test('a raw string body is sent as is, with the caller content type', async () => {
  const { sdk, fetch } = await signedIn({ 'PUT /proxy/sandbox/notes': reply(204, null) });
  assert.equal(await sdk.request('sandbox', 'notes', { method: 'PUT', body: 'a,b', headers: { 'content-type': 'text/csv' } }), null);
  const call = fetch.calls.at(-1);
  assert.equal(call.body, 'a,b');
  assert.equal(call.headers['Content-Type'], undefined);
  assert.equal(call.headers['content-type'], 'text/csv');
});

test('workflow triggers the workflow for the selected account with body and query', async () => {
  const { sdk, fetch } = await signedIn({
    'POST /triggers/list-contacts': { contacts: [{ name: 'Jean Sammet' }] },
  });
  const answer = await sdk.workflow('list-contacts', {
    body: { since: 1 },
    query: { page: '2' },
    headers: { 'X-Extra': 'y' },
    selectedCredentialId: 'ext:grace',
  });
  assert.deepEqual(answer, { contacts: [{ name: 'Jean Sammet' }] });
  const call = fetch.calls.at(-1);
  assert.equal(call.path, '/triggers/list-contacts?page=2');
  assert.deepEqual(call.json(), { since: 1 });
  assert.equal(call.headers['X-Paragon-Credential'], 'ext:grace');
  assert.equal(call.headers['X-Extra'], 'y');
});

test('event, setUserMetadata, enableWorkflow and disableWorkflow call their endpoints', async () => {
  const { sdk, fetch, state } = await signedIn(
    {
      'POST /v2/events/trigger': reply(201, { executionIds: [] }),
      'PATCH /me': (call) => ({ ...state.user, meta: call.json().meta }),
      'POST /workflows/list-contacts': { id: GRACE.id },
      'DELETE /workflows/list-contacts': { id: GRACE.id },
    },
    { credentials: [ADA, GRACE] },
  );
  await sdk.event('Contact Created', { name: 'Ada' });
  assert.deepEqual(fetch.calls.at(-1).json(), { name: 'Contact Created', payload: { name: 'Ada' } });
  assert.equal(fetch.calls.at(-1).headers['X-Paragon-Credential'], undefined, 'no selection: every enabled account');
  await sdk.event('Contact Created', { name: 'Grace' }, { selectedCredentialId: GRACE.id });
  assert.equal(fetch.calls.at(-1).url, `${HOST}/v2/projects/${PROJECT}/sdk/events/trigger`);
  assert.equal(fetch.calls.at(-1).headers['X-Paragon-Credential'], GRACE.id, 'the selection is sent');

  const updated = await sdk.setUserMetadata({ Name: 'Ada' });
  assert.deepEqual(updated.meta, { Name: 'Ada' });
  assert.deepEqual(sdk.getUser().meta, { Name: 'Ada' });

  await sdk.enableWorkflow('list-contacts', { selectedCredentialId: GRACE.id });
  const enable = fetch.calls.find((c) => c.method === 'POST' && c.path === '/workflows/list-contacts');
  assert.equal(enable.headers['X-Paragon-Credential'], GRACE.id);
  await sdk.disableWorkflow('list-contacts', { selectedCredentialId: GRACE.id });
  const disable = fetch.calls.find((c) => c.method === 'DELETE' && c.path === '/workflows/list-contacts');
  assert.equal(disable.headers['X-Paragon-Credential'], GRACE.id);
});

test('updateIntegrationUserSettings patches the named account, by id or externalId', async () => {
  const { sdk, fetch } = await signedIn(
    { [`PATCH /credentials/${GRACE.id}`]: (call) => ({ id: GRACE.id, body: call.json() }) },
    { credentials: [ADA, GRACE] },
  );
  await sdk.updateIntegrationUserSettings('sandbox', { pipeline: 'Support' }, { selectedCredentialId: 'ext:grace' });
  const call = fetch.calls.find((c) => c.method === 'PATCH');
  assert.equal(call.path, `/credentials/${GRACE.id}`);
  assert.deepEqual(call.json(), { config: { sharedSettings: { pipeline: 'Support' } } });
  await assert.rejects(
    sdk.updateIntegrationUserSettings('sandbox', {}, { selectedCredentialId: 'nobody' }),
    { code: 'credential_not_found' },
  );
});

test('getIntegrationMetadata lists the integrations or returns one', async () => {
  const { sdk } = await signedIn();
  assert.equal(sdk.getIntegrationMetadata().length, 2);
  assert.equal(sdk.getIntegrationMetadata('sandbox').name, 'Sandbox CRM');
  assert.equal(sdk.getIntegrationMetadata('nope'), undefined);
});

test('subscribe hears the event stream, after the user object caught up, in order', async () => {
  const { sdk, state } = await signedIn({}, { credentials: [ADA] });
  const stream = FakeEventSource.last;
  assert.equal(stream.url, `${HOST}/projects/${PROJECT}/sdk/events/stream?token=${encodeURIComponent(TOKEN)}`);

  const heard = [];
  const stop = sdk.subscribe('onIntegrationInstall', (payload, user) => {
    heard.push(['install', payload.credentialId, user.integrations.sandbox.allCredentials.length]);
  });
  sdk.subscribe('onIntegrationUninstall', (payload) => heard.push(['uninstall', payload.credentialId]));
  sdk.subscribe('onWorkflowChange', (payload) => heard.push(['workflow', payload.workflowId, payload.workflowStateChange.enabled]));

  state.user = userWith([ADA, GRACE]);
  stream.push('onIntegrationInstall', { integrationId: 'int-sandbox', integrationType: 'sandbox', credentialId: GRACE.id });
  stream.push('onWorkflowChange', { integrationId: 'int-sandbox', workflowId: 'list-contacts', credentialId: GRACE.id, workflowStateChange: { enabled: false } });
  stream.push('onIntegrationUninstall', { integrationId: 'int-sandbox', integrationType: 'sandbox', credentialId: ADA.id });
  await settle();
  assert.deepEqual(heard, [
    ['install', GRACE.id, 2],
    ['workflow', 'list-contacts', false],
    ['uninstall', ADA.id],
  ]);

  stop();
  stream.push('onIntegrationInstall', { credentialId: 'again' });
  await settle();
  assert.equal(heard.length, 3, 'an unsubscribed listener hears nothing');
  assert.throws(() => sdk.subscribe('onSomething', () => {}), /Unknown event "onSomething"/);
});

test('a throwing listener does not silence the others', async () => {
  const { sdk } = await signedIn();
  const heard = [];
  const original = console.error;
  console.error = () => {};
  try {
    sdk.subscribe('onCredentialChange', () => {
      throw new Error('listener bug');
    });
    sdk.subscribe('onCredentialChange', (payload) => heard.push(payload.credentialId));
    FakeEventSource.last.push('onCredentialChange', { credentialId: 'c' });
    await settle();
  } finally {
    console.error = original;
  }
  assert.deepEqual(heard, ['c']);
});

test('authenticating again closes the previous stream', async () => {
  const { sdk } = await signedIn();
  const first = FakeEventSource.last;
  await sdk.authenticate(PROJECT, 'another.token');
  assert.equal(first.closed, true);
  assert.ok(FakeEventSource.last.url.endsWith('?token=another.token'));
});

test('a stream the server ends for its token is closed, not reopened with the same token', async () => {
  await signedIn();
  const source = FakeEventSource.last;
  source.push('streamEnded', { reason: 'token_expired' });
  assert.equal(source.closed, true);
  assert.equal(FakeEventSource.instances.length, 1);
});

test('connect opens the portal in an overlay iframe and hands it the token by postMessage only', async () => {
  const win = fakeWindow();
  const { sdk } = await signedIn({}, { credentials: [ADA, GRACE], window: win });
  const events = [];
  sdk.subscribe('onPortalOpen', (p) => events.push(['open', p.integrationType]));
  sdk.subscribe('onPortalClose', (p) => events.push(['close', p.integrationType]));
  let closedCallback = 0;
  sdk.connect('sandbox', { selectedCredentialId: GRACE.id, onClose: () => (closedCallback += 1) });

  const overlay = win.document.body.children[0];
  assert.equal(overlay.getAttribute('role'), 'dialog');
  assert.equal(overlay.getAttribute('aria-modal'), 'true');
  const frame = overlay.children[0];
  assert.equal(frame.tagName, 'IFRAME');
  assert.equal(frame.src, `${HOST}/portal/`);
  assert.ok(!frame.src.includes(TOKEN), 'the token is not in the URL');
  assert.equal(frame.title, 'Sandbox CRM Connect Portal');

  // Only the portal frame, from the Patchbay origin, gets the token.
  win.post({ type: 'patchbay:portal-ready' }, HOST, {});
  win.post({ type: 'patchbay:portal-ready' }, 'https://evil.example', frame.contentWindow);
  assert.equal(frame.contentWindow.messages.length, 0);
  win.post({ type: 'patchbay:portal-ready' }, HOST, frame.contentWindow);
  assert.deepEqual(frame.contentWindow.messages, [
    {
      data: {
        type: 'patchbay:portal-init',
        projectId: PROJECT,
        token: TOKEN,
        integration: 'sandbox',
        selectedCredentialId: GRACE.id,
        selectedConfigurationId: undefined,
        install: false,
      },
      origin: HOST,
    },
  ]);

  win.keydown('Escape');
  await settle();
  assert.equal(win.document.body.children.length, 0, 'Escape closes the portal');
  assert.equal(win.opener.focused, 1, 'focus returns to where it was');
  assert.equal(closedCallback, 1);
  assert.deepEqual(events, [['open', 'sandbox'], ['close', 'sandbox']]);
  assert.equal(win.messageListenerCount(), 0);
});

test('changes made in the portal reach the connect callbacks', async () => {
  const win = fakeWindow();
  const { sdk, state } = await signedIn({}, { credentials: [ADA], window: win });
  const installs = [];
  sdk.connect('sandbox', { onInstall: (payload, user) => installs.push([payload.credentialId, user.integrations.sandbox.allCredentials.length]) });
  const frame = win.document.body.children[0].children[0];
  state.user = userWith([ADA, GRACE]);
  win.post({ type: 'patchbay:portal-change', event: 'onIntegrationInstall', payload: { credentialId: GRACE.id } }, HOST, frame.contentWindow);
  await settle();
  assert.deepEqual(installs, [[GRACE.id, 2]]);
  win.post({ type: 'patchbay:portal-close' }, HOST, frame.contentWindow);
  await settle();
  assert.equal(win.document.body.children.length, 0);
});

test('showPortalAfterInstall opens the portal on the account just connected', async () => {
  const win = fakeWindow();
  const { sdk, state } = await signedIn(
    { 'POST /integrations/sandbox/install': { authorizationUrl: 'https://p/a', installSessionId: 's7' } },
    { window: win },
  );
  const pending = sdk.installIntegration('sandbox', { showPortalAfterInstall: true });
  await settle();
  assert.equal(win.document.body.children.length, 0, 'no portal before the account is connected');
  state.user = userWith([ADA]);
  win.post({ type: 'patchbay:install', status: 'complete', installSessionId: 's7', credentialId: ADA.id }, HOST);
  await pending;
  const frame = win.document.body.children[0].children[0];
  win.post({ type: 'patchbay:portal-ready' }, HOST, frame.contentWindow);
  assert.equal(frame.contentWindow.messages[0].data.selectedCredentialId, ADA.id);
});
