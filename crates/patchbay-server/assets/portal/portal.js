// The Connect Portal: one integration's accounts, and the chosen account's
// settings and workflows. It runs in an iframe that `paragon.connect()`
// opens; the opener hands it the project id and user token by postMessage
// (never in the URL), and it then drives the same SDK as the host page.

import { paragon } from '../sdk.js';

const $ = (id) => document.getElementById(id);
const view = {
  portal: $('portal'),
  title: $('title'),
  status: $('status'),
  content: $('content'),
  accounts: $('accounts'),
  noAccounts: $('no-accounts'),
  addAccount: $('add-account'),
  accountTypeRow: $('account-type-row'),
  accountType: $('account-type'),
  credentialsForm: $('credentials-form'),
  credentialsHeading: $('credentials-heading'),
  credentialFields: $('credential-fields'),
  account: $('account'),
  accountHeading: $('account-heading'),
  accountDetails: $('account-details'),
  accountInvalid: $('account-invalid'),
  reconnect: $('reconnect'),
  disconnect: $('disconnect'),
  settingsForm: $('settings-form'),
  settingsFields: $('settings-fields'),
  noSettings: $('no-settings'),
  workflowList: $('workflow-list'),
  noWorkflows: $('no-workflows'),
};

const STATUS_LABELS = { VALID: 'Connected', INVALID: 'Needs reconnecting', PENDING: 'Connecting' };
const CHANGE_EVENTS = ['onIntegrationInstall', 'onIntegrationUninstall', 'onWorkflowChange', 'onCredentialChange'];

const state = {
  type: undefined,
  meta: undefined,
  selectedId: undefined,
  settingsShownFor: undefined,
  parentOrigin: undefined,
  /** For the credentials form: reconnect this account instead of adding one. */
  replacing: undefined,
};

// ---- talking to the host page ------------------------------------------

function toParent(message) {
  if (window.parent === window) return;
  // Before the host introduced itself only messages without secrets are sent.
  window.parent.postMessage(message, state.parentOrigin || '*');
}

function announceChange(event, payload) {
  toParent({ type: 'patchbay:portal-change', event, payload: { integrationType: state.type, ...payload } });
}

/** A failed action: `connect()`'s `onError` hears it (the message carries no secret). */
function announceError(error) {
  toParent({
    type: 'patchbay:portal-error',
    error: { message: error.message, code: error.code, status: error.status, meta: error.meta },
  });
}

function requestClose() {
  toParent({ type: 'patchbay:portal-close' });
}

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
  showAccountTypes();
  view.title.textContent = `${state.meta.name}`;
  document.title = `${state.meta.name} · Connect Portal`;
  state.selectedId = resolveSelection(data.selectedCredentialId);
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

// ---- state --------------------------------------------------------------

function credentials() {
  const user = paragon.getUser();
  const integration = user.integrations && user.integrations[state.type];
  return integration ? integration.allCredentials : [];
}

function defaultCredentialId() {
  const user = paragon.getUser();
  const integration = user.integrations && user.integrations[state.type];
  return (integration && integration.credentialId) || (credentials()[0] && credentials()[0].id);
}

/** An id, `ext:<externalId>` or a plain externalId, as the SDK accepts them. */
function resolveSelection(selection) {
  if (!selection) return defaultCredentialId();
  const label = selection.startsWith('ext:') ? selection.slice(4) : selection;
  const found = credentials().find((c) => c.id === selection || c.externalId === label);
  if (!found) say('That account is not connected; showing the first one instead.', true);
  return found ? found.id : defaultCredentialId();
}

function accountName(credential) {
  const data = credential.providerData || {};
  return data.name || data.email || credential.externalId || credential.providerId || 'Account';
}

function configurationOf(credential) {
  const configurations = credential.configurations || [];
  return configurations.find((c) => c.isDefault) || configurations[0] || { sharedSettings: {}, workflowSettings: {} };
}

function say(text, isError = false) {
  view.status.textContent = text;
  view.status.classList.toggle('error', isError);
}

// ---- rendering ----------------------------------------------------------

function render() {
  const list = credentials();
  if (!list.some((c) => c.id === state.selectedId)) state.selectedId = defaultCredentialId();
  view.accounts.replaceChildren(...list.map(accountItem));
  view.noAccounts.hidden = list.length > 0;
  view.addAccount.textContent = list.length ? 'Add another account' : 'Connect an account';
  renderAccount(list.find((c) => c.id === state.selectedId));
}

function accountItem(credential) {
  const item = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'account-choice';
  button.dataset.credentialId = credential.id;
  button.setAttribute('aria-pressed', String(credential.id === state.selectedId));
  const name = document.createElement('span');
  name.className = 'account-name';
  name.textContent = accountName(credential);
  const badge = document.createElement('span');
  badge.className = `badge badge-${credential.status}`;
  badge.textContent = STATUS_LABELS[credential.status] || credential.status;
  button.append(name);
  const email = credential.providerData && credential.providerData.email;
  if (email && email !== name.textContent) {
    const detail = document.createElement('span');
    detail.className = 'muted';
    detail.textContent = email;
    button.append(detail);
  }
  button.append(badge);
  button.addEventListener('click', () => {
    state.selectedId = credential.id;
    render();
    const again = view.accounts.querySelector(`[data-credential-id="${credential.id}"]`);
    if (again) again.focus();
  });
  item.append(button);
  return item;
}

function renderAccount(credential) {
  view.account.hidden = !credential;
  if (!credential) return;
  view.account.dataset.credentialId = credential.id;
  view.accountHeading.textContent = accountName(credential);
  const parts = [STATUS_LABELS[credential.status] || credential.status];
  if (credential.externalId) parts.push(`label “${credential.externalId}”`);
  if (credential.providerId) parts.push(`account id ${credential.providerId}`);
  view.accountDetails.textContent = parts.join(' · ');
  view.accountInvalid.hidden = credential.status !== 'INVALID';
  view.reconnect.className = credential.status === 'INVALID' ? 'primary' : '';
  view.reconnect.textContent = 'Reconnect';
  view.disconnect.setAttribute('aria-label', `Disconnect ${accountName(credential)}`);
  view.reconnect.setAttribute('aria-label', `Reconnect ${accountName(credential)}`);
  // Keep what the user is typing: the settings form is rebuilt only for another account.
  if (state.settingsShownFor !== credential.id) renderSettings(credential);
  renderWorkflows(credential);
}

function renderSettings(credential) {
  state.settingsShownFor = credential.id;
  const settings = state.meta.userSettings || [];
  const values = configurationOf(credential).sharedSettings || {};
  view.settingsFields.replaceChildren(...settings.map((setting) => settingField(setting, values[setting.id])));
  view.noSettings.hidden = settings.length > 0;
  $('save-settings').hidden = settings.length === 0;
}

function settingField(setting, value) {
  const wrapper = document.createElement('div');
  const id = `setting-${setting.id}`;
  const current = value ?? setting.default;
  let control;
  if (setting.type === 'boolean') {
    const label = document.createElement('label');
    label.className = 'checkbox';
    control = document.createElement('input');
    control.type = 'checkbox';
    control.checked = Boolean(current);
    label.append(control, document.createTextNode(setting.title));
    wrapper.append(label);
  } else {
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = setting.required ? `${setting.title} (required)` : setting.title;
    if (setting.type === 'select') {
      control = document.createElement('select');
      const none = new Option('Choose…', '');
      control.append(none, ...(setting.options || []).map((option) => new Option(option, option)));
    } else {
      control = document.createElement('input');
      control.type = { number: 'number', email: 'email', url: 'url' }[setting.type] || 'text';
      if (setting.pattern) control.pattern = setting.pattern;
    }
    control.value = current === undefined || current === null ? '' : String(current);
    control.required = Boolean(setting.required);
    wrapper.append(label, control);
  }
  control.id = id;
  control.name = setting.id;
  control.dataset.kind = setting.type;
  if (setting.description) {
    const help = document.createElement('span');
    help.className = 'field-help';
    help.id = `${id}-help`;
    help.textContent = setting.description;
    control.setAttribute('aria-describedby', help.id);
    wrapper.append(help);
  }
  return wrapper;
}

function settingValues() {
  const values = {};
  for (const control of view.settingsFields.querySelectorAll('[name]')) {
    control.removeAttribute('aria-invalid');
    if (control.dataset.kind === 'boolean') values[control.name] = control.checked;
    else if (control.value === '') continue;
    else values[control.name] = control.dataset.kind === 'number' ? Number(control.value) : control.value;
  }
  return values;
}

function renderWorkflows(credential) {
  const workflows = state.meta.workflows || [];
  const chosen = configurationOf(credential).workflowSettings || {};
  view.noWorkflows.hidden = workflows.length > 0;
  view.workflowList.replaceChildren(
    ...workflows.map((workflow) => {
      const item = document.createElement('li');
      const label = document.createElement('label');
      label.className = 'checkbox';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.id = `workflow-${workflow.id}`;
      box.dataset.workflowId = workflow.id;
      box.checked = chosen[workflow.id] ? Boolean(chosen[workflow.id].enabled) : Boolean(workflow.defaultEnabled);
      box.addEventListener('change', () => toggleWorkflow(credential.id, workflow.id, box));
      label.append(box, document.createTextNode(workflow.description || workflow.id));
      item.append(label);
      return item;
    }),
  );
}

// ---- actions --------------------------------------------------------------

/** Runs an SDK call, reporting progress and failure in the status line. */
async function attempt(promise, pending, onDone) {
  say(pending);
  try {
    const result = await promise;
    onDone(result);
  } catch (error) {
    say(error.message, true);
    announceError(error);
    return error;
  }
  return undefined;
}

async function toggleWorkflow(credentialId, workflowId, box) {
  const enabled = box.checked;
  const call = enabled ? paragon.enableWorkflow : paragon.disableWorkflow;
  const failed = await attempt(call(workflowId, { selectedCredentialId: credentialId }), 'Saving…', () => {
    say(enabled ? 'Workflow enabled for this account.' : 'Workflow disabled for this account.');
    announceChange('onWorkflowChange', { workflowId, credentialId, workflowStateChange: { enabled } });
  });
  if (failed) box.checked = !enabled;
}

view.settingsForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const credentialId = state.selectedId;
  const values = settingValues();
  const failed = await attempt(
    paragon.updateIntegrationUserSettings(state.type, values, { selectedCredentialId: credentialId }),
    'Saving…',
    () => {
      say('Settings saved.');
      announceChange('onCredentialChange', { credentialId });
    },
  );
  // `meta.field` is `sharedSettings.<id>`: point at that control.
  const field = failed && failed.meta && typeof failed.meta.field === 'string' ? failed.meta.field.split('.').pop() : undefined;
  const control = field && view.settingsFields.querySelector(`[name="${CSS.escape(field)}"]`);
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    control.focus();
  }
});

function connected(result) {
  state.selectedId = result.credentialId;
  state.settingsShownFor = undefined;
  view.credentialsForm.hidden = true;
  render();
  say(result.deduplicated ? 'That account was already connected; it was updated.' : 'Account connected.');
  announceChange('onIntegrationInstall', { credentialId: result.credentialId });
}

/** An integration with several ways in asks which one a new account uses. */
function showAccountTypes() {
  const types = state.meta.accountTypes || [];
  view.accountTypeRow.hidden = types.length < 2;
  view.accountType.replaceChildren(
    ...types.map((type) => {
      const option = document.createElement('option');
      option.value = type.id;
      option.textContent = type.accountDescription && type.accountDescription !== type.name ? `${type.name} — ${type.accountDescription}` : type.name;
      return option;
    }),
  );
}

/** How accounts of `accountType` connect: that type's auth type and fields, or the integration's own. */
function wayIn(accountType) {
  return (state.meta.accountTypes || []).find((type) => type.id === accountType) || state.meta;
}

// The install calls run synchronously inside the click: the SDK opens the
// provider's popup before anything is awaited, or the browser blocks it.
view.addAccount.addEventListener('click', () => {
  const accountType = view.accountType.value || undefined;
  if (wayIn(accountType).authType !== 'oauth2') return showCredentialsForm(undefined, accountType);
  attempt(
    paragon.installIntegration(state.type, { allowMultipleCredentials: true, accountType }),
    'Choose the account in the window that opened…',
    connected,
  );
});

view.reconnect.addEventListener('click', () => {
  const credentialId = state.selectedId;
  // A reconnection keeps the account's way in.
  const selected = credentials().find((c) => c.id === credentialId);
  const accountType = (selected && selected.accountType) || undefined;
  if (wayIn(accountType).authType !== 'oauth2') return showCredentialsForm(credentialId, accountType);
  attempt(
    paragon.installIntegration(state.type, { selectedCredentialId: credentialId, accountType }),
    'Sign in again in the window that opened…',
    connected,
  );
});

view.disconnect.addEventListener('click', () => {
  const credentialId = state.selectedId;
  const name = view.accountHeading.textContent;
  attempt(paragon.uninstallIntegration(state.type, { selectedCredentialId: credentialId }), 'Disconnecting…', () => {
    state.selectedId = undefined;
    render();
    say(`${name} was disconnected.`);
    announceChange('onIntegrationUninstall', { credentialId });
    const next = view.accounts.querySelector('button') || view.addAccount;
    next.focus();
  });
});

function showCredentialsForm(replacing, accountType) {
  state.replacing = replacing;
  state.accountType = accountType;
  view.credentialsHeading.textContent = replacing ? 'Reconnect with new credentials' : 'Connect with credentials';
  view.credentialFields.replaceChildren(
    ...(wayIn(accountType).credentialFields || []).map((field) => {
      const wrapper = document.createElement('div');
      const label = document.createElement('label');
      label.htmlFor = `credential-${field.id}`;
      label.textContent = field.title || field.id;
      const input = document.createElement('input');
      input.id = `credential-${field.id}`;
      input.name = field.id;
      input.type = field.secret ? 'password' : 'text';
      input.autocomplete = 'off';
      input.required = field.required !== false;
      wrapper.append(label, input);
      return wrapper;
    }),
  );
  view.credentialsForm.hidden = false;
  const first = view.credentialFields.querySelector('input');
  if (first) first.focus();
}

view.credentialsForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const entered = Object.fromEntries(
    [...view.credentialFields.querySelectorAll('input')].map((input) => [input.name, input.value]),
  );
  const way = { accountType: state.accountType, credentials: entered };
  const options = state.replacing
    ? { selectedCredentialId: state.replacing, ...way }
    : { allowMultipleCredentials: true, ...way };
  attempt(paragon.installIntegration(state.type, options), 'Checking the credentials…', connected);
});

$('credentials-cancel').addEventListener('click', () => {
  view.credentialsForm.hidden = true;
  view.addAccount.focus();
});

$('close').addEventListener('click', requestClose);

// ---- keyboard: Escape closes, Tab stays inside the portal ------------------

function focusable() {
  const candidates = view.portal.querySelectorAll('button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])');
  return [...candidates].filter((element) => !element.disabled && element.getClientRects().length > 0);
}

// Escape closes when the key comes back up: closing removes this frame, and a key-up sent to a
// frame that no longer exists is one the browser never finishes delivering.
document.addEventListener('keyup', (event) => {
  if (event.key !== 'Escape') return;
  event.preventDefault();
  requestClose();
});

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    event.preventDefault();
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
