// Configurations in the Connect Portal, driven with the keyboard alone from a developer's page
// on another origin: a second configuration of one account, a dynamic dropdown listed from the
// sandbox as each account, a field mapping, a password, a textarea, a refused value shown next
// to its field, a workflow enabled with its own setting, and a run that reads its
// configuration's settings. axe checks every view of the portal.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startDemoServer, launchBrowser, connectSandboxAccount, adminCall, screenshot, seriousViolations } from './harness.js';

/** The developer's app. Playwright answers its requests; nothing leaves the machine. */
const APP_ORIGIN = 'http://app.localhost';
/** Ada's contacts: the sandbox's two and a third added below (which the demo's workflow welcomes). */
const ADA_CONTACTS = ['Charles Babbage', 'Mary Somerville', 'Augusta King (welcomed)'];
const GRACE_CONTACTS = ['Howard Aiken', 'Jean Sammet'];

let server;
let browser;
let page;
const accounts = {};

before(async () => {
  server = await startDemoServer();
  browser = await launchBrowser();
  accounts.ada = await connectSandboxAccount(server, 'acct_ada');
  accounts.grace = await connectSandboxAccount(server, 'acct_grace');
  await addContact(accounts.ada, 'Augusta King');
  const config = await adminCall(server, 'GET', '/config');
  config.settings.allowedOrigins = [...config.settings.allowedOrigins, APP_ORIGIN];
  await adminCall(server, 'PUT', '/config', config);
  page = await openHostPage();
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
});

/** Adds a contact as the account, and waits for the demo's welcome-contact workflow to mark it. */
async function addContact(credentialId, name) {
  const proxy = (method, body) =>
    fetch(`${server.base}/projects/${server.projectId}/sdk/proxy/sandbox/contacts`, {
      method,
      headers: { Authorization: `Bearer ${server.token}`, 'X-Paragon-Credential': credentialId, 'Content-Type': 'application/json' },
      body: body && JSON.stringify(body),
    }).then(async (response) => {
      assert.ok(response.ok, `${method} contacts: ${response.status}`);
      return (await response.json()).output;
    });
  await proxy('POST', { name });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const contacts = await proxy('GET');
    if (contacts.some((contact) => contact.name === `${name} (welcomed)`)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${name} was never welcomed`);
}

/** A page that manages one integration: an account, one of its configurations, Manage and Run. */
function hostPage() {
  return `<!doctype html><html lang="en"><head><title>Host app</title></head><body><main>
<h1>Integrations</h1>
<p><label for="account">Account</label> <select id="account"></select>
<label for="configuration">Configuration</label> <select id="configuration"></select></p>
<p><button id="manage">Manage Sandbox CRM</button> <button id="run">Run greet-contact</button></p>
<pre id="output" aria-live="polite"></pre>
</main>
<script type="module">
  import { paragon } from '${server.base}/sdk.js';
  window.paragon = paragon;
  const $ = (id) => document.getElementById(id);
  function fill() {
    const credentials = paragon.getUser().integrations.sandbox.allCredentials;
    const account = $('account').value;
    $('account').replaceChildren(...credentials.map((c) => new Option(c.providerData.name, c.id)));
    if (account) $('account').value = account;
    const credential = credentials.find((c) => c.id === $('account').value) || credentials[0];
    const chosen = $('configuration').value;
    $('configuration').replaceChildren(...(credential.configurations || []).map((c) =>
      new Option(c.isDefault ? 'Default' : c.externalId || c.id, c.id)));
    if ([...$('configuration').options].some((o) => o.value === chosen)) $('configuration').value = chosen;
  }
  await paragon.authenticate('${server.projectId}', '${server.token}');
  fill();
  for (const name of ['onIntegrationInstall', 'onIntegrationUninstall', 'onWorkflowChange', 'onCredentialChange']) {
    paragon.subscribe(name, fill);
  }
  $('account').addEventListener('change', () => { $('configuration').replaceChildren(); fill(); });
  $('manage').addEventListener('click', () => paragon.connect('sandbox', {
    selectedCredentialId: $('account').value,
    selectedConfigurationId: $('configuration').value || undefined,
    onClose: () => paragon.refreshUser().then(fill),
  }));
  $('run').addEventListener('click', () => {
    $('output').textContent = '';
    paragon.workflow('greet-contact', {
      selectedCredentialId: $('account').value,
      selectedConfigurationId: $('configuration').value || undefined,
    }).then(
      (answer) => { $('output').textContent = JSON.stringify(answer); },
      (error) => { $('output').textContent = 'error ' + error.code + ': ' + error.message; });
  });
  document.body.dataset.ready = 'true';
</script></body></html>`;
}

async function openHostPage() {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  // Chromium asks before a site reaches a loopback address; the user says yes.
  await context.grantPermissions(['local-network-access'], { origin: APP_ORIGIN });
  context.setDefaultTimeout(15_000);
  const opened = await context.newPage();
  opened.on('pageerror', (error) => console.error('page error:', error.message));
  await opened.route(`${APP_ORIGIN}/**`, (route) => route.fulfill({ contentType: 'text/html', body: hostPage() }));
  await opened.goto(`${APP_ORIGIN}/`);
  await opened.waitForSelector('body[data-ready="true"]');
  return opened;
}

// ---- the keyboard ---------------------------------------------------------------

/** Whether the element `selector` names has the keyboard focus in `frame`. */
function focused(frame, selector) {
  return frame.evaluate((s) => document.hasFocus() && document.activeElement !== null && document.activeElement.matches(s), selector);
}

/**
 * Presses Tab (Shift+Tab with `back`) until `selector` has the focus in `frame`, and checks
 * that the focus shows there.
 */
async function tabTo(frame, selector, { back = false, max = 80 } = {}) {
  for (let i = 0; i < max; i += 1) {
    if (await focused(frame, selector)) {
      const outline = await frame.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
      assert.notEqual(outline, 'none', `the focus on ${selector} is visible`);
      return;
    }
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  const at = await frame.evaluate(() => document.activeElement && document.activeElement.outerHTML.slice(0, 160));
  throw new Error(`Tab never reached ${selector}; the focus is on ${at}`);
}

function portalFrame() {
  const frame = page.frames().find((f) => f.url().endsWith('/portal/'));
  assert.ok(frame, 'the portal is open');
  return frame;
}

const portal = () => page.frameLocator('iframe[title="Sandbox CRM Connect Portal"]');

async function statusSays(text) {
  await portal().locator('#status', { hasText: text }).waitFor();
}

/** The labels of a list box's options, once `count` are listed. */
async function optionLabels(selector, count) {
  const options = portal().locator(`${selector} option`);
  await options.nth(count - 1).waitFor({ state: 'attached' });
  return options.allTextContents();
}

async function axe(name) {
  await screenshot(page, `configurations-${name}`);
  assert.deepEqual(await seriousViolations(portalFrame(), `configurations-${name}`), [], name);
}

/** An account's configurations, as the end-user API lists them now. */
async function configurationsOf(credentialId) {
  const response = await fetch(`${server.base}/projects/${server.projectId}/sdk/credentials/${credentialId}/configurations`, {
    headers: { Authorization: `Bearer ${server.token}` },
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

const LOAD_MORE_CONTACTS = 'button[aria-label="Load more options for Contact to greet"]';

// ---- the flow ---------------------------------------------------------------------

const main = () => page.mainFrame();

test('a second configuration is created in the portal, with the keyboard alone', async () => {
  await tabTo(main(), '#manage');
  await page.keyboard.press('Enter');
  await portal().locator('#account-heading', { hasText: 'Ada Lovelace' }).waitFor();
  await portal().locator('#configuration').waitFor();
  assert.equal(await portal().locator('#configuration option').count(), 1, 'a new account has its default configuration only');
  assert.equal(await portal().locator('#delete-configuration').isHidden(), true, 'the default configuration cannot be deleted');
  const frame = portalFrame();
  await axe('1-default');

  await tabTo(frame, '#new-configuration');
  await page.keyboard.press('Enter');
  await portal().locator('#new-configuration-dialog[open]').waitFor();
  assert.equal(await focused(frame, '#new-configuration-name'), true, 'the dialog asks for the name at once');
  await axe('2-new-configuration-dialog');
  await page.keyboard.type('Team A');
  await page.keyboard.press('Enter');
  await statusSays('Configuration “Team A” created.');
  assert.equal(await focused(frame, '#configuration'), true, 'focus goes to the configuration picker');
  assert.equal(await portal().locator('#configuration option:checked').innerText(), 'Team A');

  const listed = await configurationsOf(accounts.ada);
  assert.deepEqual(listed.map((c) => [c.isDefault, c.externalId]), [[true, null], [false, 'Team A']]);
  accounts.teamA = listed[1].id;
  assert.equal(await portal().locator('#configuration').inputValue(), accounts.teamA);
});

test('the dynamic dropdown lists account A\'s contacts a page at a time, and searches them', async () => {
  const frame = portalFrame();
  await portal().locator('#setting-contact-status', { hasText: '2 options, more can be loaded.' }).waitFor();
  assert.deepEqual(await portal().locator('#setting-contact option').allTextContents(), ADA_CONTACTS.slice(0, 2), 'two contacts a page');
  await tabTo(frame, LOAD_MORE_CONTACTS);
  await page.keyboard.press('Enter');
  assert.deepEqual(await optionLabels('#setting-contact', 3), ADA_CONTACTS);
  await portal().locator('#setting-contact-status', { hasText: '3 options.' }).waitFor();
  assert.equal(await portal().locator(LOAD_MORE_CONTACTS).isHidden(), true, 'the last page has no "Load more"');
  assert.equal(await focused(frame, '#setting-contact'), true, 'focus moves to the list once all is loaded');

  await tabTo(frame, '#setting-contact-search', { back: true });
  await page.keyboard.type('somer');
  await page.keyboard.press('Enter');
  await portal().locator('#setting-contact-status', { hasText: '1 option.' }).waitFor();
  assert.deepEqual(await portal().locator('#setting-contact option').allTextContents(), ['Mary Somerville']);
  await tabTo(frame, '#setting-contact');
  await page.keyboard.press('ArrowDown');
  assert.equal(await portal().locator('#setting-contact option:checked').innerText(), 'Mary Somerville');
  await axe('3-dynamic-dropdown');
});

test('two fields are mapped, a password and a note typed, and a refused address shown next to its field', async () => {
  const frame = portalFrame();
  await portal().locator('#setting-fieldMap-status', { hasText: 'to choose from' }).waitFor();
  await tabTo(frame, '#setting-fieldMap-fullName');
  await page.keyboard.press('ArrowDown');
  await tabTo(frame, '#setting-fieldMap-emailAddress');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const mapped = [
    await portal().locator('#setting-fieldMap-fullName').inputValue(),
    await portal().locator('#setting-fieldMap-emailAddress').inputValue(),
  ];
  assert.ok(mapped[0] && mapped[1] && mapped[0] !== mapped[1], `two different fields: ${mapped}`);

  await tabTo(frame, '#setting-signingSecret');
  await page.keyboard.type('open sesame');
  await tabTo(frame, '#setting-note');
  await page.keyboard.type('Met at the Analytical Society.');
  await tabTo(frame, '#setting-notifyEmail');
  await page.keyboard.type('not an address');
  await tabTo(frame, '#save-settings');
  await page.keyboard.press('Enter');

  // The server refuses it (422 validation_failed, meta.field): the message sits by the field.
  const error = portal().locator('#setting-notifyEmail-error');
  await error.waitFor();
  assert.ok((await error.innerText()).length > 0);
  const control = portal().locator('#setting-notifyEmail');
  assert.equal(await control.getAttribute('aria-invalid'), 'true');
  assert.match(await control.getAttribute('aria-describedby'), /setting-notifyEmail-error/);
  assert.equal(await focused(frame, '#setting-notifyEmail'), true, 'focus moves to the refused field');
  await axe('4-validation-error');

  await page.keyboard.press('Control+A');
  await page.keyboard.type('ops@analytical.example');
  await tabTo(frame, '#save-settings');
  await page.keyboard.press('Enter');
  await statusSays('Settings saved.');
  assert.equal(await error.isHidden(), true);

  const [defaults, teamA] = await configurationsOf(accounts.ada);
  const settings = teamA.sharedSettings;
  assert.equal(typeof settings.contact, 'string');
  assert.deepEqual(Object.keys(settings.fieldMap).sort(), ['emailAddress', 'fullName']);
  assert.equal(settings.signingSecret, '********', 'a password is never shown back');
  assert.equal(settings.note, 'Met at the Analytical Society.');
  assert.equal(settings.notifyEmail, 'ops@analytical.example');
  assert.equal(defaults.sharedSettings.contact, undefined, 'the default configuration is untouched');
  accounts.teamAContact = settings.contact;

  // Shown again from the server: the password as set, never its value.
  const password = portal().locator('#setting-signingSecret');
  await portal().locator('#setting-signingSecret-set').waitFor();
  assert.notEqual(await password.inputValue(), 'open sesame');
  assert.equal(await frame.evaluate(() => document.body.innerHTML.includes('open sesame')), false);
});

test('a workflow is enabled in this configuration and its own setting filled', async () => {
  const frame = portalFrame();
  const toggle = portal().locator('#workflow-greet-contact');
  assert.equal(await toggle.getAttribute('role'), 'switch');
  assert.equal(await toggle.isChecked(), false);
  assert.equal(await portal().locator('#input-greet-contact--greeting').isHidden(), true, 'its settings show once it is enabled');
  await tabTo(frame, '#workflow-greet-contact');
  await page.keyboard.press('Space');
  await statusSays('Workflow enabled for this configuration.');
  await tabTo(frame, '#input-greet-contact--greeting');
  await page.keyboard.type('Good morning');
  await page.keyboard.press('Enter');
  await statusSays('Workflow settings saved.');
  await axe('5-workflow-enabled');

  const [defaults, teamA] = await configurationsOf(accounts.ada);
  assert.deepEqual(teamA.workflowSettings['greet-contact'], { enabled: true, settings: { greeting: 'Good morning' } });
  assert.notEqual(defaults.workflowSettings['greet-contact']?.enabled, true);
});

test('account B\'s dropdown lists account B\'s own contacts', async () => {
  const frame = portalFrame();
  await tabTo(frame, `#accounts [data-credential-id="${accounts.grace}"]`, { back: true });
  await page.keyboard.press('Enter');
  await portal().locator('#account-heading', { hasText: 'Grace Hopper' }).waitFor();
  await portal().locator('#setting-contact-status', { hasText: '2 options.' }).waitFor();
  const graces = await portal().locator('#setting-contact option').allTextContents();
  assert.deepEqual(graces, GRACE_CONTACTS);
  assert.equal(graces.some((name) => ADA_CONTACTS.includes(name)), false);
  // The fields to map are the account's own too: each sandbox account has a custom one.
  await portal().locator('#setting-fieldMap-status', { hasText: 'to choose from' }).waitFor();
  const fields = await portal().locator('#setting-fieldMap-fullName option').allTextContents();
  assert.ok(fields.includes('Favourite compiler') && !fields.includes('Engine serial'), fields.join(', '));

  // A combo: its second list is listed for the first one's choice, and again when it changes.
  const second = portal().locator('#setting-matchOn-dependent option');
  assert.equal(await second.count(), 0, 'nothing to list before the first choice');
  await tabTo(frame, '#setting-matchOn');
  await page.keyboard.press('ArrowDown');
  await portal().locator('#setting-matchOn-dependent option', { hasText: 'Howard Aiken' }).waitFor({ state: 'attached' });
  await page.keyboard.press('ArrowDown');
  await portal().locator('#setting-matchOn-dependent option', { hasText: 'howard@harvard-mark.example' }).waitFor({ state: 'attached' });
  assert.equal(await portal().locator('#setting-matchOn-dependent option', { hasText: 'Howard Aiken' }).count(), 0);
  await axe('6-account-b');
});

test('a configuration is deleted after the dialog\'s confirmation; the default one cannot be', async () => {
  const frame = portalFrame();
  await tabTo(frame, '#new-configuration');
  await page.keyboard.press('Enter');
  await portal().locator('#new-configuration-dialog[open]').waitFor();
  await page.keyboard.type('Scratch');
  await page.keyboard.press('Enter');
  await statusSays('Configuration “Scratch” created.');
  assert.equal((await configurationsOf(accounts.grace)).length, 2);

  await tabTo(frame, '#delete-configuration');
  await page.keyboard.press('Enter');
  await portal().locator('#delete-configuration-dialog[open]').waitFor();
  assert.match(await portal().locator('#delete-configuration-text').innerText(), /Scratch/);
  assert.equal(await focused(frame, '#delete-configuration-cancel'), true, 'Cancel is the safe default');
  await axe('7-delete-dialog');
  // Escape closes the dialog only, not the portal.
  await page.keyboard.press('Escape');
  await portal().locator('#delete-configuration-dialog').waitFor({ state: 'hidden' });
  assert.equal(await page.locator('[data-patchbay-portal]').count(), 1);
  assert.equal((await configurationsOf(accounts.grace)).length, 2);

  await tabTo(frame, '#delete-configuration', { back: true });
  await page.keyboard.press('Enter');
  await portal().locator('#delete-configuration-dialog[open]').waitFor();
  await tabTo(frame, '#delete-configuration-confirm', { back: true });
  await page.keyboard.press('Enter');
  await statusSays('Configuration “Scratch” deleted.');
  assert.equal(await portal().locator('#configuration option:checked').innerText(), 'Default');
  assert.equal(await portal().locator('#delete-configuration').isHidden(), true);
  assert.equal((await configurationsOf(accounts.grace)).length, 1);

  await page.keyboard.press('Escape');
  await page.locator('[data-patchbay-portal]').waitFor({ state: 'detached' });
  assert.equal(await focused(main(), '#manage'), true, 'focus returns to the page');
});

test('the workflow run reads its configuration\'s settings; the default configuration does not run it', async () => {
  // Account A, configuration Team A, chosen on the developer's page with the keyboard.
  await tabTo(main(), '#configuration', { back: true });
  await page.waitForFunction(() => document.getElementById('configuration').options.length === 2);
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.locator('#configuration').inputValue(), accounts.teamA);
  await tabTo(main(), '#run');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('output').textContent !== '');
  const output = await page.locator('#output').textContent();
  assert.doesNotMatch(output, /^error/, output);
  const answer = JSON.parse(output);
  assert.equal(answer.configuration, 'Team A');
  assert.equal(answer.configurationId, accounts.teamA);
  assert.equal(answer.greeting, 'Good morning, Mary Somerville!');
  assert.equal(answer.contact, 'Mary Somerville');
  assert.deepEqual(Object.keys(answer.mapping).sort(), ['emailAddress', 'fullName']);
  assert.equal(answer.note, 'Met at the Analytical Society.');
  assert.equal(answer.signingSecretSet, true, 'the run reads the password itself');

  // Task History records the configuration the run used.
  const runs = await adminCall(server, 'GET', '/task-history/workflow-executions');
  const run = runs.data.find((r) => r.workflowId === 'greet-contact');
  assert.ok(run, 'the run is in Task History');
  assert.equal(run.configurationId, accounts.teamA);

  // The default configuration of the same account never enabled it.
  await tabTo(main(), '#configuration', { back: true });
  await page.keyboard.press('ArrowUp');
  await tabTo(main(), '#run');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('output').textContent !== '');
  assert.match(await page.locator('#output').textContent(), /^error/);
});

test('connect() with selectedConfigurationId opens that configuration', async () => {
  await tabTo(main(), '#configuration', { back: true });
  await page.keyboard.press('ArrowDown');
  await tabTo(main(), '#manage');
  await page.keyboard.press('Enter');
  await portal().locator('#account-heading', { hasText: 'Ada Lovelace' }).waitFor();
  assert.equal(await portal().locator('#configuration').inputValue(), accounts.teamA);
  assert.equal(await portal().locator('#workflow-greet-contact').isChecked(), true);
  assert.equal(await portal().locator('#input-greet-contact--greeting').inputValue(), 'Good morning');
  await portal().locator('#setting-contact option:checked', { hasText: 'Mary Somerville' }).waitFor({ state: 'attached' });
  await axe('8-opened-on-team-a');
  await page.keyboard.press('Escape');
  await page.locator('[data-patchbay-portal]').waitFor({ state: 'detached' });
});

test('the portal shows the project\'s customisation: accent colour, overview, the listed workflows in order with help', async () => {
  await tabTo(main(), '#manage');
  await page.keyboard.press('Enter');
  await portal().locator('#account-heading').waitFor();
  const frame = portalFrame();
  const accent = await frame.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim());
  assert.equal(accent.toLowerCase(), '#0f766e');
  assert.equal(await portal().locator('#overview').isVisible(), true);
  assert.match(await portal().locator('#overview-body').innerText(), /built-in sandbox/i);
  assert.equal(await portal().locator('#overview-body strong').count(), 1, 'the Markdown is rendered');
  const workflows = await portal().locator('#workflow-list > li').evaluateAll((items) => items.map((li) => li.dataset.workflowId));
  assert.deepEqual(workflows, ['greet-contact', 'list-contacts', 'contact-summary', 'welcome-contact']);
  assert.match(await portal().locator('#workflow-greet-contact-help').innerText(), /configuration/);
  await axe('9-customised');
  await page.keyboard.press('Escape');
  await page.locator('[data-patchbay-portal]').waitFor({ state: 'detached' });
});
