// Several ways in to one integration, and a choice made after authorizing, in
// headless Chromium against `patchbay serve --demo`: the Connect Portal asks
// which way in a new account uses, and the OAuth popup asks which of the
// account's contacts to connect before it reports back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startDemoServer, launchBrowser, openDemo, consentIn, adminCall, seriousViolations, screenshot } from './harness.js';

let server;
let browser;
let page;

/** The sandbox's OAuth endpoints, as the demo's own `sandbox` integration has them. */
const sandboxOAuth = (base) => ({
  type: 'oauth2',
  authorizationUrl: `${base}/sandbox/oauth/authorize`,
  tokenUrl: `${base}/sandbox/oauth/token`,
  scopes: ['contacts', 'offline_access'],
  pkce: true,
  clientAuth: 'client_secret_basic',
  refreshes: true,
});

before(async () => {
  server = await startDemoServer();
  const config = await adminCall(server, 'GET', '/config');
  // An API key by default, or signing in to the sandbox.
  config.integrations.either = {
    name: 'Sandbox, either way',
    clientId: 'patchbay-sandbox',
    clientSecret: 'sandbox-secret',
    auth: {
      type: 'api_key',
      fields: [{ id: 'apiKey', title: 'API key', secret: true }],
      inject: { header: 'X-Api-Key', value: '{{ credentials.apiKey }}' },
    },
    api: { baseUrl: `${server.base}/sandbox/api` },
    account: { request: { method: 'GET', path: '/me' }, id: '{{ response.body.id }}', data: { name: '{{ response.body.name }}' } },
    verify: { request: { method: 'GET', path: '/me' } },
    accountTypes: [
      { id: 'key', name: 'API key' },
      { id: 'signin', name: 'Sign in', description: 'Sign in to the sandbox', auth: sandboxOAuth(server.base) },
    ],
  };
  // One of the account's contacts, chosen after authorizing.
  config.integrations.contact = {
    name: 'One sandbox contact',
    clientId: 'patchbay-sandbox',
    clientSecret: 'sandbox-secret',
    auth: sandboxOAuth(server.base),
    api: { baseUrl: `${server.base}/sandbox/api/contacts/{{ vars.contactId }}` },
    account: {
      request: { method: 'GET', url: `${server.base}/sandbox/api/contacts` },
      choose: { title: 'Contact', items: 'response.body', value: '{{ item.id }}', label: '{{ item.name }}' },
      id: '{{ choice.id }}',
      data: { name: '{{ choice.name }}' },
      vars: { contactId: '{{ choice.id }}' },
    },
  };
  await adminCall(server, 'PUT', '/config', config);
  browser = await launchBrowser();
  page = await openDemo(browser, server);
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
});

const accountsOf = (type) =>
  page.evaluate(async (type) => {
    const user = await window.paragon.refreshUser();
    return (user.integrations[type]?.allCredentials || []).map((c) => ({ type: c.accountType, providerId: c.providerId, name: c.providerData.name }));
  }, type);

test('the portal asks which way in a new account uses, and connects it that way', async () => {
  await page.evaluate(() => window.paragon.connect('either'));
  const portal = page.frameLocator('iframe[title="Sandbox, either way Connect Portal"]');
  const way = portal.getByLabel('Connect with');
  await way.waitFor();
  assert.deepEqual(await way.locator('option').allTextContents(), ['API key', 'Sign in — Sign in to the sandbox']);
  assert.deepEqual(await seriousViolations(page.frame({ url: /\/portal\// }), 'portal-account-types'), []);
  await screenshot(page, 'portal-account-types');

  // The keyboard alone: choose "Sign in", then connect; the sandbox's popup opens.
  await way.focus();
  await page.keyboard.press('ArrowDown');
  assert.equal(await way.inputValue(), 'signin');
  const popupOpened = page.waitForEvent('popup');
  await portal.getByRole('button', { name: 'Connect an account' }).click();
  await consentIn(popupOpened, 'acct_grace');
  await portal.getByRole('heading', { name: 'Grace Hopper' }).waitFor();

  // The API key, the default way in, for a second account.
  await way.selectOption('key');
  await portal.getByRole('button', { name: 'Add another account' }).click();
  await portal.getByLabel('API key').fill('sbx_key_ada_3f9c2e71d4b8');
  await portal.getByRole('button', { name: 'Connect', exact: true }).click();
  await portal.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
  await page.keyboard.press('Escape');

  assert.deepEqual(await accountsOf('either'), [
    { type: 'signin', providerId: 'acct_grace', name: 'Grace Hopper' },
    { type: 'key', providerId: 'acct_ada', name: 'Ada Lovelace' },
  ]);
  // Each calls the sandbox its own way: a bearer token, or the key.
  const [grace, ada] = await page.evaluate(async () => {
    const accounts = window.paragon.getUser().integrations.either.allCredentials;
    return Promise.all(accounts.map((a) => window.paragon.request('either', '/me', { selectedCredentialId: a.id })));
  });
  assert.equal(grace.id, 'acct_grace');
  assert.equal(ada.id, 'acct_ada');
});

test('the OAuth popup asks which contact to connect, and the account is that contact', async () => {
  const popupOpened = page.waitForEvent('popup');
  await page.evaluate(() => {
    window.installed = window.paragon.installIntegration('contact').then((result) => result.credentialId);
  });
  // The browser is still signed in at the sandbox (as Grace, from the last test), so the
  // provider consents at once and the popup goes straight to the choice.
  const popup = await popupOpened;
  await popup.getByRole('heading', { name: 'Choose a Contact' }).waitFor();
  assert.deepEqual(await seriousViolations(popup.mainFrame(), 'oauth-choice'), []);
  await screenshot(popup, 'oauth-choice');
  const choices = popup.getByRole('radio');
  assert.equal(await choices.count(), 2, 'the sandbox seeds two contacts per account');
  const second = choices.nth(1);
  const label = await popup.locator(`label[for="${await second.getAttribute('id')}"]`).textContent();
  await second.check();
  const closed = popup.waitForEvent('close');
  await popup.getByRole('button', { name: 'Connect' }).click();
  await closed;
  const credentialId = await page.evaluate(() => window.installed);

  const [account] = await accountsOf('contact');
  assert.equal(account.name, label);
  assert.match(account.providerId, /^ct_/);
  const contact = await page.evaluate((id) => window.paragon.request('contact', '', { selectedCredentialId: id }), credentialId);
  assert.equal(contact.id, account.providerId, 'the base URL is the chosen contact');
  assert.equal(contact.name, label);
});
