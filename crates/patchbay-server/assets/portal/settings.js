// The chosen configuration's settings: the form, rebuilt only for another account or
// configuration so that what the user is typing survives a redraw, and saving it.

import { paragon } from '../sdk.js';

import { say, view } from './dom.js';
import { clearErrors, settingField, showError, valuesOf } from './fields.js';
import { announceChange, attempt } from './host.js';
import { configurationOf, render, selectedCredential, selection, state } from './state.js';

export function renderSettings(credential, configuration, key) {
  state.settingsShownFor = key;
  const settings = state.meta.userSettings || [];
  const values = configuration.sharedSettings || configuration.settings || {};
  state.fields = new Map();
  const scope = { path: 'sharedSettings', idPrefix: 'setting-', credentialId: credential.id, registry: state.fields };
  state.settings = settings.map((setting) => ({ setting, field: settingField(setting, values[setting.id], scope) }));
  view.settingsFields.replaceChildren(...state.settings.map(({ field }) => field.wrapper));
  view.noSettings.hidden = settings.length > 0;
  view.saveSettings.hidden = settings.length === 0;
}

view.settingsForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const credentialId = state.selectedId;
  const configuration = configurationOf(selectedCredential());
  clearErrors(state.fields);
  const failed = await attempt(
    paragon.updateIntegrationUserSettings(state.type, valuesOf(state.settings), selection(credentialId, configuration)),
    'Saving…',
    () => {
      say('Settings saved.');
      announceChange('onCredentialChange', { credentialId, configurationId: configuration.id });
      // Show what was stored (a new password as set); focus stays on the Save button.
      state.settingsShownFor = undefined;
      render();
    },
  );
  if (failed) showError(state.fields, failed);
});
