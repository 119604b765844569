// The Connect Portal's own flows: an account whose refresh token the
// provider revoked shows as needing reconnection and is reconnected from
// there, keeping its id and settings (the sandbox issues 2-second tokens
// here, so the background refresher meets the revocation at once); and an
// API-key account is added through the portal's credentials form.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  withDemoPage,
  consentInPopup,
  sandboxCredentials,
  screenshot,
  seriousViolations,
} from './harness.js';

let server;
let page;

withDemoPage((demo) => ({ server, page } = demo), ['--sandbox-token-ttl', '2', '--refresh-interval', '1']);

async function sandboxControl(path, body) {
  const response = await fetch(`${server.base}/sandbox/control/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  assert.equal(response.status < 300, true, `sandbox control ${path}: ${response.status}`);
}

test('an INVALID account is reconnected from the portal, keeping its id and settings', async () => {
  await consentInPopup(page, page.locator('#connect-oauth'), 'acct_katherine');
  await page.waitForFunction(() => document.getElementById('message').textContent === 'Katherine Johnson connected.');
  const [katherine] = await sandboxCredentials(page);
  await page.evaluate((id) => window.paragon.updateIntegrationUserSettings('sandbox', { pipeline: 'Sales' }, { selectedCredentialId: id }), katherine.id);

  // The provider now refuses the refresh token for good.
  await sandboxControl('failure', { mode: 'invalid_grant', target: 'token' });
  const deadline = Date.now() + 10_000;
  let status;
  while (status !== 'INVALID' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    status = await page.evaluate(async () => (await window.paragon.refreshUser()).integrations.sandbox.allCredentials[0].status);
  }
  assert.equal(status, 'INVALID');
  await sandboxControl('reset');

  await page.getByRole('button', { name: 'Open portal for Katherine Johnson' }).click();
  const portal = page.frameLocator('iframe[title="Sandbox CRM Connect Portal"]');
  await portal.locator('#account-heading', { hasText: 'Katherine Johnson' }).waitFor();
  assert.match(await portal.locator('#accounts .account-choice').innerText(), /Needs reconnecting/);
  assert.equal(await portal.locator('#account-invalid').isVisible(), true);
  await screenshot(page, 'portal-4-invalid-account');
  const frame = page.frames().find((f) => f.url().endsWith('/portal/'));
  assert.deepEqual(await seriousViolations(frame, 'portal-invalid-account'), []);

  // The popup opens from inside the portal's iframe, on the user's click.
  await consentInPopup(page, portal.getByRole('button', { name: 'Reconnect Katherine Johnson' }), 'acct_katherine');
  await portal.locator('#status', { hasText: 'connected' }).waitFor();
  await portal.locator('#accounts .account-choice', { hasText: 'Connected' }).waitFor();
  await screenshot(page, 'portal-5-reconnected');

  await page.keyboard.press('Escape');
  await page.locator('[data-patchbay-portal]').waitFor({ state: 'detached' });
  await page.evaluate(() => window.paragon.refreshUser());
  const after = await sandboxCredentials(page);
  assert.equal(after.length, 1, 'reconnecting replaced the account instead of adding one');
  assert.equal(after[0].id, katherine.id);
  assert.equal(after[0].status, 'VALID');
  assert.equal(after[0].configuration.sharedSettings.pipeline, 'Sales');
});

test('an API-key account is added from the portal, starting from no account at all', async () => {
  await page.evaluate(() => window.paragon.connect('sandbox-keys'));
  const portal = page.frameLocator('iframe[title="Sandbox (API key) Connect Portal"]');
  await portal.locator('#no-accounts').waitFor();
  const frame = page.frames().find((f) => f.url().endsWith('/portal/'));
  await screenshot(page, 'portal-6-no-account');
  assert.deepEqual(await seriousViolations(frame, 'portal-no-account'), []);

  await portal.getByRole('button', { name: 'Connect an account' }).click();
  const key = portal.getByLabel('API key');
  await key.waitFor();
  assert.equal(await key.evaluate((el) => el === document.activeElement), true, 'focus moves to the first field');
  await key.fill('sbx_key_wrong');
  await portal.getByRole('button', { name: 'Connect', exact: true }).click();
  await portal.locator('#status.error').waitFor();
  await screenshot(page, 'portal-7-credentials-refused');
  assert.deepEqual(await seriousViolations(frame, 'portal-credentials-form'), []);

  await key.fill('sbx_key_grace_8a1d6f04c2e9');
  await portal.getByRole('button', { name: 'Connect', exact: true }).click();
  await portal.locator('#account-heading', { hasText: 'Grace Hopper' }).waitFor();
  assert.equal(await portal.locator('#credentials-form').isHidden(), true);
  await page.keyboard.press('Escape');
  await page.locator('[data-patchbay-portal]').waitFor({ state: 'detached' });
  const user = await page.evaluate(() => window.paragon.getUser());
  assert.deepEqual(user.integrations['sandbox-keys'].allCredentials.map((c) => c.providerId), ['acct_grace']);
});

test('installIntegration for an API-key integration asks for the key in the portal and resolves with the account', async () => {
  await page.evaluate(() => {
    window.keyInstall = window.paragon.installIntegration('sandbox-keys', { allowMultipleCredentials: true });
  });
  const portal = page.frameLocator('iframe[title="Sandbox (API key) Connect Portal"]');
  const key = portal.getByLabel('API key');
  await key.waitFor();
  assert.equal(await key.evaluate((el) => el === document.activeElement), true, 'the form is ready to type in');
  await key.fill('sbx_key_ada_3f9c2e71d4b8');
  await portal.getByRole('button', { name: 'Connect', exact: true }).click();
  const result = await page.evaluate(() => window.keyInstall);
  assert.equal(result.integrationType, 'sandbox-keys');
  assert.equal(result.credential.providerId, 'acct_ada');
  await page.keyboard.press('Escape');
  await page.locator('[data-patchbay-portal]').waitFor({ state: 'detached' });
});
