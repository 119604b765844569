// Starts `patchbay serve --demo` on a free loopback port with a fresh data
// directory, and headless Chromium; both stop when the test ends.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

import assert from 'node:assert/strict';
import { before, after } from 'node:test';

import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(repoRoot, 'target');
const binary = process.env.PATCHBAY_BIN || path.join(targetDir, 'debug', 'patchbay');
export const artifactsDir = path.join(targetDir, 'browser-artifacts');

const STARTUP_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 15_000;
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * The demo server: `{base, demoUrl, projectId, token, secretKey, stop()}`, started with
 * `extraArgs` and the environment variables of `extraEnv`.
 * It reads what `serve --demo` prints: the bound address, the demo link and
 * the secret key.
 */
export async function startDemoServer(extraArgs = [], extraEnv = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-browser-'));
  // Only this run's settings: no PATCHBAY_* from the caller's environment, only `extraEnv`.
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PATCHBAY_'))),
    ...extraEnv,
  };
  env.RUST_LOG = env.RUST_LOG || 'warn';
  const child = spawn(binary, ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...extraArgs], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', stop);

  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`patchbay did not start in time.\n${output}\n${stderr}`)), STARTUP_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${binary} (build it with cargo build -p patchbay-cli): ${error.message}`));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`patchbay exited with ${code}.\n${output}\n${stderr}`));
    });
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const listening = output.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const demo = output.match(/(http:\/\/\S+\/demo#project=([0-9a-f-]+)&token=(\S+))/);
      const secret = output.match(/secret key\s+(pb_sk_\S+)/);
      if (listening && demo && secret) {
        clearTimeout(timer);
        resolve({ base: listening[1], demoUrl: demo[1], projectId: demo[2], token: demo[3], secretKey: secret[1] });
      }
    });
  });
  child.removeAllListeners('exit');
  return { ...ready, stop };
}

/** Calls the project's admin API with its secret key; the parsed answer, or null for 204. */
export async function adminCall(server, method, path, body) {
  const response = await fetch(`${server.base}/api/v1/projects/${server.projectId}${path}`, {
    method,
    headers: { Authorization: `Bearer ${server.secretKey}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

/**
 * Connects the sandbox account `accountId` for the demo user of `server` without a browser:
 * the install call, the consent form posted as the page would post it, then the callback.
 */
export async function connectSandboxAccount(server, accountId) {
  const auth = { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' };
  const install = await fetch(`${server.base}/projects/${server.projectId}/sdk/integrations/sandbox/install`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ allowMultipleCredentials: true }),
  }).then((response) => response.json());
  const authorize = new URL(install.authorizationUrl);
  const form = new URLSearchParams(authorize.searchParams);
  form.set('account', accountId);
  form.set('decision', 'allow');
  const consent = await fetch(`${authorize.origin}${authorize.pathname}`, { method: 'POST', body: form, redirect: 'manual' });
  assert.equal(consent.status, 303);
  const callback = await fetch(consent.headers.get('location'), { redirect: 'manual' });
  assert.equal(callback.status, 200, await callback.text());
  const session = await fetch(`${server.base}/projects/${server.projectId}/sdk/install-sessions/${install.installSessionId}`, {
    headers: auth,
  }).then((response) => response.json());
  assert.equal(session.status, 'complete', JSON.stringify(session));
  return session.credentialId;
}

/** Headless Chromium from the system; never a downloaded browser. */
export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Saves a screenshot under target/browser-artifacts/ (`{fullPage: true}`: the whole page). */
export async function screenshot(page, name, options = {}) {
  mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, ...options });
  return file;
}

/** Writes a JSON artifact (accessibility reports) next to the screenshots. */
export function saveJson(name, value) {
  mkdirSync(artifactsDir, { recursive: true });
  writeFileSync(path.join(artifactsDir, `${name}.json`), JSON.stringify(value, null, 2));
}

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe-core in `frame` and returns its serious and critical violations. */
export async function seriousViolations(frame, name) {
  await frame.evaluate(axeSource);
  const results = await frame.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
  saveJson(`axe-${name}`, results.violations);
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Opens the demo page signed in, once its SDK is authenticated. */
export async function openDemo(browser, server) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.goto(server.demoUrl);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

/**
 * Registers the suite's `before` and `after`: a demo server started with
 * `serverArgs`, a browser, and the demo page open in it, handed to `ready`
 * as `{server, browser, page}`; both stop when the suite ends.
 */
export function withDemoPage(ready, serverArgs = []) {
  let server;
  let browser;
  before(async () => {
    server = await startDemoServer(serverArgs);
    browser = await launchBrowser();
    ready({ server, browser, page: await openDemo(browser, server) });
  });
  after(async () => {
    if (browser) await browser.close();
    if (server) server.stop();
  });
}

/** Clicks `button`, picks `accountId` on the sandbox consent page that pops up, and allows. */
export async function consentInPopup(page, button, accountId) {
  const popupOpened = page.waitForEvent('popup');
  await button.click();
  await consentIn(popupOpened, accountId);
}

/** Picks `accountId` on the sandbox consent page of the popup `popupOpened` resolves with, and allows. */
export async function consentIn(popupOpened, accountId) {
  const popup = await popupOpened;
  await popup.waitForURL(/\/sandbox\/oauth\/authorize/);
  await popup.check(`#account-${accountId}`);
  // The callback page closes itself quickly: listen before allowing.
  const closed = popup.waitForEvent('close');
  await popup.click('button[value="allow"]');
  await closed;
}

/** The demo user's sandbox accounts as the page's SDK holds them. */
export function sandboxCredentials(page) {
  return page.evaluate(() =>
    window.paragon.getUser().integrations.sandbox.allCredentials.map((c) => ({
      id: c.id,
      providerId: c.providerId,
      name: c.providerData.name,
      status: c.status,
      configuration: c.configurations[0],
    })),
  );
}
