// Configurations (several sets of settings and workflow choices per account), workflow-level
// settings and the options of dynamic settings, against fake routes.

import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { createParagon, ParagonError, IntegrationNotInstalledError } from '../paragon.js';
import { HOST, PROJECT, TOKEN, METADATA, FakeEventSource, fakeFetch, fakeWindow, reply, userWith } from './fakes.js';

const ADA_ID = '11111111-1111-4111-8111-111111111111';
const GRACE_ID = '22222222-2222-4222-8222-222222222222';
const ADA_DEFAULT = '33333333-3333-4333-8333-333333333333';
const ADA_TEAM_A = '44444444-4444-4444-8444-444444444444';
const GRACE_DEFAULT = '55555555-5555-4555-8555-555555555555';

function configuration(id, credentialId, { isDefault = false, externalId = null, sharedSettings = {} } = {}) {
  return {
    id,
    credentialId,
    connectCredentialId: credentialId,
    isDefault,
    externalId,
    meta: {},
    sharedSettings,
    settings: sharedSettings,
    workflowSettings: {},
    configuredWorkflows: {},
    dateCreated: '2025-01-01T00:00:00.000Z',
    dateUpdated: '2025-01-01T00:00:00.000Z',
  };
}

const ADA = {
  id: ADA_ID,
  status: 'VALID',
  providerId: 'acct_ada',
  configurations: [configuration(ADA_DEFAULT, ADA_ID, { isDefault: true }), configuration(ADA_TEAM_A, ADA_ID, { externalId: 'Team A' })],
};
const GRACE = {
  id: GRACE_ID,
  status: 'VALID',
  providerId: 'acct_grace',
  configurations: [configuration(GRACE_DEFAULT, GRACE_ID, { isDefault: true })],
};

beforeEach(() => {
  FakeEventSource.instances.length = 0;
});

async function signedIn(routes = {}, credentials = [ADA, GRACE]) {
  const state = { user: userWith(credentials) };
  const fetch = fakeFetch({ 'GET /me': () => state.user, 'GET /integrations': METADATA, ...routes });
  const win = fakeWindow();
  const sdk = createParagon({ host: HOST, fetch, EventSource: FakeEventSource, window: win, pollIntervalMs: 1 });
  await sdk.authenticate(PROJECT, TOKEN);
  return { sdk, fetch, state, win };
}

const last = (fetch, method) => fetch.calls.filter((c) => c.method === method).at(-1);
const reloads = (fetch) => fetch.calls.filter((c) => c.path === '/me').length;

test('every configuration method is on the paragon object', async () => {
  const { sdk } = await signedIn();
  for (const method of ['createConfiguration', 'updateConfiguration', 'destroyConfiguration', 'updateWorkflowUserSettings', 'getFieldOptions']) {
    assert.equal(typeof sdk[method], 'function', method);
  }
});

test('createConfiguration posts to the account\'s configurations and reloads the user', async () => {
  const created = configuration('66666666-6666-4666-8666-666666666666', GRACE_ID, { externalId: 'Team B' });
  const { sdk, fetch } = await signedIn({ [`POST /credentials/${GRACE_ID}/configurations`]: created });
  const before = reloads(fetch);
  const answer = await sdk.createConfiguration({ credentialId: GRACE_ID, externalId: 'Team B', meta: { team: 'b' } });
  assert.deepEqual(answer, created);
  const call = last(fetch, 'POST');
  assert.equal(call.url, `${HOST}/projects/${PROJECT}/sdk/credentials/${GRACE_ID}/configurations`);
  assert.deepEqual(call.json(), { externalId: 'Team B', meta: { team: 'b' } });
  assert.equal(call.headers['Content-Type'], 'application/json');
  assert.equal(call.headers.Authorization, `Bearer ${TOKEN}`);
  assert.equal(reloads(fetch), before + 1, 'getUser() lists the new configuration afterwards');
});

test('createConfiguration without an externalId sends an empty body; without a credentialId it rejects unsent', async () => {
  const { sdk, fetch } = await signedIn({ [`POST /credentials/${ADA_ID}/configurations`]: configuration('x', ADA_ID) });
  await sdk.createConfiguration({ credentialId: ADA_ID });
  assert.deepEqual(last(fetch, 'POST').json(), {});
  const sent = fetch.calls.length;
  await assert.rejects(sdk.createConfiguration({ externalId: 'lonely' }), (error) => error instanceof ParagonError && error.code === 'invalid_parameter');
  assert.equal(fetch.calls.length, sent);
});

test('updateConfiguration patches the configuration named by id or ext:externalId', async () => {
  const updated = configuration(ADA_TEAM_A, ADA_ID, { externalId: 'Team Alpha' });
  const { sdk, fetch } = await signedIn({
    [`PATCH /credentials/${ADA_ID}/configurations/${ADA_TEAM_A}`]: updated,
    [`PATCH /credentials/${ADA_ID}/configurations/ext%3ATeam%20A`]: updated,
  });
  assert.deepEqual(await sdk.updateConfiguration({ id: ADA_TEAM_A, credentialId: ADA_ID, externalId: 'Team Alpha' }), updated);
  assert.deepEqual(last(fetch, 'PATCH').json(), { externalId: 'Team Alpha' });
  await sdk.updateConfiguration({ id: 'ext:Team A', credentialId: ADA_ID, meta: { region: 'eu' }, externalId: null });
  const call = last(fetch, 'PATCH');
  assert.equal(call.path, `/credentials/${ADA_ID}/configurations/ext%3ATeam%20A`);
  assert.deepEqual(call.json(), { meta: { region: 'eu' }, externalId: null }, 'null removes the label');
});

test('destroyConfiguration deletes it; the server\'s refusal of a default configuration reaches the caller', async () => {
  const { sdk, fetch } = await signedIn({
    [`DELETE /credentials/${ADA_ID}/configurations/${ADA_TEAM_A}`]: reply(204),
    [`DELETE /credentials/${ADA_ID}/configurations/${ADA_DEFAULT}`]: reply(409, {
      message: 'The default configuration of an account cannot be deleted.',
      code: 'default_configuration',
      status: 409,
    }),
  });
  const before = reloads(fetch);
  assert.equal(await sdk.destroyConfiguration({ id: ADA_TEAM_A, credentialId: ADA_ID }), undefined);
  assert.equal(last(fetch, 'DELETE').path, `/credentials/${ADA_ID}/configurations/${ADA_TEAM_A}`);
  assert.equal(reloads(fetch), before + 1);
  await assert.rejects(sdk.destroyConfiguration({ id: ADA_DEFAULT, credentialId: ADA_ID }), {
    code: 'default_configuration',
    status: 409,
    message: 'The default configuration of an account cannot be deleted.',
  });
});

test('selectedConfigurationId is sent as X-Paragon-Configuration-Id on request, workflow, event and workflow toggles', async () => {
  const { sdk, fetch } = await signedIn({
    'GET /proxy/sandbox/contacts': { output: [] },
    'POST /triggers/greet': { ok: true },
    'POST /v2/events/trigger': { executionIds: [] },
    'POST /workflows/greet': { id: ADA_ID },
    'DELETE /workflows/greet': { id: ADA_ID },
  });
  const header = (call) => call.headers['X-Paragon-Configuration-Id'];
  await sdk.request('sandbox', '/contacts', { selectedConfigurationId: 'ext:Team A' });
  assert.equal(header(fetch.calls.at(-1)), 'ext:Team A');
  assert.equal(fetch.calls.at(-1).headers['X-Paragon-Credential'], undefined, 'a configuration id alone names its account');
  await sdk.workflow('greet', { selectedCredentialId: ADA_ID, selectedConfigurationId: ADA_TEAM_A });
  const run = last(fetch, 'POST');
  assert.equal(header(run), ADA_TEAM_A);
  assert.equal(run.headers['X-Paragon-Credential'], ADA_ID);
  await sdk.event('Contact Created', {}, { selectedConfigurationId: ADA_TEAM_A });
  assert.equal(header(fetch.calls.find((c) => c.path === '/v2/events/trigger')), ADA_TEAM_A);
  await sdk.enableWorkflow('greet', { selectedConfigurationId: ADA_TEAM_A });
  assert.equal(header(fetch.calls.find((c) => c.method === 'POST' && c.path === '/workflows/greet')), ADA_TEAM_A);
  await sdk.disableWorkflow('greet', { selectedConfigurationId: ADA_TEAM_A });
  assert.equal(header(last(fetch, 'DELETE')), ADA_TEAM_A);
  await sdk.updateWorkflowState({ greet: true }, { selectedConfigurationId: 'ext:Team A' });
  assert.equal(header(fetch.calls.filter((c) => c.path === '/workflows/greet').at(-1)), 'ext:Team A');
});

test('without selectedConfigurationId no configuration header is sent, and a caller\'s own copy is dropped', async () => {
  const { sdk, fetch } = await signedIn({ 'GET /proxy/sandbox/contacts': { output: [] } });
  await sdk.request('sandbox', '/contacts', { headers: { 'x-paragon-configuration-id': 'forged' } });
  const call = fetch.calls.at(-1);
  assert.deepEqual(
    Object.keys(call.headers).filter((name) => name.toLowerCase() === 'x-paragon-configuration-id'),
    [],
  );
});

test('updateIntegrationUserSettings with only a configuration finds its account for the path', async () => {
  const { sdk, fetch } = await signedIn({ [`PATCH /credentials/${ADA_ID}`]: { id: ADA_ID } });
  await sdk.updateIntegrationUserSettings('sandbox', { pipeline: 'Sales' }, { selectedConfigurationId: 'ext:Team A' });
  const call = last(fetch, 'PATCH');
  assert.equal(call.path, `/credentials/${ADA_ID}`);
  assert.deepEqual(call.json(), { config: { sharedSettings: { pipeline: 'Sales' } } });
  assert.equal(call.headers['X-Paragon-Configuration-Id'], 'ext:Team A');
});

test('updateIntegrationUserSettings with an account and a configuration uses both', async () => {
  const { sdk, fetch } = await signedIn({ [`PATCH /credentials/${GRACE_ID}`]: { id: GRACE_ID } });
  await sdk.updateIntegrationUserSettings('sandbox', { pipeline: 'Support' }, { selectedCredentialId: GRACE_ID, selectedConfigurationId: GRACE_DEFAULT });
  const call = last(fetch, 'PATCH');
  assert.equal(call.path, `/credentials/${GRACE_ID}`);
  assert.equal(call.headers['X-Paragon-Configuration-Id'], GRACE_DEFAULT);
});

test('a configuration no account holds rejects with configuration_not_found, after one reload', async () => {
  const { sdk, fetch } = await signedIn();
  const before = reloads(fetch);
  await assert.rejects(
    sdk.updateIntegrationUserSettings('sandbox', { pipeline: 'Sales' }, { selectedConfigurationId: 'ext:Nobody' }),
    { code: 'configuration_not_found', status: 404 },
  );
  assert.equal(reloads(fetch), before + 1);
  assert.equal(fetch.calls.filter((c) => c.method === 'PATCH').length, 0);
});

test('a configuration created elsewhere is found once the user object is reloaded', async () => {
  const { sdk, fetch, state } = await signedIn({ [`PATCH /credentials/${GRACE_ID}`]: { id: GRACE_ID } });
  const fresh = configuration('77777777-7777-4777-8777-777777777777', GRACE_ID, { externalId: 'Fresh' });
  state.user = userWith([ADA, { ...GRACE, configurations: [...GRACE.configurations, fresh] }]);
  await sdk.updateIntegrationUserSettings('sandbox', { pipeline: 'Sales' }, { selectedConfigurationId: fresh.id });
  assert.equal(last(fetch, 'PATCH').path, `/credentials/${GRACE_ID}`);
});

test('updateWorkflowUserSettings patches only that workflow\'s settings, in the chosen configuration', async () => {
  const { sdk, fetch } = await signedIn({ [`PATCH /credentials/${ADA_ID}`]: { id: ADA_ID } });
  const answer = await sdk.updateWorkflowUserSettings('sandbox', 'greet-contact', { greeting: 'Hello' }, { selectedConfigurationId: ADA_TEAM_A });
  assert.deepEqual(answer, { id: ADA_ID });
  const call = last(fetch, 'PATCH');
  assert.equal(call.path, `/credentials/${ADA_ID}`);
  assert.deepEqual(call.json(), { config: { workflowSettings: { 'greet-contact': { settings: { greeting: 'Hello' } } } } });
  assert.equal(call.headers['X-Paragon-Configuration-Id'], ADA_TEAM_A);
});

test('updateWorkflowUserSettings without a selection acts on the default account; refusals carry meta.field', async () => {
  const { sdk, fetch } = await signedIn({
    [`PATCH /credentials/${ADA_ID}`]: reply(422, {
      message: 'greeting must be text',
      code: 'validation_failed',
      status: 422,
      meta: { field: 'workflowSettings.greet-contact.settings.greeting' },
    }),
  });
  await assert.rejects(sdk.updateWorkflowUserSettings('sandbox', 'greet-contact', { greeting: 3 }), (error) => {
    assert.equal(error.code, 'validation_failed');
    assert.equal(error.meta.field, 'workflowSettings.greet-contact.settings.greeting');
    return true;
  });
  const call = last(fetch, 'PATCH');
  assert.equal(call.path, `/credentials/${ADA_ID}`);
  assert.equal(call.headers['X-Paragon-Configuration-Id'], undefined);
});

test('updateWorkflowUserSettings for a user with no account rejects as not installed', async () => {
  const { sdk } = await signedIn({}, []);
  await assert.rejects(sdk.updateWorkflowUserSettings('sandbox', 'greet-contact', {}), IntegrationNotInstalledError);
});

test('getFieldOptions asks the account\'s field-options with the setting, search, cursor and main', async () => {
  const page = { data: [{ label: 'Howard Aiken', value: 'c1' }], nextCursor: 'abc' };
  const { sdk, fetch } = await signedIn({ [`GET /credentials/${GRACE_ID}/field-options`]: page });
  const answer = await sdk.getFieldOptions({ integration: 'sandbox', field: 'contact', search: 'how', cursor: 'xyz', selectedCredentialId: GRACE_ID });
  assert.deepEqual(answer, { data: page.data, nextCursor: 'abc', nextPageCursor: 'abc' });
  const url = new URL(fetch.calls.at(-1).url);
  assert.equal(url.pathname, `/projects/${PROJECT}/sdk/credentials/${GRACE_ID}/field-options`);
  assert.deepEqual(Object.fromEntries(url.searchParams), { setting: 'contact', search: 'how', cursor: 'xyz' });
  assert.equal(fetch.calls.at(-1).headers['X-Paragon-Configuration-Id'], undefined, 'options depend on the account only');

  const sent = fetch.calls.filter((c) => c.path.includes('/field-options')).length;
  await assert.rejects(
    sdk.getFieldOptions({ integration: 'sandbox', field: 'contact', selectedCredentialId: 'ext:nobody' }),
    IntegrationNotInstalledError,
  );
  assert.equal(fetch.calls.filter((c) => c.path.includes('/field-options')).length, sent, 'no account, no request');
});

test('getFieldOptions defaults to the default account and normalises the last page', async () => {
  const { sdk, fetch } = await signedIn({ [`GET /credentials/${ADA_ID}/field-options`]: { data: [], nextCursor: null } });
  const answer = await sdk.getFieldOptions({ integration: 'sandbox', field: 'mapping', workflowId: 'greet-contact', main: '' });
  assert.deepEqual(answer, { data: [], nextCursor: null, nextPageCursor: null });
  const url = new URL(fetch.calls.at(-1).url);
  assert.deepEqual(Object.fromEntries(url.searchParams), { setting: 'mapping', workflow: 'greet-contact', main: '' });
});

test('getFieldOptions needs an integration and a field; the server\'s errors reach the caller', async () => {
  const { sdk } = await signedIn({
    [`GET /credentials/${ADA_ID}/field-options`]: reply(404, { message: 'No setting "nope".', code: 'setting_not_found', status: 404 }),
  });
  await assert.rejects(sdk.getFieldOptions({ integration: 'sandbox' }), { code: 'invalid_parameter' });
  await assert.rejects(sdk.getFieldOptions({ integration: 'sandbox', field: 'nope' }), { code: 'setting_not_found', status: 404 });
});

test('getIntegrationAccount finds the account of a configuration', async () => {
  const { sdk } = await signedIn();
  assert.equal((await sdk.getIntegrationAccount('sandbox', { selectedConfigurationId: GRACE_DEFAULT })).id, GRACE_ID);
  assert.equal((await sdk.getIntegrationAccount('sandbox', { selectedConfigurationId: 'ext:Team A' })).id, ADA_ID);
});

test('connect hands the portal the selected configuration', async () => {
  const { sdk, win } = await signedIn();
  sdk.connect('sandbox', { selectedConfigurationId: 'ext:Team A' });
  const frame = win.document.body.children[0].children[0];
  win.post({ type: 'patchbay:portal-ready' }, HOST, frame.contentWindow);
  const init = frame.contentWindow.messages[0].data;
  assert.equal(init.type, 'patchbay:portal-init');
  assert.equal(init.selectedConfigurationId, 'ext:Team A');
  assert.equal(init.selectedCredentialId, undefined);
  sdk.closePortal();
});
