// The SDK on the developer's own site: a host page on another origin
// imports `/sdk.js` from Patchbay, calls the end-user API cross-origin (CORS
// for the project's allowed origins) and connects an account, the callback
// answering the page by postMessage.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startDemoServer, launchBrowser, consentInPopup, adminCall } from './harness.js';

/** The host app's origin. Playwright answers its requests; nothing leaves the machine. */
const APP_ORIGIN = 'http://app.localhost';

let server;
let browser;

before(async () => {
  server = await startDemoServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
});

const admin = (method, path, body) => adminCall(server, method, path, body);

function hostPage() {
  return `<!doctype html><html lang="en"><head><title>Host app</title></head><body>
<button id="connect">Connect</button><p id="result"></p>
<script type="module">
  import { paragon } from '${server.base}/sdk.js';
  window.paragon = paragon;
  try {
    await paragon.authenticate('${server.projectId}', '${server.token}');
    document.body.dataset.ready = 'true';
  } catch (error) {
    document.body.dataset.ready = 'failed';
    document.getElementById('result').textContent = error.message;
  }
  document.getElementById('connect').addEventListener('click', () => {
    paragon.installIntegration('sandbox', { allowMultipleCredentials: true }).then(
      (result) => { document.getElementById('result').textContent = 'connected ' + result.credentialId; },
      (error) => { document.getElementById('result').textContent = error.message; });
  });
</script></body></html>`;
}

async function openHostPage() {
  const context = await browser.newContext();
  // Chromium asks before a site reaches a loopback address; the user says yes.
  await context.grantPermissions(['local-network-access'], { origin: APP_ORIGIN });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.on('console', (message) => { if (process.env.DEBUG_BROWSER) console.log('console:', message.text()); });
  await page.route(`${APP_ORIGIN}/**`, (route) => route.fulfill({ contentType: 'text/html', body: hostPage() }));
  await page.goto(`${APP_ORIGIN}/`);
  await page.waitForSelector('body[data-ready]', { state: 'attached' });
  return page;
}

test('a page on an origin the project does not allow cannot read the API', async () => {
  const page = await openHostPage();
  assert.equal(await page.locator('body').getAttribute('data-ready'), 'failed');
  await page.context().close();
});

test('once allowed, the host page authenticates, connects an account and proxies as it', async () => {
  const config = await admin('GET', '/config');
  config.settings.allowedOrigins = [...config.settings.allowedOrigins, APP_ORIGIN];
  await admin('PUT', '/config', config);

  const page = await openHostPage();
  assert.equal(await page.locator('body').getAttribute('data-ready'), 'true');
  await consentInPopup(page, page.locator('#connect'), 'acct_grace');
  await page.waitForFunction(() => document.getElementById('result').textContent.startsWith('connected '));

  const contacts = await page.evaluate(async () => {
    const [grace] = window.paragon.getUser().integrations.sandbox.allCredentials;
    return window.paragon.request('sandbox', '/contacts', { selectedCredentialId: grace.id });
  });
  assert.deepEqual(contacts.map((c) => c.name), ['Howard Aiken', 'Jean Sammet']);
  await page.context().close();
});
