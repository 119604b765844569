// The multi-account story on the demo page, in headless Chromium: the SDK,
// the sandbox provider's consent popup, the Connect Portal, the event
// stream. Each step builds on the previous one.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  withDemoPage,
  consentInPopup,
  sandboxCredentials as credentialsOf,
  screenshot,
  seriousViolations,
} from './harness.js';

let server;
let browser;
let page;
const accounts = {};

withDemoPage((demo) => ({ server, browser, page } = demo));

const message = () => page.locator('#message');
const sandboxCredentials = () => credentialsOf(page);
const connectThroughPopup = (accountId) => consentInPopup(page, page.locator('#connect-oauth'), accountId);

/** The `paragon.subscribe` log of the demo page: `[event, credentialId]`. */
async function heardEvents() {
  return page.$$eval('#events li', (items) => items.map((li) => [li.dataset.event, li.dataset.credentialId]).reverse());
}

async function waitForEvent(name, credentialId) {
  await page.waitForSelector(`#events li[data-event="${name}"][data-credential-id="${credentialId}"]`);
}

test('the SDK is served as an ES module and as a classic script that sets window.paragon', async () => {
  const module = await fetch(`${server.base}/sdk.js`);
  assert.equal(module.status, 200);
  assert.match(module.headers.get('content-type'), /javascript/);
  assert.match(await module.text(), /export default paragon;/);

  const classicPage = await browser.newPage();
  await classicPage.setContent(`<script src="${server.base}/sdk.global.js"></script>`);
  const shape = await classicPage.evaluate(() => ({
    authenticate: typeof window.paragon.authenticate,
    installIntegration: typeof window.paragon.installIntegration,
    user: window.paragon.getUser(),
    // Paragon's error classes, for `instanceof` checks in classic-script pages.
    errors: ['UserNotAuthenticatedError', 'OAuthBlockedError', 'ProxyRequestError'].map(
      (name) => new window.Patchbay[name]('x') instanceof window.Patchbay.ParagonError && window.Patchbay[name].name === name,
    ),
  }));
  await classicPage.close();
  assert.deepEqual(shape, {
    authenticate: 'function',
    installIntegration: 'function',
    user: { authenticated: false },
    errors: [true, true, true],
  });
});

test('installIntegration connects the first sandbox account through the consent popup', async () => {
  await connectThroughPopup('acct_ada');
  await page.waitForFunction(() => document.getElementById('message').textContent === 'Ada Lovelace connected.');
  const credentials = await sandboxCredentials();
  assert.deepEqual(credentials.map((c) => c.providerId), ['acct_ada']);
  accounts.ada = credentials[0].id;
});

test('without allowMultipleCredentials a second connection is refused with Paragon\'s message, and no popup opens', async () => {
  let popups = 0;
  const countPopup = () => (popups += 1);
  page.on('popup', countPopup);
  await page.click('#connect-oauth');
  await page.waitForFunction(() => document.getElementById('message').classList.contains('error'));
  page.off('popup', countPopup);
  assert.equal(await message().textContent(), 'Integration "sandbox" is already installed.');
  assert.equal(popups, 0);
});

test('with allowMultipleCredentials a second account joins the first in getUser().allCredentials', async () => {
  await page.check('#multiple');
  await connectThroughPopup('acct_grace');
  await page.waitForFunction(() => document.getElementById('message').textContent === 'Grace Hopper connected.');
  const credentials = await sandboxCredentials();
  assert.deepEqual(credentials.map((c) => c.providerId), ['acct_ada', 'acct_grace']);
  assert.equal(credentials[0].id, accounts.ada);
  accounts.grace = credentials[1].id;
  assert.equal(await page.locator('#accounts tr').count(), 2);
});

test('the demo page, with two accounts listed, has no serious accessibility violations', async () => {
  assert.deepEqual(await seriousViolations(page.mainFrame(), 'demo-page'), []);
  await screenshot(page, 'demo-two-accounts');
});

test('request() returns each account\'s own data', async () => {
  await page.getByRole('button', { name: 'List contacts as Ada Lovelace' }).click();
  await page.waitForFunction(() => document.getElementById('output').textContent.includes('as Ada Lovelace'));
  const ada = await page.locator('#output').textContent();
  assert.match(ada, /Charles Babbage/);
  assert.doesNotMatch(ada, /Howard Aiken/);

  await page.getByRole('button', { name: 'List contacts as Grace Hopper' }).click();
  await page.waitForFunction(() => document.getElementById('output').textContent.includes('as Grace Hopper'));
  const grace = await page.locator('#output').textContent();
  assert.match(grace, /Howard Aiken/);
  assert.doesNotMatch(grace, /Charles Babbage/);
});

test('workflow() runs the demo workflow as each account', async () => {
  await page.getByRole('button', { name: 'Run workflow as Ada Lovelace' }).click();
  await page.waitForFunction(() => document.getElementById('output').textContent.includes('paragon.workflow("list-contacts") as Ada Lovelace'));
  assert.match(await page.locator('#output').textContent(), /Charles Babbage/);

  await page.getByRole('button', { name: 'Run workflow as Grace Hopper' }).click();
  await page.waitForFunction(() => document.getElementById('output').textContent.includes('paragon.workflow("list-contacts") as Grace Hopper'));
  const grace = await page.locator('#output').textContent();
  assert.match(grace, /Howard Aiken/);
  assert.doesNotMatch(grace, /Charles Babbage/);
});

test('a contact created as one account comes back as the sandbox\'s signed webhook and runs welcome-contact as that account only', async () => {
  await page.getByRole('button', { name: 'Create a contact as Grace Hopper' }).click();
  await page.waitForFunction(
    () => document.getElementById('message').textContent.includes('ran welcome-contact as Grace Hopper'),
    null,
    { timeout: 20000 },
  );
  const grace = await page.locator('#output').textContent();
  assert.match(grace, /Contacts of Grace Hopper after the webhook/);
  assert.match(grace, /New contact .* \(welcomed\)/);
  assert.match(grace, /Howard Aiken/);

  await page.getByRole('button', { name: 'List contacts as Ada Lovelace' }).click();
  await page.waitForFunction(() => document.getElementById('output').textContent.includes('as Ada Lovelace'));
  assert.doesNotMatch(await page.locator('#output').textContent(), /welcomed|New contact/);
  await screenshot(page, 'demo-webhook-ran-workflow');

  // Task History names the account the delivery concerned (the run ends just after its last step).
  const runs = async () => {
    const history = await fetch(`${server.base}/api/v1/projects/${server.projectId}/task-history/workflow-executions?workflowId=welcome-contact`, {
      headers: { authorization: `Bearer ${server.secretKey}` },
    }).then((response) => response.json());
    return history.data.map((run) => [run.credentialId, run.status]);
  };
  const deadline = Date.now() + 5000;
  while ((await runs()).some(([, status]) => status !== 'SUCCEEDED') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepEqual(await runs(), [[accounts.grace, 'SUCCEEDED']]);
});

test('the page shows an MCP client configuration that lists both accounts through list_accounts', async () => {
  const config = JSON.parse(await page.locator('#mcp-config').textContent());
  const { url, headers } = config.mcpServers['patchbay-demo'];
  assert.equal(url, `${server.base}/projects/${server.projectId}/mcp`);
  const call = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_accounts', arguments: {} } }),
  }).then((response) => response.json());
  const ids = call.result.structuredContent.accounts.map((account) => account.credentialId);
  assert.deepEqual(ids, [accounts.ada, accounts.grace]);
});

test('connect() opens the portal on account 2; a setting and a workflow change only that account', async () => {
  const opener = page.getByRole('button', { name: 'Open portal for Grace Hopper' });
  await opener.click();
  const dialog = page.locator('[data-patchbay-portal="sandbox"]');
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute('role'), 'dialog');
  const frameElement = page.locator('iframe[title="Sandbox CRM Connect Portal"]');
  assert.doesNotMatch(await frameElement.getAttribute('src'), /token/);
  const portal = page.frameLocator('iframe[title="Sandbox CRM Connect Portal"]');
  await portal.locator('#account-heading', { hasText: 'Grace Hopper' }).waitFor();

  // Both accounts are listed with their names and statuses; Grace's is open.
  const listed = await portal.locator('#accounts .account-choice').allInnerTexts();
  assert.equal(listed.length, 2);
  assert.match(listed[0], /Ada Lovelace[\s\S]*Connected/);
  assert.match(listed[1], /Grace Hopper[\s\S]*Connected/);
  assert.equal(await portal.locator(`#accounts [data-credential-id="${accounts.grace}"]`).getAttribute('aria-pressed'), 'true');
  await screenshot(page, 'portal-1-account-2-open');

  const frame = page.frames().find((f) => f.url().endsWith('/portal/'));
  assert.deepEqual(await seriousViolations(frame, 'portal-account-2'), []);

  await portal.getByLabel('Pipeline').selectOption('Support');
  await portal.getByRole('button', { name: 'Save settings' }).click();
  await portal.locator('#status', { hasText: 'Settings saved.' }).waitFor();

  const workflow = portal.locator('#workflow-list-contacts');
  assert.equal(await workflow.isChecked(), true, 'the demo workflow is enabled by default');
  await workflow.uncheck();
  await portal.locator('#status', { hasText: 'Workflow disabled for this account.' }).waitFor();
  await screenshot(page, 'portal-2-setting-and-workflow-changed');
  assert.deepEqual(await seriousViolations(frame, 'portal-after-changes'), []);

  // Tab keeps focus inside the portal; Escape closes it and focus returns.
  for (let i = 0; i < 14; i += 1) await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'IFRAME');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.activeElement.getAttribute('aria-label') === 'Open portal for Grace Hopper');

  await page.evaluate(() => window.paragon.refreshUser());
  const [ada, grace] = await sandboxCredentials();
  assert.equal(grace.configuration.sharedSettings.pipeline, 'Support');
  assert.equal(grace.configuration.workflowSettings['list-contacts'].enabled, false);
  assert.equal(ada.configuration.sharedSettings.pipeline, undefined);
  assert.notEqual(ada.configuration.workflowSettings['list-contacts']?.enabled, false);
});

test('the portal opened on account 1 shows account 1\'s own settings', async () => {
  await page.getByRole('button', { name: 'Open portal for Ada Lovelace' }).click();
  const portal = page.frameLocator('iframe[title="Sandbox CRM Connect Portal"]');
  await portal.locator('#account-heading', { hasText: 'Ada Lovelace' }).waitFor();
  assert.equal(await portal.getByLabel('Pipeline').inputValue(), '');
  assert.equal(await portal.locator('#workflow-list-contacts').isChecked(), true);
  await screenshot(page, 'portal-3-account-1-open');
  await portal.getByRole('button', { name: 'Close the Connect Portal' }).click();
  await page.locator('[data-patchbay-portal]').waitFor({ state: 'detached' });
});

test('a workflow disabled for account 2 still runs for account 1 only', async () => {
  await page.getByRole('button', { name: 'Run workflow as Grace Hopper' }).click();
  await page.waitForFunction(() => document.getElementById('message').classList.contains('error'));
  assert.match(await message().textContent(), /not enabled/i);

  await page.evaluate(() => { document.getElementById('output').textContent = ''; });
  await page.getByRole('button', { name: 'Run workflow as Ada Lovelace' }).click();
  await page.waitForFunction(() => document.getElementById('output').textContent.includes('as Ada Lovelace'));
  assert.match(await page.locator('#output').textContent(), /Charles Babbage/);
});

test('uninstallIntegration removes account 1 and keeps account 2', async () => {
  await page.getByRole('button', { name: 'Disconnect Ada Lovelace' }).click();
  await page.waitForFunction(() => document.getElementById('message').textContent === 'Ada Lovelace disconnected.');
  const credentials = await sandboxCredentials();
  assert.deepEqual(credentials.map((c) => c.id), [accounts.grace]);
});

test('subscribe heard the install, workflow and uninstall events from the stream', async () => {
  await waitForEvent('onIntegrationInstall', accounts.ada);
  await waitForEvent('onIntegrationInstall', accounts.grace);
  await waitForEvent('onWorkflowChange', accounts.grace);
  await waitForEvent('onIntegrationUninstall', accounts.ada);
  const heard = await heardEvents();
  const changes = ['onIntegrationInstall', 'onIntegrationUninstall', 'onWorkflowChange'];
  const order = heard.filter(([name]) => changes.includes(name)).map(([name, id]) => `${name}:${id === accounts.ada ? 'ada' : 'grace'}`);
  assert.deepEqual(order, [
    'onIntegrationInstall:ada',
    'onIntegrationInstall:grace',
    'onWorkflowChange:grace',
    'onIntegrationUninstall:ada',
  ]);
});

test('a change made by the developer\'s backend reaches the page through subscribe', async () => {
  const response = await fetch(`${server.base}/api/v1/projects/${server.projectId}/credentials/${accounts.grace}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${server.secretKey}` },
  });
  assert.equal(response.status, 204);
  await waitForEvent('onIntegrationUninstall', accounts.grace);
  // The listener re-rendered from the refreshed user object: no account left.
  await page.waitForFunction(() => document.querySelectorAll('#accounts tr').length === 0);
  assert.deepEqual(await sandboxCredentials(), []);
});
