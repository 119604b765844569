// Paragon's Connect SDK surface against a real `patchbay serve --demo`, in
// headless Chromium: every connect() callback, the headless install flow
// through the sandbox's consent popup, subscribe on a reconnect, app events
// on Paragon's /v2 path for one selected account, authenticate's metadata,
// brandColor and icon, and the error classes. Each step builds on the last.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { withDemoPage, consentIn, sandboxCredentials, adminCall } from './harness.js';

let server;
let page;

withDemoPage((demo) => ({ server, page } = demo));

/** `window.heard` on the page: what the callbacks under test recorded. */
const heard = () => page.evaluate(() => window.heard);

async function waitForHeard(predicate, description) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = await heard();
    if (predicate(events)) return events;
    assert.ok(Date.now() < deadline, `never heard ${description}: ${JSON.stringify(events)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('installFlow connects a sandbox account: the oauth stage, the popup, done and onComplete', async () => {
  await page.evaluate(() => {
    window.heard = [];
    window.stopListening = [
      window.paragon.subscribe('onIntegrationInstall', (event) => window.heard.push(['subscribe:install', event.credentialId])),
    ];
  });
  const popupOpened = page.waitForEvent('popup');
  await page.evaluate(() => {
    window.paragon.installFlow.start('sandbox', {
      externalId: 'work',
      onNext: (next) => window.heard.push(['next', next.stage, next.done]),
      onComplete: (result) => window.heard.push(['complete', result.credentialId, result.credential.externalId]),
      onError: (error, context) => window.heard.push(['error', error.name, context.stage]),
    });
  });
  await consentIn(popupOpened, 'acct_ada');
  const events = await waitForHeard((e) => e.some(([kind]) => kind === 'complete'), 'onComplete');
  const [ada] = await sandboxCredentials(page);
  assert.equal(ada.providerId, 'acct_ada');
  assert.deepEqual(
    events.filter(([kind]) => kind !== 'subscribe:install'),
    [
      ['next', 'oauth', false],
      ['next', 'done', true],
      ['complete', ada.id, 'work'],
    ],
  );
  await waitForHeard((e) => e.some(([kind, id]) => kind === 'subscribe:install' && id === ada.id), 'the stream install event');
});

test('a second installFlow without allowMultipleCredentials is refused before any popup', async () => {
  let popups = 0;
  const countPopup = () => (popups += 1);
  page.on('popup', countPopup);
  const refusal = await page.evaluate(
    () =>
      new Promise((resolve) => {
        window.paragon.installFlow.start('sandbox', {
          onError: (error, context) => resolve([error.name, error.code, error.message, context.stage ?? null]),
        });
      }),
  );
  page.off('popup', countPopup);
  assert.deepEqual(refusal, ['ParagonError', 'integration_already_installed', 'Integration "sandbox" is already installed.', null]);
  assert.equal(popups, 0);
});

test('subscribe hears reconnecting an existing account as onIntegrationInstall, for the same account', async () => {
  const [ada] = await sandboxCredentials(page);
  await page.evaluate(() => {
    window.heard = [];
    for (const stop of window.stopListening) stop();
    window.stopListening = [
      window.paragon.subscribe('onIntegrationInstall', (event) => window.heard.push(['install', event.credentialId])),
      window.paragon.subscribe('onCredentialChange', (event) => window.heard.push(['change', event.credentialId])),
    ];
  });
  const popupOpened = page.waitForEvent('popup');
  await page.evaluate((id) => {
    window.paragon.installFlow.start('sandbox', {
      selectedCredentialId: id,
      onComplete: (result) => window.heard.push(['complete', result.credentialId]),
    });
  }, ada.id);
  await consentIn(popupOpened, 'acct_ada');
  const events = await waitForHeard((e) => e.some(([kind]) => kind === 'install'), 'onIntegrationInstall');
  assert.deepEqual(
    events.filter(([kind]) => kind === 'install'),
    [['install', ada.id]],
  );
  assert.ok(events.some(([kind, id]) => kind === 'change' && id === ada.id));
  assert.deepEqual((await sandboxCredentials(page)).map((c) => c.id), [ada.id], 'replaced, not added');
  await page.evaluate(() => window.stopListening.forEach((stop) => stop()));
});

test('connect fires onOpen, onError, onInstall and onSuccess, then onClose, for an API-key account added in the portal', async () => {
  await page.evaluate(async () => {
    // The module the demo page imported `paragon` from: its error classes.
    window.sdk = await import('/sdk.js');
    window.heard = [];
    window.paragon.connect('sandbox-keys', {
      onOpen: () => window.heard.push(['open']),
      onError: (error) => window.heard.push(['error', error instanceof window.sdk.ParagonError, error.code]),
      onInstall: (event) => window.heard.push(['install', event.integrationType]),
      onSuccess: (event, user) =>
        window.heard.push(['success', event.integrationType, user.integrations['sandbox-keys'].allCredentials.length]),
      onClose: () => window.heard.push(['close']),
    });
  });
  const portal = page.frameLocator('iframe[title="Sandbox (API key) Connect Portal"]');
  await portal.getByRole('button', { name: 'Connect an account' }).click();
  const key = portal.getByLabel('API key');
  await key.fill('sbx_key_wrong');
  await portal.getByRole('button', { name: 'Connect', exact: true }).click();
  await waitForHeard((e) => e.some(([kind]) => kind === 'error'), 'onError');
  await key.fill('sbx_key_grace_8a1d6f04c2e9');
  await portal.getByRole('button', { name: 'Connect', exact: true }).click();
  await waitForHeard((e) => e.some(([kind]) => kind === 'success'), 'onSuccess');
  await page.keyboard.press('Escape');
  await page.locator('[data-patchbay-portal]').waitFor({ state: 'detached' });
  assert.deepEqual(await heard(), [
    ['open'],
    ['error', true, 'credentials_rejected'],
    ['install', 'sandbox-keys'],
    ['success', 'sandbox-keys', 1],
    ['close'],
  ]);
});

test('connect fires onWorkflowChange and onUninstall for changes made in the portal; closePortal closes it', async () => {
  await page.evaluate(() => {
    window.heard = [];
    window.paragon.connect('sandbox-keys', {
      onWorkflowChange: (event) => window.heard.push(['workflow', event.workflowId, event.workflowStateChange.enabled]),
      onUninstall: (event) => window.heard.push(['uninstall', event.integrationType]),
      onClose: () => window.heard.push(['close']),
    });
  });
  const portal = page.frameLocator('iframe[title="Sandbox (API key) Connect Portal"]');
  await portal.locator('#account-heading', { hasText: 'Grace Hopper' }).waitFor();
  await portal.getByRole('button', { name: 'Disconnect Grace Hopper' }).click();
  await waitForHeard((e) => e.some(([kind]) => kind === 'uninstall'), 'onUninstall');
  await page.evaluate(() => window.paragon.closePortal());
  await page.locator('[data-patchbay-portal]').waitFor({ state: 'detached' });

  const [ada] = await sandboxCredentials(page);
  await page.evaluate((id) => {
    window.paragon.connect('sandbox', {
      selectedCredentialId: id,
      onWorkflowChange: (event) => window.heard.push(['workflow', event.workflowId, event.workflowStateChange.enabled]),
      onClose: () => window.heard.push(['close']),
    });
  }, ada.id);
  const crm = page.frameLocator('iframe[title="Sandbox CRM Connect Portal"]');
  await crm.locator('#workflow-list-contacts').uncheck();
  await waitForHeard((e) => e.some(([kind]) => kind === 'workflow'), 'onWorkflowChange');
  await page.evaluate(() => window.paragon.closePortal());
  await page.locator('[data-patchbay-portal]').waitFor({ state: 'detached' });
  assert.deepEqual(await heard(), [
    ['uninstall', 'sandbox-keys'],
    ['close'],
    ['workflow', 'list-contacts', false],
    ['close'],
  ]);
  const [after] = await sandboxCredentials(page);
  assert.equal(after.configuration.workflowSettings['list-contacts'].enabled, false);
});

test('event() on Paragon\'s /v2 path runs the workflow only for the selected account', async () => {
  const config = await adminCall(server, 'GET', '/config');
  config.workflows.push({
    id: 'on-contact',
    integration: 'sandbox',
    description: 'Notes a new contact.',
    defaultEnabled: true,
    trigger: { type: 'app_event', event: 'Contact Created' },
    steps: [{ id: 'note', type: 'function', code: 'return trigger.payload.name;' }],
  });
  config.integrations.payments = { provider: 'stripe', icon: 'https://cdn.example/stripe.svg' };
  await adminCall(server, 'PUT', '/config', config);

  // A second sandbox account, so that the selection matters.
  const popupOpened = page.waitForEvent('popup');
  const installing = page.evaluate(() => window.paragon.installIntegration('sandbox', { allowMultipleCredentials: true }));
  await consentIn(popupOpened, 'acct_grace');
  const grace = await installing;
  const accounts = await sandboxCredentials(page);
  assert.equal(accounts.length, 2);

  const requests = [];
  page.on('request', (request) => requests.push(request));
  const selected = await page.evaluate(
    (id) => window.paragon.event('Contact Created', { name: 'Ada' }, { selectedCredentialId: id }),
    grace.credentialId,
  );
  const sent = requests.find((r) => r.url().includes('/events/trigger'));
  assert.equal(new URL(sent.url()).pathname, `/v2/projects/${server.projectId}/sdk/events/trigger`);
  assert.equal(sent.headers()['x-paragon-credential'], grace.credentialId);
  assert.equal(selected.executionIds.length, 1);
  const run = await adminCall(server, 'GET', `/task-history/workflow-executions/${selected.executionIds[0]}`);
  assert.equal(run.credentialId, grace.credentialId);

  const all = await page.evaluate(() => window.paragon.event('Contact Created', { name: 'Everyone' }));
  assert.equal(all.executionIds.length, 2, 'without a selection every enabled account runs');
});

test('authenticate stores metadata on the user; integration metadata has brandColor and icon', async () => {
  const user = await page.evaluate(
    async ([projectId, token]) => {
      await window.paragon.authenticate(projectId, token, { metadata: { Name: 'Ada Lovelace', plan: 'pro' } });
      return window.paragon.getUser();
    },
    [server.projectId, server.token],
  );
  assert.equal(user.meta.Name, 'Ada Lovelace');
  assert.equal(user.meta.plan, 'pro');
  const stored = await adminCall(server, 'GET', `/users/${encodeURIComponent(user.userId)}`);
  assert.equal(stored.meta.plan, 'pro', 'kept on the server, not only in the page');

  const payments = await page.evaluate(() => window.paragon.getIntegrationMetadata('payments'));
  assert.equal(payments.brandColor, '#635BFF');
  assert.equal(payments.icon, 'https://cdn.example/stripe.svg');
  const config = await page.evaluate(() => window.paragon.getIntegrationConfig('sandbox'));
  assert.deepEqual(
    config.availableWorkflows.map((w) => w.id),
    ['list-contacts', 'contact-summary', 'greet-contact', 'welcome-contact', 'on-contact'],
  );
});

test('getIntegrationAccount never returns tokens, and errors are Paragon\'s classes', async () => {
  const outcome = await page.evaluate(async () => {
    const account = await window.paragon.getIntegrationAccount('sandbox');
    let refusal;
    try {
      await window.paragon.getIntegrationAccount('sandbox', { includeAccountAuth: true });
    } catch (error) {
      refusal = [error instanceof window.sdk.ParagonError, error.code, error.message];
    }
    let proxy;
    try {
      await window.paragon.request('sandbox', '/no-such-path');
    } catch (error) {
      proxy = [error instanceof window.sdk.ProxyRequestError, error.name, error.status];
    }
    let notFound;
    try {
      window.paragon.getIntegrationConfig('salesforce');
    } catch (error) {
      notFound = error instanceof window.sdk.IntegrationNotFoundError;
    }
    window.paragon.logout();
    let signedOut;
    try {
      await window.paragon.request('sandbox', '/me');
    } catch (error) {
      signedOut = [error instanceof window.sdk.UserNotAuthenticatedError, window.paragon.getUser().authenticated];
    }
    return { keys: Object.keys(account), text: JSON.stringify(account), refusal, proxy, notFound, signedOut };
  });
  assert.ok(outcome.keys.includes('id'));
  assert.doesNotMatch(outcome.text, /access_?token|refresh_?token/i);
  assert.equal(outcome.refusal[0], true);
  assert.equal(outcome.refusal[1], 'account_auth_not_exposed');
  assert.match(outcome.refusal[2], /paragon\.request\(\)/);
  assert.deepEqual(outcome.proxy, [true, 'ProxyRequestError', 404]);
  assert.equal(outcome.notFound, true);
  assert.deepEqual(outcome.signedOut, [true, false]);
});
