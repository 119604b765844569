// The Connect Portal: one integration's accounts; for the chosen account, its configurations;
// for the chosen configuration, its settings and workflows. It runs in an iframe that
// `paragon.connect()` opens; the opener hands it the project id and user token by postMessage
// (never in the URL), and it then drives the same SDK as the host page.
//
// Every element is built with createElement and textContent. The one exception is the
// integration's overview, HTML the server rendered from Markdown and sanitised.
//
// This is the entry point: the host's introduction, startup, and the keyboard. The rest is in
// modules named for what they hold (accounts.js draws the page from state.js; fields.js and
// options.js build the settings' controls; settings.js, workflows.js, configurations.js and
// connect.js make the changes; host.js reports them to the host page).

import { paragon } from '../sdk.js';

import { renderPortal } from './accounts.js';
import { showAccountTypes, showCredentialsForm } from './connect.js';
import { customise } from './customise.js';
import { $, say, view } from './dom.js';
import { announceError, requestClose, toParent } from './host.js';
import { render, renderWith, resolveInitialSelection, state } from './state.js';

const CHANGE_EVENTS = ['onIntegrationInstall', 'onIntegrationUninstall', 'onWorkflowChange', 'onCredentialChange'];

// Set before any event can arrive: every change ends in render() (state.js says why it is a hook).
renderWith(renderPortal);

// ---- the host's introduction and startup ----------------------------------------

window.addEventListener('message', async (event) => {
  const data = event.data;
  if (event.source !== window.parent || !data || data.type !== 'patchbay:portal-init' || state.type) return;
  state.parentOrigin = event.origin;
  state.type = String(data.integration);
  try {
    await paragon.authenticate(data.projectId, data.token);
  } catch (error) {
    say(error.message, true);
    announceError(error);
    return;
  }
  state.meta = paragon.getIntegrationMetadata(state.type);
  if (!state.meta) {
    say(`Integration "${state.type}" is not enabled in this project.`, true);
    return;
  }
  customise(state.meta.portal);
  showAccountTypes();
  view.title.textContent = `${state.meta.name}`;
  document.title = `${state.meta.name} · Connect Portal`;
  const chosen = resolveInitialSelection(data.selectedCredentialId, data.selectedConfigurationId);
  state.selectedId = chosen.credentialId;
  state.configurationId = chosen.configurationId;
  render();
  view.content.hidden = false;
  view.title.focus();
  // installIntegration() for an API-key integration: ask for the credentials at once.
  if (data.install && state.meta.authType !== 'oauth2') {
    showCredentialsForm(data.selectedCredentialId ? state.selectedId : undefined);
  }
  // Changes made anywhere else (another tab, the developer's backend) show here too.
  for (const name of CHANGE_EVENTS) paragon.subscribe(name, () => render());
});

if (window.parent === window) {
  say('The Connect Portal opens inside your app, from paragon.connect().');
} else {
  toParent({ type: 'patchbay:portal-ready' });
}

$('close').addEventListener('click', requestClose);

// ---- keyboard: Escape closes, Tab stays inside the portal (or its open dialog) ----

function openDialog() {
  return document.querySelector('dialog[open]');
}

function focusable() {
  const root = openDialog() || view.portal;
  const candidates = root.querySelectorAll('button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])');
  return [...candidates].filter((element) => !element.disabled && element.getClientRects().length > 0);
}

// Escape closes when the key comes back up: closing removes this frame, and a key-up sent to a
// frame that no longer exists is one the browser never finishes delivering. An Escape that
// closed a dialog closes only the dialog.
document.addEventListener('keyup', (event) => {
  if (event.key !== 'Escape') return;
  event.preventDefault();
  if (state.escapeForDialog) {
    state.escapeForDialog = false;
    return;
  }
  requestClose();
});

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    // The open dialog closes itself on this key (its default action).
    state.escapeForDialog = Boolean(openDialog());
    if (!state.escapeForDialog) event.preventDefault();
    return;
  }
  if (event.key !== 'Tab') return;
  const elements = focusable();
  if (elements.length === 0) return;
  const first = elements[0];
  const last = elements[elements.length - 1];
  const active = document.activeElement;
  const outside = !elements.includes(active);
  if (event.shiftKey && (active === first || outside)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (active === last || outside)) {
    event.preventDefault();
    first.focus();
  }
});
