// A browser keeps its session at the provider between popups, as real ones
// do: the sandbox then answers a new authorization at once with the account
// already signed in. Adding another account must still ask which one
// (`addAccountParams`), and when a provider hands back the same account
// anyway, the install says so instead of seeming to do nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { withDemoPage, consentInPopup, sandboxCredentials, adminCall } from './harness.js';

let server;
let page;

withDemoPage((demo) => ({ server, page } = demo));

const connectThroughPopup = (accountId) => consentInPopup(page, page.locator('#connect-oauth'), accountId);

test('adding another account while signed in at the provider asks which account', async () => {
  await connectThroughPopup('acct_ada');
  await page.waitForFunction(() => document.getElementById('message').textContent === 'Ada Lovelace connected.');
  await page.check('#multiple');
  // The browser is signed in as Ada now; the picker still opens.
  await connectThroughPopup('acct_katherine');
  await page.waitForFunction(() => document.getElementById('message').textContent === 'Katherine Johnson connected.');
  const credentials = await sandboxCredentials(page);
  assert.deepEqual(credentials.map((c) => c.providerId), ['acct_ada', 'acct_katherine']);
});

test('without addAccountParams the provider hands back the signed-in account, and the install says it was already connected', async () => {
  const config = await adminCall(server, 'GET', '/config');
  delete config.integrations.sandbox.auth.addAccountParams;
  await adminCall(server, 'PUT', '/config', config);

  const before = await sandboxCredentials(page);
  const popupOpened = page.waitForEvent('popup');
  const installed = page.evaluate(() => window.paragon.installIntegration('sandbox', { allowMultipleCredentials: true }));
  const popup = await popupOpened;
  // No consent page: the sandbox answers the signed-in browser at once.
  await popup.waitForEvent('close');
  const result = await installed;
  assert.equal(result.deduplicated, true);
  const katherine = before.find((c) => c.providerId === 'acct_katherine');
  assert.equal(result.credentialId, katherine.id);
  assert.deepEqual((await sandboxCredentials(page)).map((c) => c.id), before.map((c) => c.id));
});
