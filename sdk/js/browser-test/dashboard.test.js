// The dashboard, driven in headless Chromium as the team running Patchbay would: sign in with
// the project's secret key (from the keyboard), find the demo user's two sandbox accounts,
// open a failed run and replay it as the same account, replay a dead webhook delivery, apply
// a configuration change after reading its diff, read the activity log, and sign out. Every
// view is checked with axe and saved as a screenshot under target/browser-artifacts/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  adminCall,
  connectSandboxAccount,
  launchBrowser,
  screenshot,
  seriousViolations,
  startDemoServer,
} from './harness.js';

let server;
let browser;
let page;
const accounts = {};

const PHONE = { width: 390, height: 844 };
const ADMIN_TOKEN = 'dashboard-test-admin-token';

/** Checks the view on screen with axe and saves it, at desktop and phone sizes. */
async function review(name) {
  await page.waitForSelector('main[aria-busy="false"]');
  assert.deepEqual(await seriousViolations(page, `dashboard-${name}`), [], `axe on ${name}`);
  await screenshot(page, `dashboard-${name}`, { fullPage: true });
  const desktop = page.viewportSize();
  await page.setViewportSize(PHONE);
  assert.deepEqual(await seriousViolations(page, `dashboard-${name}-phone`), [], `axe on ${name} (phone)`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${name} scrolls sideways on a phone by ${overflow}px`);
  await screenshot(page, `dashboard-${name}-phone`, { fullPage: true });
  await page.setViewportSize(desktop);
}

async function go(hash) {
  await page.goto(`${server.base}/dashboard/#${hash}`);
  await page.waitForSelector('main[aria-busy="false"] h1');
}

/** Clicks `button` and confirms in the dialog it opens. */
async function confirmWith(button) {
  await button.click();
  const dialog = page.locator('dialog#confirm');
  await dialog.waitFor({ state: 'visible' });
  await dialog.locator('#confirm-button').click();
}

async function userCall(method, path, body, credentialId) {
  return fetch(`${server.base}/projects/${server.projectId}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${server.token}`,
      'Content-Type': 'application/json',
      ...(credentialId ? { 'X-Paragon-Credential': credentialId } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function sandboxFailure(mode) {
  const response = await fetch(`${server.base}/sandbox/control/failure`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(mode),
  });
  assert.equal(response.status, 200, await response.text());
}

async function eventually(read, accept, what) {
  for (let tries = 0; tries < 100; tries += 1) {
    const value = await read();
    if (accept(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  // Deliveries to an endpoint that refuses connections are dead after their first attempt.
  server = await startDemoServer(['--webhook-retry-window', '1'], { PATCHBAY_ADMIN_TOKEN: ADMIN_TOKEN });
  await adminCall(server, 'POST', '/webhook-endpoints', { url: 'http://127.0.0.1:9/hooks' });
  accounts.ada = await connectSandboxAccount(server, 'acct_ada');
  accounts.grace = await connectSandboxAccount(server, 'acct_grace');

  // A run that fails: the sandbox API answers 500 while list-contacts runs as Grace.
  await sandboxFailure({ mode: 'error_500', target: 'api', times: 50 });
  await userCall('POST', '/sdk/triggers/list-contacts', {}, accounts.grace);
  await sandboxFailure({ mode: 'none' });
  await eventually(
    () => adminCall(server, 'GET', '/task-history/workflow-executions?status=FAILED'),
    (page) => page.data.length === 1,
    'the failed run',
  );

  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
});

test('signing in with the secret key, from the keyboard alone, opens the overview', async () => {
  await page.goto(`${server.base}/dashboard/`);
  await page.waitForSelector('#key:focus');
  await review('sign-in');
  // A wrong key is refused, and the form says so.
  await page.keyboard.type('pb_sk_not_a_real_key');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#signin-error:not(:empty)');
  assert.match(await page.textContent('#signin-error'), /neither an active secret key/);
  await page.fill('#key', '');
  await page.keyboard.type(server.secretKey);
  await page.keyboard.press('Enter');
  await page.waitForSelector('main[aria-busy="false"] h1:has-text("Patchbay demo")');
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1');
  // The key was sent once: nothing of it stays in the page, its storage or its URL.
  const kept = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + location.href + document.cookie);
  assert.ok(!kept.includes(server.secretKey), kept);
  const table = page.locator('table:has(caption:has-text("Accounts by integration"))');
  assert.match(await table.locator('tr:has-text("Sandbox CRM")').textContent(), /2/);
  assert.match(await page.textContent('#runs-desc'), /Workflow runs per hour over the last 24 hours: \d+ succeeded, 1 failed/);
  // A call through the Proxy API shows in its integration's chart at once.
  await userCall('GET', '/sdk/proxy/sandbox/contacts', undefined, accounts.ada);
  await page.reload();
  await page.waitForSelector('main[aria-busy="false"] #proxy-sandbox-desc', { state: 'attached' });
  assert.match(await page.textContent('#proxy-sandbox-desc'), /1 answered, 0 errors/);
  await review('overview');
});

test('a user with two accounts of one integration is found by search and shows both', async () => {
  // From the overview to the search, by keyboard: the first Tab after a navigation leaves the
  // focused heading for the next control, and the navigation is reached with Shift+Tab.
  await go(`/p/${server.projectId}`);
  for (let tries = 0; tries < 20; tries += 1) {
    if (await page.evaluate(() => document.activeElement.textContent === 'Users')) break;
    await page.keyboard.press('Shift+Tab');
  }
  await page.keyboard.press('Enter');
  await page.waitForSelector('main[aria-busy="false"] h1:has-text("Users")');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'user-search');
  await page.keyboard.type('DEMO@patchbay');
  await page.keyboard.press('Enter');
  await page.waitForSelector('main[aria-busy="false"] caption:has-text("Users matching")');
  const row = page.locator('tbody tr');
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /demo-user.*Demo User.*demo@patchbay\.example/);
  await review('users');
  await row.locator('a').click();
  await page.waitForSelector('main[aria-busy="false"] h1:has-text("User demo-user")');
  const cards = page.locator('section.card[aria-label^="Sandbox CRM account"]');
  assert.equal(await cards.count(), 2);
  assert.match(await cards.nth(0).textContent(), new RegExp(`Ada Lovelace.*${accounts.ada}`));
  assert.match(await cards.nth(1).textContent(), new RegExp(`Grace Hopper.*${accounts.grace}`));
  await review('user');
});

test('an account is checked now, and one of its workflows disabled and enabled again', async () => {
  await go(`/p/${server.projectId}/users/demo-user`);
  const ada = page.locator('section.card[aria-label="Sandbox CRM account Ada Lovelace"]');
  await confirmWith(ada.locator('button:has-text("Check now")'));
  await page.waitForSelector('#status:has-text("Checked: the account is VALID.")');

  const grace = () => page.locator('section.card[aria-label="Sandbox CRM account Grace Hopper"]');
  await confirmWith(grace().locator('button:has-text("Disable welcome-contact")'));
  await grace().locator('button:has-text("Enable welcome-contact")').waitFor();
  const user = await adminCall(server, 'GET', '/users/demo-user');
  const states = Object.fromEntries(user.integrations.sandbox.allCredentials.map((c) => [c.id, c.config.configuredWorkflows['welcome-contact'].enabled]));
  assert.deepEqual(states, { [accounts.ada]: true, [accounts.grace]: false });
  // Cancelling the confirmation changes nothing.
  await grace().locator('button:has-text("Enable welcome-contact")').click();
  await page.locator('dialog#confirm button[value="cancel"]').click();
  const unchanged = await adminCall(server, 'GET', '/users/demo-user');
  assert.equal(unchanged.integrations.sandbox.allCredentials.find((c) => c.id === accounts.grace).config.configuredWorkflows['welcome-contact'].enabled, false);
  await confirmWith(grace().locator('button:has-text("Enable welcome-contact")'));
  await grace().locator('button:has-text("Disable welcome-contact")').waitFor();
});

test('a workflow is switched in one configuration of an account, and only there', async () => {
  const created = await userCall('POST', `/sdk/credentials/${accounts.grace}/configurations`, { externalId: 'Team' });
  assert.equal(created.status, 200);
  const team = await created.json();
  // The page may show this user already: load it again to see the new configuration.
  await go(`/p/${server.projectId}/users/demo-user`);
  await page.reload();
  await page.waitForSelector('main[aria-busy="false"] h1:has-text("User demo-user")');
  const grace = page.locator('section.card[aria-label="Sandbox CRM account Grace Hopper"]');
  const inTeam = (verb) => grace.getByRole('button', { name: `${verb} welcome-contact in configuration Team`, exact: true });
  await confirmWith(inTeam('Disable'));
  await inTeam('Enable').waitFor();
  const user = await adminCall(server, 'GET', '/users/demo-user');
  const account = user.integrations.sandbox.allCredentials.find((c) => c.id === accounts.grace);
  const states = Object.fromEntries(account.configurations.map((c) => [c.isDefault ? 'default' : c.externalId, c.workflowSettings['welcome-contact'].enabled]));
  assert.deepEqual(states, { default: true, Team: false });
  const removed = await userCall('DELETE', `/sdk/credentials/${accounts.grace}/configurations/${team.id}`);
  assert.equal(removed.status, 204);
});

test('a failed run is opened and replayed as the same account', async () => {
  await go(`/p/${server.projectId}/runs`);
  await page.selectOption('#filter-status', 'FAILED');
  await page.click('form button[type="submit"]');
  await page.waitForSelector('main[aria-busy="false"] tbody tr');
  assert.equal(await page.locator('tbody tr').count(), 1);
  await review('runs');
  await page.click('tbody tr a:has-text("list-contacts")');
  await page.waitForSelector('main[aria-busy="false"] h1:has-text("Run of list-contacts")');
  assert.match(await page.textContent('main dl'), /FAILED/);
  assert.match(await page.textContent('main dl'), new RegExp(accounts.grace));
  await review('run');

  await confirmWith(page.locator('button:has-text("Replay as the same account")'));
  await page.waitForFunction((failedId) => !location.hash.endsWith(failedId) && /\/runs\/[0-9a-f-]+$/.test(location.hash), (await page.evaluate(() => location.hash)).split('/').pop());
  const replayId = (await page.evaluate(() => location.hash)).split('/').pop();
  const replay = await eventually(
    () => adminCall(server, 'GET', `/task-history/workflow-executions/${replayId}`),
    (run) => run.status === 'SUCCEEDED',
    'the replay to succeed',
  );
  assert.equal(replay.credentialId, accounts.grace);
  assert.equal(replay.workflowId, 'list-contacts');
});

test('a dead webhook delivery is replayed', async () => {
  const [endpoint] = (await adminCall(server, 'GET', '/webhook-endpoints')).data;
  const dead = await eventually(
    () => adminCall(server, 'GET', `/webhook-endpoints/${endpoint.id}/deliveries?status=dead`),
    (deliveries) => deliveries.data.length > 0,
    'a dead delivery',
  );
  await go(`/p/${server.projectId}/webhooks`);
  await review('webhooks');
  await page.click(`a:has-text("${endpoint.url}")`);
  await page.waitForSelector('main[aria-busy="false"] h1:has-text("Webhook endpoint")');
  await page.selectOption('#delivery-status', 'dead');
  await page.click('form button[type="submit"]');
  await page.waitForSelector('main[aria-busy="false"] tbody tr');
  await review('webhook-endpoint');
  const first = dead.data[0];
  const replayButtons = page.locator('tbody button:has-text("Replay")');
  assert.equal(await replayButtons.count(), dead.data.length);
  await confirmWith(replayButtons.first());
  await page.waitForSelector('#status:has-text("Delivery queued again.")');
  const again = await eventually(
    () => adminCall(server, 'GET', `/webhook-endpoints/${endpoint.id}/deliveries`),
    (deliveries) => deliveries.data.find((d) => d.id === first.id).attempts > first.attempts,
    'the replayed delivery to be attempted again',
  );
  assert.ok(again.data.find((d) => d.id === first.id).attempts > first.attempts);

  await confirmWith(page.locator('button:has-text("Rotate the signing secret")'));
  await page.waitForSelector('p.secret code');
  assert.match(await page.textContent('p.secret code'), /^whsec_/);
});

test('a configuration change is validated with its diff shown, applied, and can be rolled back', async () => {
  await go(`/p/${server.projectId}/config`);
  const before = await page.inputValue('#config-editor');
  const changed = before.replace("Returns the selected account's contacts.", 'Returns every contact of the selected account.');
  assert.notEqual(changed, before, 'the demo document describes list-contacts');
  await page.fill('#config-editor', changed);
  await page.click('button:has-text("Validate and show changes")');
  await page.waitForSelector('pre.diff');
  assert.match(await page.textContent('#config-outcome'), /Workflows: changed: list-contacts/);
  assert.match(await page.textContent('pre.diff .removed'), /Returns the selected account's contacts/);
  assert.match(await page.textContent('pre.diff .added'), /Returns every contact of the selected account/);
  await review('config');
  await confirmWith(page.locator('#config-apply'));
  await page.waitForSelector('#status:has-text("Applied: version")');
  const document = await adminCall(server, 'GET', '/config');
  assert.match(JSON.stringify(document), /Returns every contact of the selected account/);
  await page.waitForSelector('button:has-text("Roll back to version")');
  const versions = await adminCall(server, 'GET', '/config/versions');
  assert.equal(versions.data.length, 2);
});

test('the activity log names the dashboard session behind each change', async () => {
  await go(`/p/${server.projectId}/activity`);
  const rows = page.locator('tbody tr');
  const text = await rows.allTextContents();
  assert.ok(text.some((row) => /dashboard \(secret key .*PUT \/api\/v1\/projects\/.*\/config/.test(row)), text.join('\n'));
  assert.ok(text.some((row) => /dashboard \(secret key .*replay/.test(row)), text.join('\n'));
  await review('activity');
  await go(`/p/${server.projectId}/events`);
  await page.waitForSelector('p[role="status"]:has-text("new events appear at the top")');
  // A change made elsewhere shows up at once.
  await adminCall(server, 'POST', `/credentials/${accounts.ada}/workflows/welcome-contact/disable`);
  await page.waitForSelector('ol.events li:has-text("workflow.state_changed")');
  assert.match(await page.textContent('ol.events li'), /for demo-user/);
  await review('events');
});

test('the admin token opens every project and creates one', async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const admin = await context.newPage();
  try {
    await admin.goto(`${server.base}/dashboard/`);
    await admin.fill('#key', ADMIN_TOKEN);
    await admin.press('#key', 'Enter');
    await admin.waitForSelector('main[aria-busy="false"] h1:has-text("Projects")');
    assert.match(await admin.textContent('tbody'), /Patchbay demo/);
    const previous = page;
    page = admin;
    await review('projects');
    page = previous;
    await admin.fill('#project-name', 'Made from the dashboard');
    await admin.click('button:has-text("Create project")');
    await admin.locator('dialog#confirm #confirm-button').click();
    await admin.waitForSelector('p.secret code');
    assert.match(await admin.textContent('p.secret code'), /^pb_sk_/);
    await admin.click('a:has-text("Patchbay demo")');
    await admin.waitForSelector('main[aria-busy="false"] h1:has-text("Patchbay demo")');
  } finally {
    await context.close();
  }
});

test('signing out ends the session on the server', async () => {
  await go(`/p/${server.projectId}`);
  await page.click('#sign-out');
  await page.waitForSelector('#signin-error:has-text("You are signed out.")');
  const after = await page.evaluate(async (projectId) => (await fetch(`/api/v1/projects/${projectId}/overview`)).status, server.projectId);
  assert.equal(after, 401);
});
