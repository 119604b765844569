// The chosen account's configurations: the picker, and the dialogs that create one and delete one.
// Each dialog gives focus back to what opened it, or to the picker once the list changed.

import { paragon } from '../sdk.js';

import { $, el, say, view } from './dom.js';
import { announceChange, announceError } from './host.js';
import {
  accountName,
  configurationName,
  configurationOf,
  configurationsOf,
  render,
  selectedCredential,
  state,
} from './state.js';

export function renderConfigurations(credential, configuration) {
  const list = configurationsOf(credential);
  view.configurations.hidden = list.length === 0;
  view.configuration.replaceChildren(...list.map((c) => el('option', { value: c.id, textContent: configurationName(c) })));
  if (configuration.id) view.configuration.value = configuration.id;
  view.deleteConfiguration.hidden = !configuration.id || Boolean(configuration.isDefault);
  view.deleteConfiguration.setAttribute('aria-label', `Delete configuration ${configurationName(configuration)}`);
  view.newConfiguration.setAttribute('aria-label', `New configuration of ${accountName(credential)}`);
}

view.configuration.addEventListener('change', () => {
  state.configurationId = view.configuration.value;
  render();
  say(`Showing the configuration “${configurationName(configurationOf(selectedCredential()))}”.`);
});

// ---- creating and deleting configurations -------------------------------------

function showDialogError(message) {
  view.newError.textContent = message;
  view.newError.hidden = !message;
  if (message) view.newName.setAttribute('aria-invalid', 'true');
  else view.newName.removeAttribute('aria-invalid');
}

view.newConfiguration.addEventListener('click', () => {
  const credential = selectedCredential();
  if (!credential) return;
  view.newName.value = '';
  showDialogError('');
  view.newAccount.textContent = `Another set of settings and workflows for ${accountName(credential)}.`;
  view.newDialog.showModal();
  view.newName.focus();
});

$('new-configuration-cancel').addEventListener('click', () => view.newDialog.close());
view.newDialog.addEventListener('close', () => {
  if (!view.newDialog.contains(document.activeElement) && document.activeElement !== view.configuration) {
    view.newConfiguration.focus();
  }
});

view.newForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const credentialId = state.selectedId;
  const externalId = view.newName.value.trim() || undefined;
  showDialogError('');
  say('Creating the configuration…');
  try {
    const created = await paragon.createConfiguration({ credentialId, externalId });
    state.configurationId = created.id;
    view.newDialog.close();
    render();
    view.configuration.focus();
    say(`Configuration “${configurationName(configurationOf(selectedCredential()))}” created.`);
    announceChange('onCredentialChange', { credentialId, configurationId: created.id });
  } catch (error) {
    say(error.message, true);
    showDialogError(error.message);
    view.newName.focus();
    announceError(error);
  }
});

view.deleteConfiguration.addEventListener('click', () => {
  const credential = selectedCredential();
  const configuration = configurationOf(credential);
  if (!configuration.id || configuration.isDefault) return;
  view.deleteText.textContent =
    `The configuration “${configurationName(configuration)}” of ${accountName(credential)} and its settings and ` +
    'workflow choices will be deleted. The account stays connected.';
  view.deleteDialog.dataset.configurationId = configuration.id;
  view.deleteDialog.showModal();
});

$('delete-configuration-cancel').addEventListener('click', () => view.deleteDialog.close());
view.deleteDialog.addEventListener('close', () => {
  if (!view.deleteDialog.contains(document.activeElement) && document.activeElement !== view.configuration) {
    (view.deleteConfiguration.hidden ? view.configuration : view.deleteConfiguration).focus();
  }
});

view.deleteForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const credentialId = state.selectedId;
  const id = view.deleteDialog.dataset.configurationId;
  const name = configurationName(configurationsOf(selectedCredential()).find((c) => c.id === id));
  say('Deleting the configuration…');
  try {
    await paragon.destroyConfiguration({ id, credentialId });
    state.configurationId = undefined;
    view.deleteDialog.close();
    render();
    view.configuration.focus();
    say(`Configuration “${name}” deleted.`);
    announceChange('onCredentialChange', { credentialId, configurationId: id });
  } catch (error) {
    view.deleteDialog.close();
    say(error.message, true);
    announceError(error);
  }
});
