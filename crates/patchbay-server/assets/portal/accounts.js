// Drawing the portal from the state: the account list, and the chosen account with its
// configuration picker, settings and workflows (each drawn by its own module).

import { renderConfigurations } from './configurations.js';
import { el, view } from './dom.js';
import { renderSettings } from './settings.js';
import { accountName, configurationOf, credentials, defaultCredentialId, state } from './state.js';
import { renderWorkflows, updateWorkflows } from './workflows.js';

const STATUS_LABELS = { VALID: 'Connected', INVALID: 'Needs reconnecting', PENDING: 'Connecting' };

/** What render() draws (portal.js says so): everything, from the user object and the state. */
export function renderPortal() {
  const list = credentials();
  if (!list.some((c) => c.id === state.selectedId)) {
    state.selectedId = defaultCredentialId();
    state.configurationId = undefined;
  }
  // Re-rendering replaces the account buttons: keep the keyboard focus where it was.
  const focused = view.accounts.contains(document.activeElement) ? document.activeElement.dataset.credentialId : undefined;
  view.accounts.replaceChildren(...list.map(accountItem));
  if (focused) focusAccount(focused);
  view.noAccounts.hidden = list.length > 0;
  view.addAccount.textContent = list.length ? 'Add another account' : 'Connect an account';
  renderAccount(list.find((c) => c.id === state.selectedId));
}

function focusAccount(credentialId) {
  const button = view.accounts.querySelector(`[data-credential-id="${CSS.escape(credentialId)}"]`);
  if (button) button.focus();
}

function accountItem(credential) {
  const button = el('button', { type: 'button', className: 'account-choice' });
  button.dataset.credentialId = credential.id;
  button.setAttribute('aria-pressed', String(credential.id === state.selectedId));
  const name = el('span', { className: 'account-name', textContent: accountName(credential) });
  button.append(name);
  const email = credential.providerData && credential.providerData.email;
  if (email && email !== name.textContent) button.append(el('span', { className: 'muted', textContent: email }));
  button.append(
    el('span', { className: `badge badge-${credential.status}`, textContent: STATUS_LABELS[credential.status] || credential.status }),
  );
  button.addEventListener('click', () => {
    state.selectedId = credential.id;
    state.configurationId = undefined;
    renderPortal();
    focusAccount(credential.id);
  });
  return el('li', {}, button);
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
  const configuration = configurationOf(credential);
  state.configurationId = configuration.id;
  renderConfigurations(credential, configuration);
  const key = `${credential.id}/${configuration.id || ''}`;
  // Keep what the user is typing: the forms are rebuilt only for another account or configuration.
  if (state.settingsShownFor !== key) renderSettings(credential, configuration, key);
  if (state.workflowsShownFor !== key) renderWorkflows(credential, configuration, key);
  else updateWorkflows(configuration);
}
