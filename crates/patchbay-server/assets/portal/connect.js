// Connecting accounts: adding one, reconnecting or disconnecting the chosen one, by OAuth in a
// popup or with credentials typed into the form, each the way its account type says.

import { paragon } from '../sdk.js';

import { $, el, labelFor, say, view } from './dom.js';
import { announceChange, attempt } from './host.js';
import { credentials, render, state } from './state.js';

function connected(result) {
  state.selectedId = result.credentialId;
  state.configurationId = undefined;
  state.settingsShownFor = undefined;
  view.credentialsForm.hidden = true;
  render();
  say(result.deduplicated ? 'That account was already connected; it was updated.' : 'Account connected.');
  announceChange('onIntegrationInstall', { credentialId: result.credentialId });
}

/** An integration with several ways in asks which one a new account uses. */
export function showAccountTypes() {
  const types = state.meta.accountTypes || [];
  view.accountTypeRow.hidden = types.length < 2;
  view.accountType.replaceChildren(
    ...types.map((type) =>
      el('option', {
        value: type.id,
        textContent:
          type.accountDescription && type.accountDescription !== type.name ? `${type.name} — ${type.accountDescription}` : type.name,
      }),
    ),
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

export function showCredentialsForm(replacing, accountType) {
  state.replacing = replacing;
  state.accountType = accountType;
  view.credentialsHeading.textContent = replacing ? 'Reconnect with new credentials' : 'Connect with credentials';
  view.credentialFields.replaceChildren(
    ...(wayIn(accountType).credentialFields || []).map((field) => {
      const input = el('input', {
        id: `credential-${field.id}`,
        name: field.id,
        type: field.secret ? 'password' : 'text',
        autocomplete: 'off',
        required: field.required !== false,
      });
      return el('div', {}, labelFor(input.id, field.title || field.id), input);
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
