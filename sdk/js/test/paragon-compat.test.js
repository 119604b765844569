// Paragon's Connect SDK surface beyond the basics: error classes, every
// connect() callback, the headless install flow, and the smaller methods
// (logout, closePortal, getIntegrationConfig, getIntegrationAccount, ...).

import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import * as sdkModule from '../paragon.js';
import { HOST, PROJECT, TOKEN, METADATA, FakeEventSource, fakeFetch, fakeWindow, reply, settle, userWith } from './fakes.js';

const { createParagon, ParagonError, UserNotAuthenticatedError, IntegrationNotFoundError } = sdkModule;
const { IntegrationNotInstalledError, OAuthBlockedError, OAuthTimeoutError, ProxyRequestError, NoActiveInstallFlowError } = sdkModule;

const ADA = { id: '11111111-1111-4111-8111-111111111111', status: 'VALID', providerId: 'acct_ada' };
const GRACE = { id: '22222222-2222-4222-8222-222222222222', status: 'VALID', providerId: 'acct_grace', externalId: 'grace' };

beforeEach(() => {
  FakeEventSource.instances.length = 0;
});

async function signedIn(routes = {}, { credentials = [], window: win = fakeWindow(), metadata = METADATA } = {}) {
  const state = { user: userWith(credentials) };
  const fetch = fakeFetch({ 'GET /me': () => state.user, 'GET /integrations': metadata, ...routes });
  const sdk = createParagon({ host: HOST, fetch, EventSource: FakeEventSource, window: win, pollIntervalMs: 1 });
  await sdk.authenticate(PROJECT, TOKEN);
  return { sdk, fetch, state, win };
}

const portalFrame = (win) => win.document.body.children[0].children[0];

test('every Paragon error class is a named ParagonError subclass', () => {
  const names = [
    'UserNotAuthenticatedError',
    'IntegrationNotFoundError',
    'IntegrationNotInstalledError',
    'OAuthBlockedError',
    'OAuthTimeoutError',
    'ProxyRequestError',
    'NoActiveInstallFlowError',
    'HeadlessModeNotEnabledError',
  ];
  for (const name of names) {
    const ErrorClass = sdkModule[name];
    assert.equal(typeof ErrorClass, 'function', `${name} is exported`);
    const error = new ErrorClass('boom', { code: 'c', status: 400 });
    assert.ok(error instanceof ParagonError, name);
    assert.ok(error instanceof Error, name);
    assert.equal(error.name, name);
    assert.equal(ErrorClass.name, name);
    assert.equal(error.code, 'c');
    assert.equal(error.status, 400);
  }
  assert.ok(!(new OAuthBlockedError('x') instanceof OAuthTimeoutError));
});

test('errors are thrown as the classes Paragon throws, mapped from Patchbay codes', async () => {
  const signedOut = createParagon({ host: HOST, fetch: fakeFetch({}), window: fakeWindow() });
  await assert.rejects(signedOut.installIntegration('sandbox'), UserNotAuthenticatedError);
  await assert.rejects(signedOut.request('sandbox', '/me'), UserNotAuthenticatedError);
  assert.throws(() => signedOut.connect('sandbox'), UserNotAuthenticatedError);

  const expired = createParagon({
    host: HOST,
    fetch: fakeFetch({ 'GET /me': reply(401, { message: 'The user token has expired.', code: 'unauthorized_token_expired' }) }),
    window: fakeWindow(),
  });
  await assert.rejects(expired.authenticate(PROJECT, TOKEN), (error) => {
    assert.ok(error instanceof UserNotAuthenticatedError);
    assert.equal(error.code, 'unauthorized_token_expired');
    return true;
  });

  const { sdk } = await signedIn(
    {
      'GET /proxy/sandbox/broken': reply(500, { output: { error: 'upstream exploded' } }),
      'GET /proxy/sandbox/none': reply(404, { message: 'Integration "sandbox" is not installed.', code: 'integration_not_installed' }),
    },
    { credentials: [ADA], window: fakeWindow({ blockPopups: true }) },
  );
  await assert.rejects(sdk.request('sandbox', '/broken'), (error) => {
    assert.ok(error instanceof ProxyRequestError);
    assert.equal(error.status, 500);
    assert.deepEqual(error.body, { error: 'upstream exploded' });
    return true;
  });
  await assert.rejects(sdk.request('sandbox', '/none'), IntegrationNotInstalledError);
  await assert.rejects(sdk.updateIntegrationUserSettings('nope', {}), IntegrationNotFoundError);
  await assert.rejects(sdk.getIntegrationAccount('sandbox', { selectedCredentialId: 'nobody' }), IntegrationNotInstalledError);
  await assert.rejects(sdk.installIntegration('sandbox', { allowMultipleCredentials: true }), OAuthBlockedError);
  assert.throws(() => sdk.installFlow.setPreOptions({}), NoActiveInstallFlowError);
  assert.throws(() => sdk.getIntegrationConfig('nope'), IntegrationNotFoundError);
});

test('an authorization that outlasts oauthTimeout rejects with OAuthTimeoutError and closes the popup', async () => {
  const { sdk, win } = await signedIn({
    'POST /integrations/sandbox/install': { authorizationUrl: 'https://p/a', installSessionId: 's-slow' },
    'GET /install-sessions/s-slow': { status: 'pending' },
  });
  await assert.rejects(sdk.installIntegration('sandbox', { oauthTimeout: 20 }), (error) => {
    assert.ok(error instanceof OAuthTimeoutError);
    assert.equal(error.code, 'oauth_timeout');
    return true;
  });
  assert.equal(win.popups[0].closed, true);
});

test('connect fires onOpen, onInstall with onSuccess, onWorkflowChange, onUninstall, onError and onClose', async () => {
  const win = fakeWindow();
  const { sdk, state } = await signedIn({}, { credentials: [ADA], window: win });
  const heard = [];
  sdk.connect('sandbox', {
    onOpen: () => heard.push(['open']),
    onSuccess: (event, user) => heard.push(['success', event.credentialId, event.integrationId, user.integrations.sandbox.allCredentials.length]),
    onInstall: (event) => heard.push(['install', event.credentialId, event.integrationType]),
    onWorkflowChange: (event) => heard.push(['workflow', event.workflowId, event.workflowStateChange.enabled]),
    onUninstall: (event) => heard.push(['uninstall', event.credentialId]),
    onError: (error) => heard.push(['error', error.constructor.name, error.code, error.message]),
    onClose: () => heard.push(['close']),
  });
  assert.deepEqual(heard, [['open']], 'onOpen fires as the portal opens');
  const frame = portalFrame(win);
  const fromPortal = (data) => win.post(data, HOST, frame.contentWindow);

  state.user = userWith([ADA, GRACE]);
  fromPortal({ type: 'patchbay:portal-change', event: 'onIntegrationInstall', payload: { integrationType: 'sandbox', credentialId: GRACE.id } });
  await settle();
  fromPortal({
    type: 'patchbay:portal-change',
    event: 'onWorkflowChange',
    payload: { workflowId: 'sync', credentialId: GRACE.id, workflowStateChange: { enabled: true } },
  });
  await settle();
  fromPortal({ type: 'patchbay:portal-change', event: 'onIntegrationUninstall', payload: { credentialId: ADA.id } });
  await settle();
  fromPortal({ type: 'patchbay:portal-error', error: { message: 'The API key was refused.', code: 'credentials_rejected', status: 422 } });
  fromPortal({ type: 'patchbay:portal-error', error: { message: 'Not installed.', code: 'integration_not_installed', status: 404 } });
  // Only the portal's own frame is heard.
  win.post({ type: 'patchbay:portal-error', error: { message: 'forged' } }, HOST, {});
  fromPortal({ type: 'patchbay:portal-close' });
  await settle();
  assert.deepEqual(heard, [
    ['open'],
    ['install', GRACE.id, 'sandbox'],
    ['success', GRACE.id, 'int-sandbox', 2],
    ['workflow', 'sync', true],
    ['uninstall', ADA.id],
    ['error', 'ParagonError', 'credentials_rejected', 'The API key was refused.'],
    ['error', 'IntegrationNotInstalledError', 'integration_not_installed', 'Not installed.'],
    ['close'],
  ]);
});

test('connect for an integration the project does not have opens nothing and reports IntegrationNotFoundError', async () => {
  const win = fakeWindow();
  const { sdk } = await signedIn({}, { window: win });
  const errors = [];
  let opened = 0;
  sdk.connect('salesforce', { onError: (error) => errors.push(error), onOpen: () => (opened += 1) });
  assert.equal(win.document.body.children.length, 0);
  assert.equal(opened, 0);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof IntegrationNotFoundError);
});

test('closePortal closes the open portal and fires onClose; logout forgets the user', async () => {
  const win = fakeWindow();
  const { sdk, fetch } = await signedIn({}, { credentials: [ADA], window: win });
  let closed = 0;
  sdk.connect('sandbox', { onClose: () => (closed += 1) });
  sdk.closePortal();
  assert.equal(win.document.body.children.length, 0);
  assert.equal(closed, 1);
  sdk.closePortal();
  assert.equal(closed, 1, 'closing again does nothing');

  sdk.connect('sandbox', { onClose: () => (closed += 1) });
  const stream = FakeEventSource.last;
  sdk.logout();
  assert.equal(win.document.body.children.length, 0, 'logout closes the portal');
  assert.equal(closed, 2);
  assert.equal(stream.closed, true, 'and the event stream');
  assert.deepEqual(sdk.getUser(), { authenticated: false });
  const calls = fetch.calls.length;
  await assert.rejects(sdk.request('sandbox', '/me'), UserNotAuthenticatedError);
  assert.equal(fetch.calls.length, calls, 'no request without a token');
});

test('authenticate with metadata stores it on the user', async () => {
  const state = { user: userWith([]) };
  const fetch = fakeFetch({
    'GET /me': () => state.user,
    'GET /integrations': METADATA,
    'PATCH /me': (call) => {
      state.user = { ...state.user, meta: { ...state.user.meta, ...call.json().meta } };
      return state.user;
    },
  });
  const sdk = createParagon({ host: HOST, fetch, EventSource: FakeEventSource, window: fakeWindow() });
  await sdk.authenticate(PROJECT, TOKEN, { metadata: { Name: 'Ada Lovelace', Email: 'ada@example.com' } });
  const patch = fetch.calls.find((c) => c.method === 'PATCH');
  assert.deepEqual(patch.json(), { meta: { Name: 'Ada Lovelace', Email: 'ada@example.com' } });
  assert.deepEqual(sdk.getUser().meta, { Name: 'Ada Lovelace', Email: 'ada@example.com' });

  const plain = createParagon({ host: HOST, fetch, EventSource: FakeEventSource, window: fakeWindow() });
  const before = fetch.calls.length;
  await plain.authenticate(PROJECT, TOKEN);
  assert.ok(!fetch.calls.slice(before).some((c) => c.method === 'PATCH'), 'no metadata, no PATCH');
});

test('getIntegrationConfig describes the integration in Paragon field names', async () => {
  const metadata = [
    {
      ...METADATA[0],
      description: 'A CRM',
      brandColor: '#123ABC',
      icon: 'https://cdn.example/crm.svg',
      userSettings: [{ id: 'pipeline', type: 'text', title: 'Pipeline' }],
      workflows: [{ id: 'sync', description: 'Sync contacts', defaultEnabled: false, inputs: [] }],
    },
  ];
  const { sdk } = await signedIn({}, { metadata });
  assert.deepEqual(sdk.getIntegrationConfig('sandbox'), {
    id: 'int-sandbox',
    type: 'sandbox',
    shortDescription: 'A CRM',
    longDescription: 'A CRM',
    availableUserSettings: [{ id: 'pipeline', type: 'text', title: 'Pipeline' }],
    availableWorkflows: [{ id: 'sync', description: 'Sync contacts', defaultEnabled: false, inputs: [] }],
  });
  assert.equal(sdk.getIntegrationMetadata('sandbox').brandColor, '#123ABC');
  assert.equal(sdk.getIntegrationMetadata('sandbox').icon, 'https://cdn.example/crm.svg');
});

test('updateWorkflowState enables and disables each workflow for the selected account', async () => {
  const { sdk, fetch } = await signedIn(
    {
      'POST /workflows/sync': { id: GRACE.id, step: 'enabled sync' },
      'DELETE /workflows/notify': { id: GRACE.id, step: 'disabled notify' },
    },
    { credentials: [ADA, GRACE] },
  );
  const result = await sdk.updateWorkflowState({ sync: true, notify: false }, { selectedCredentialId: GRACE.id });
  const changes = fetch.calls.filter((c) => c.path.startsWith('/workflows/'));
  assert.deepEqual(
    changes.map((c) => [c.method, c.path, c.headers['X-Paragon-Credential']]),
    [
      ['POST', '/workflows/sync', GRACE.id],
      ['DELETE', '/workflows/notify', GRACE.id],
    ],
  );
  assert.equal(result.step, 'disabled notify');
});

test('getIntegrationAccount returns the account, never its tokens', async () => {
  const { sdk, fetch } = await signedIn({}, { credentials: [ADA, GRACE] });
  assert.equal((await sdk.getIntegrationAccount('sandbox')).id, ADA.id);
  assert.equal((await sdk.getIntegrationAccount('sandbox', { selectedCredentialId: 'ext:grace' })).id, GRACE.id);
  const calls = fetch.calls.length;
  await assert.rejects(sdk.getIntegrationAccount('sandbox', { includeAccountAuth: true }), (error) => {
    assert.ok(error instanceof ParagonError);
    assert.equal(error.code, 'account_auth_not_exposed');
    assert.match(error.message, /never hands provider tokens/);
    assert.match(error.message, /paragon\.request\(\)/);
    return true;
  });
  assert.equal(fetch.calls.length, calls, 'nothing was asked of the server');
});

test('overrideRedirectUrl sends the page to the provider and back there, with no popup', async () => {
  const win = fakeWindow();
  const assigned = [];
  win.location.assign = (url) => assigned.push(url);
  const { sdk, fetch } = await signedIn(
    { 'POST /integrations/sandbox/install': { authorizationUrl: 'https://provider.example/authorize', installSessionId: 's9' } },
    { window: win },
  );
  sdk.installIntegration('sandbox', { overrideRedirectUrl: 'https://app.example/integrations' });
  await settle();
  assert.equal(win.popups.length, 0);
  const install = fetch.calls.find((c) => c.path === '/integrations/sandbox/install');
  assert.deepEqual(install.json(), { redirectUrl: 'https://app.example/integrations' });
  assert.deepEqual(assigned, ['https://provider.example/authorize']);
});

test('subscribe hears a reconnected account as an install too, and a status change as a credential change only', async () => {
  const { sdk } = await signedIn({}, { credentials: [ADA] });
  const heard = [];
  sdk.subscribe('onIntegrationInstall', (event) => heard.push(['install', event.credentialId]));
  sdk.subscribe('onCredentialChange', (event) => heard.push(['change', event.credentialId]));
  const stream = FakeEventSource.last;
  stream.push('onCredentialChange', { integrationType: 'sandbox', credentialId: ADA.id, deduplicated: false });
  stream.push('onCredentialChange', { integrationType: 'sandbox', credentialId: ADA.id, status: 'INVALID', previousStatus: 'VALID' });
  await settle();
  assert.deepEqual(heard, [
    ['change', ADA.id],
    ['install', ADA.id],
    ['change', ADA.id],
  ]);
});

test('installFlow for OAuth: the popup opens in start, then oauth, postOptions for required settings, done', async () => {
  const metadata = [{ ...METADATA[0], userSettings: [{ id: 'pipeline', type: 'text', title: 'Pipeline', required: true }, { id: 'note', type: 'text', title: 'Note' }] }];
  const { sdk, fetch, state, win } = await signedIn(
    {
      'POST /integrations/sandbox/install': { authorizationUrl: 'https://p/a', installSessionId: 's1' },
      'GET /install-sessions/s1': { status: 'pending' },
      [`PATCH /credentials/${GRACE.id}`]: (call) => ({ id: GRACE.id, sent: call.json() }),
    },
    { credentials: [ADA], metadata },
  );
  const stages = [];
  const completed = [];
  sdk.installFlow.start('sandbox', {
    allowMultipleCredentials: true,
    externalId: 'work',
    onNext: (next) => stages.push(next),
    onComplete: (result) => completed.push(result),
    onError: (error) => assert.fail(error),
  });
  assert.equal(win.popups.length, 1, 'the popup opened inside start (the click)');
  assert.deepEqual(stages, [{ stage: 'oauth', done: false }]);
  assert.deepEqual(sdk.installFlow.next(), { stage: 'oauth', done: false });
  await settle();
  const install = fetch.calls.find((c) => c.path === '/integrations/sandbox/install');
  assert.deepEqual(install.json(), { allowMultipleCredentials: true, externalId: 'work' });

  state.user = userWith([ADA, GRACE]);
  win.post({ type: 'patchbay:install', status: 'complete', installSessionId: 's1', credentialId: GRACE.id }, HOST);
  await settle();
  assert.deepEqual(stages[1], { stage: 'postOptions', options: [metadata[0].userSettings[0]], done: false });
  assert.equal(completed.length, 0, 'not complete before the required settings');
  assert.throws(() => sdk.installFlow.setPreOptions({}), NoActiveInstallFlowError);

  sdk.installFlow.setPostOptions({ pipeline: 'Sales' });
  await settle();
  const patch = fetch.calls.find((c) => c.method === 'PATCH');
  assert.deepEqual(patch.json(), { config: { sharedSettings: { pipeline: 'Sales' } } });
  assert.deepEqual(stages[2], { stage: 'done', done: true });
  assert.equal(completed.length, 1);
  assert.equal(completed[0].credentialId, GRACE.id);
  assert.throws(() => sdk.installFlow.next(), NoActiveInstallFlowError, 'the flow has ended');
});

test('installFlow for an API key: preOptions asks for the key, a refused key reports the stage', async () => {
  let attempts = 0;
  const { sdk, fetch, state } = await signedIn({
    'POST /integrations/sandbox-keys/install': (call) => {
      attempts += 1;
      if (call.json().credentials.apiKey === 'wrong') {
        return reply(422, { message: 'The provider refused these credentials.', code: 'credentials_rejected' });
      }
      state.user = { ...userWith([]), integrations: { 'sandbox-keys': { allCredentials: [{ id: 'k1', status: 'VALID' }] } } };
      return { credential: { id: 'k1' } };
    },
  });
  const stages = [];
  const errors = [];
  const completed = [];
  const options = {
    onNext: (next) => stages.push(next.stage),
    onComplete: (result) => completed.push(result),
    onError: (error, context) => errors.push([error.code, context.stage]),
  };
  sdk.installFlow.start('sandbox-keys', options);
  assert.deepEqual(sdk.installFlow.next().options, METADATA[1].credentialFields);
  sdk.installFlow.setPreOptions({ apiKey: 'wrong' });
  await settle();
  assert.deepEqual(errors, [['credentials_rejected', 'preOptions']]);

  sdk.installFlow.start('sandbox-keys', options);
  sdk.installFlow.setPreOptions({ apiKey: 'sbx_key_ada', ignored: 'x' });
  await settle();
  const last = fetch.calls.filter((c) => c.path === '/integrations/sandbox-keys/install').at(-1);
  assert.deepEqual(last.json(), { credentials: { apiKey: 'sbx_key_ada' } });
  assert.deepEqual(stages, ['preOptions', 'preOptions', 'done']);
  assert.equal(completed[0].credentialId, 'k1');
  assert.equal(attempts, 2);
});

test('installFlow refuses a second account without allowMultipleCredentials, and has no account-type stage', async () => {
  const { sdk, win } = await signedIn({}, { credentials: [ADA] });
  const errors = [];
  sdk.installFlow.start('sandbox', { onError: (error, context) => errors.push([error.code, context.stage]) });
  assert.deepEqual(errors, [['integration_already_installed', undefined]]);
  assert.equal(win.popups.length, 0);
  assert.throws(() => sdk.installFlow.setAccountType('default'), NoActiveInstallFlowError);

  sdk.installFlow.start('nope', { onError: (error) => errors.push([error.constructor.name]) });
  assert.deepEqual(errors.at(-1), ['IntegrationNotFoundError']);
});

test('installFlow for an integration with account types: the accountType stage, then that way in', async () => {
  const key = { id: 'key', name: 'API key', accountDescription: 'Paste a key', authType: 'api_key', connectionFields: [] };
  const types = [
    { ...key, credentialFields: [{ id: 'apiKey', title: 'API key', secret: true }] },
    { id: 'oauth', name: 'Sign in', accountDescription: 'Sign in', authType: 'oauth2', credentialFields: [], connectionFields: [] },
  ];
  const metadata = [{ ...METADATA[1], type: 'either', accountTypes: types }];
  const { sdk, fetch, win } = await signedIn(
    {
      'POST /integrations/either/install': (call) =>
        call.json().accountType === 'oauth'
          ? { authorizationUrl: 'https://provider.example/authorize', installSessionId: 's1' }
          : { credential: { id: 'k1' } },
    },
    { metadata },
  );
  const stages = [];
  const errors = [];
  const options = { onNext: (next) => stages.push(next), onError: (error, context) => errors.push([error.code, context.stage]) };

  sdk.installFlow.start('either', options);
  assert.deepEqual(sdk.installFlow.next(), { stage: 'accountType', options: types, done: false });
  sdk.installFlow.setAccountType('sandbox');
  assert.deepEqual(errors, [['validation_failed', 'accountType']], 'an unknown type keeps the stage open');
  sdk.installFlow.setAccountType('key');
  assert.deepEqual(sdk.installFlow.next().options, types[0].credentialFields, 'that type asks for its key');
  sdk.installFlow.setPreOptions({ apiKey: 'sbx_key_ada' });
  await settle();
  const body = fetch.calls.filter((c) => c.path === '/integrations/either/install').at(-1).json();
  assert.deepEqual(body, { accountType: 'key', credentials: { apiKey: 'sbx_key_ada' } });

  // The other way in is OAuth: choosing it opens the popup, as a click would.
  // A short oauthTimeout: nobody answers the popup here, and the test must not wait for it.
  sdk.installFlow.start('either', { ...options, allowMultipleCredentials: true, oauthTimeout: 50 });
  sdk.installFlow.setAccountType('oauth');
  assert.equal(sdk.installFlow.next().stage, 'oauth');
  assert.equal(win.popups.length, 1);
  await settle();
  const oauth = fetch.calls.filter((c) => c.path === '/integrations/either/install').at(-1).json();
  assert.deepEqual(oauth, { allowMultipleCredentials: true, accountType: 'oauth' });

  // Named up front, the stage is skipped.
  sdk.installFlow.start('either', { ...options, allowMultipleCredentials: true, accountType: 'key' });
  assert.equal(sdk.installFlow.next().stage, 'preOptions');
});
