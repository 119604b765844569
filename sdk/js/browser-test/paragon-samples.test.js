// Paragon's documented Multiple Account Authorizations samples, as written,
// against Patchbay: the SDK samples in a page on another origin that loads
// `/sdk.js` from Patchbay, the REST samples as plain HTTP. The integration
// is a real OpenID Connect server (oidc-peer.js) whose sign-in the browser
// keeps between installs, as it would at Google.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startDemoServer, launchBrowser, adminCall } from './harness.js';
import { startOidcPeer, signInAtPeer, CLIENT_ID, CLIENT_SECRET } from './oidc-peer.js';

/** The host app's origin. Playwright answers its requests; nothing leaves the machine. */
const APP_ORIGIN = 'http://app.localhost';
/** Paragon's samples connect Google Calendar; here it is the OpenID Connect peer. */
const TYPE = 'calendar';
const WORKFLOW_ID = 'whoami';

let server;
let peer;
let browser;
let page;

const admin = (method, path, body) => adminCall(server, method, path, body);

before(async () => {
  server = await startDemoServer(['--allow-private-network']);
  peer = await startOidcPeer({ redirectUri: `${server.base}/oauth/callback` });
  const config = await admin('GET', '/config');
  config.settings.allowedOrigins = [...config.settings.allowedOrigins, APP_ORIGIN];
  config.integrations[TYPE] = peerIntegration();
  config.workflows.push({
    id: WORKFLOW_ID,
    integration: TYPE,
    description: 'Answers with the selected account as the provider knows it.',
    defaultEnabled: true,
    trigger: { type: 'request' },
    steps: [
      { id: 'me', type: 'request', method: 'GET', path: '/me' },
      { id: 'reply', type: 'response', status: 200, body: { sub: '{{ steps.me.output.body.sub }}', input: '{{ trigger.body }}' } },
    ],
  });
  await admin('PUT', '/config', config);
  browser = await launchBrowser();
  page = await openHostPage();
});

after(async () => {
  if (browser) await browser.close();
  if (peer) await peer.close();
  if (server) server.stop();
});

function peerIntegration() {
  return {
    name: 'Calendar',
    auth: {
      type: 'oauth2',
      authorizationUrl: `${peer.issuer}/auth`,
      tokenUrl: `${peer.issuer}/token`,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      scopes: ['openid', 'profile', 'email'],
      pkce: true,
      refreshes: false,
      // The peer knows `login`, not Google's `select_account`.
      addAccountParams: { prompt: 'login' },
    },
    api: { baseUrl: peer.issuer },
    account: {
      request: { method: 'GET', path: '/me' },
      id: '{{ response.body.sub }}',
      data: { name: '{{ response.body.name }}', email: '{{ response.body.email }}' },
    },
  };
}

function hostPage() {
  return `<!doctype html><html lang="en"><head><title>Host app</title></head><body>
<script type="module">
  import { paragon } from '${server.base}/sdk.js';
  window.paragon = paragon;
  await paragon.authenticate('${server.projectId}', '${server.token}');
  document.body.dataset.ready = 'true';
</script></body></html>`;
}

async function openHostPage() {
  const context = await browser.newContext();
  // Chromium asks before a site reaches a loopback address; the user says yes.
  await context.grantPermissions(['local-network-access'], { origin: APP_ORIGIN });
  context.setDefaultTimeout(15_000);
  const hostPageFor = await context.newPage();
  await hostPageFor.route(`${APP_ORIGIN}/**`, (route) => route.fulfill({ contentType: 'text/html', body: hostPage() }));
  await hostPageFor.goto(`${APP_ORIGIN}/`);
  await hostPageFor.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return hostPageFor;
}

/** Runs `sample(TYPE)` in the host page and answers the popup it opens with `answer(popup)`. */
async function inPopup(sample, answer) {
  const popupOpened = page.waitForEvent('popup');
  const result = page.evaluate(sample, TYPE);
  await answer(await popupOpened);
  return result;
}

/** `user.integrations.<TYPE>.allCredentials`, as the page's SDK holds it. */
const allCredentials = () => page.evaluate((type) => window.paragon.getUser().integrations[type].allCredentials, TYPE);

const byLogin = async (login) => (await allCredentials()).find((credential) => credential.providerId === login);

test('Connecting new accounts: installIntegration with allowMultipleCredentials, twice, while signed in at the provider', async () => {
  await inPopup(
    (type) => window.paragon.installIntegration(type, { allowMultipleCredentials: true }),
    (popup) => signInAtPeer(popup, 'ada'),
  );
  // The browser is signed in as ada now; addAccountParams makes the provider ask again.
  await inPopup(
    (type) => window.paragon.installIntegration(type, { allowMultipleCredentials: true }),
    (popup) => signInAtPeer(popup, 'grace'),
  );
  const user = await page.evaluate(() => window.paragon.getUser());
  assert.deepEqual(
    user.integrations[TYPE].allCredentials.map((credential) => [credential.providerId, credential.providerData.name]),
    [['ada', 'Ada'], ['grace', 'Grace']],
  );
});

test('Making requests: paragon.request with selectedCredentialId reaches the provider as that account, from another origin', async () => {
  const ada = await byLogin('ada');
  const grace = await byLogin('grace');
  // The browser sends `Origin: http://app.localhost`; the provider refuses foreign origins, so
  // this only answers when Patchbay calls it as itself.
  const asGrace = await page.evaluate(
    ({ type, id }) => window.paragon.request(type, '/me', { method: 'GET', selectedCredentialId: id }),
    { type: TYPE, id: grace.id },
  );
  const asAda = await page.evaluate(
    ({ type, id }) => window.paragon.request(type, '/me', { method: 'GET', selectedCredentialId: id }),
    { type: TYPE, id: ada.id },
  );
  assert.equal(asGrace.sub, 'grace');
  assert.equal(asAda.sub, 'ada');
});

test('Workflows: paragon.workflow with selectedCredentialId runs as that account', async () => {
  const grace = await byLogin('grace');
  const answer = await page.evaluate(
    ({ workflowId, id }) => window.paragon.workflow(workflowId, { body: { note: 'from the sample' }, selectedCredentialId: id }),
    { workflowId: WORKFLOW_ID, id: grace.id },
  );
  assert.deepEqual(answer, { sub: 'grace', input: { note: 'from the sample' } });
});

test('REST: the proxy and workflow triggers with the X-Paragon-Credential header', async () => {
  const ada = await byLogin('ada');
  const headers = { Authorization: `Bearer ${server.token}`, 'X-Paragon-Credential': ada.id, 'Content-Type': 'application/json' };
  const sdk = `${server.base}/projects/${server.projectId}/sdk`;

  const proxied = await fetch(`${sdk}/proxy/${TYPE}/me`, { headers });
  assert.equal(proxied.status, 200);
  // Paragon's REST proxy wraps the provider's JSON: `{output: …}`.
  assert.equal((await proxied.json()).output.sub, 'ada');

  const triggered = await fetch(`${sdk}/triggers/${WORKFLOW_ID}`, { method: 'POST', headers, body: JSON.stringify({ via: 'rest' }) });
  assert.equal(triggered.status, 200);
  assert.deepEqual(await triggered.json(), { sub: 'ada', input: { via: 'rest' } });

  const me = await fetch(`${sdk}/me`, { headers: { Authorization: `Bearer ${server.token}` } });
  const user = await me.json();
  assert.deepEqual(user.integrations[TYPE].allCredentials.map((credential) => credential.providerId), ['ada', 'grace']);
});

test('without addAccountParams the signed-in browser comes straight back, and the install says it was already connected', async () => {
  const config = await admin('GET', '/config');
  delete config.integrations[TYPE].auth.addAccountParams;
  await admin('PUT', '/config', config);

  const grace = await byLogin('grace');
  // No page at the provider: the popup goes there and straight back.
  const result = await inPopup(
    (type) => window.paragon.installIntegration(type, { allowMultipleCredentials: true }),
    (popup) => popup.waitForEvent('close'),
  );
  assert.equal(result.deduplicated, true);
  assert.equal(result.credentialId, grace.id);
  assert.equal((await allCredentials()).length, 2);

  config.integrations[TYPE].auth.addAccountParams = { prompt: 'login' };
  await admin('PUT', '/config', config);
});

test('Managing existing accounts: paragon.connect with selectedCredentialId opens the portal on that account', async () => {
  const grace = await byLogin('grace');
  await page.evaluate(({ type, id }) => window.paragon.connect(type, { selectedCredentialId: id }), { type: TYPE, id: grace.id });
  const portal = page.frameLocator('iframe[title="Calendar Connect Portal"]');
  await portal.locator('#account-heading', { hasText: 'Grace' }).waitFor();
  assert.equal(await portal.locator('#accounts .account-choice').count(), 2);
  await page.keyboard.press('Escape');
  await page.locator('[data-patchbay-portal]').waitFor({ state: 'detached' });
});

test('Removing existing accounts: uninstallIntegration with selectedCredentialId removes only that account', async () => {
  const ada = await byLogin('ada');
  await page.evaluate(
    ({ type, id }) => window.paragon.uninstallIntegration(type, { selectedCredentialId: id }),
    { type: TYPE, id: ada.id },
  );
  assert.deepEqual((await allCredentials()).map((credential) => credential.providerId), ['grace']);
});
