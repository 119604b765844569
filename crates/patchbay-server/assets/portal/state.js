// What the portal shows: the integration, the chosen account and configuration, and the forms
// built for them. The accounts and their configurations themselves are the SDK's user object,
// read afresh on each use, so a change made anywhere (another tab, the developer's backend) is
// what the next render() shows.

import { paragon } from '../sdk.js';

import { say } from './dom.js';

export const state = {
  type: undefined,
  meta: undefined,
  selectedId: undefined,
  /** The chosen configuration of the selected account; its default one when unset. */
  configurationId: undefined,
  /** Which account and configuration the settings form and the workflow list were built for. */
  settingsShownFor: undefined,
  workflowsShownFor: undefined,
  /** The integration's settings in the form: `[{setting, field}]`, and every field by its API path. */
  settings: [],
  fields: new Map(),
  /** The workflows shown: `workflowId -> {box, form, fields, settings}`. */
  workflows: new Map(),
  parentOrigin: undefined,
  /** For the credentials form: reconnect this account instead of adding one. */
  replacing: undefined,
  accountType: undefined,
  /** An Escape that a dialog answered must not close the whole portal when its key comes up. */
  escapeForDialog: false,
};

function integrationState() {
  const user = paragon.getUser();
  return user.integrations && user.integrations[state.type];
}

export function credentials() {
  const integration = integrationState();
  return integration ? integration.allCredentials : [];
}

export function defaultCredentialId() {
  const integration = integrationState();
  return (integration && integration.credentialId) || (credentials()[0] && credentials()[0].id);
}

export function selectedCredential() {
  return credentials().find((c) => c.id === state.selectedId);
}

/** An id, `ext:<externalId>` or a plain externalId, as the SDK accepts them. */
function resolveSelection(selection) {
  if (!selection) return defaultCredentialId();
  const label = selection.startsWith('ext:') ? selection.slice(4) : selection;
  const found = credentials().find((c) => c.id === selection || c.externalId === label);
  if (!found) say('That account is not connected; showing the first one instead.', true);
  return found ? found.id : defaultCredentialId();
}

function isConfiguration(configuration, selection) {
  if (configuration.id === selection) return true;
  return selection.startsWith('ext:') && configuration.externalId === selection.slice(4);
}

/** The account and configuration `connect()` named: a configuration also names its account. */
export function resolveInitialSelection(selectedCredentialId, selectedConfigurationId) {
  const credentialId = selectedCredentialId ? resolveSelection(selectedCredentialId) : undefined;
  if (selectedConfigurationId) {
    for (const credential of credentials()) {
      if (credentialId && credential.id !== credentialId) continue;
      const found = configurationsOf(credential).find((c) => isConfiguration(c, String(selectedConfigurationId)));
      if (found) return { credentialId: credential.id, configurationId: found.id };
    }
    say('That configuration was not found; showing the default one instead.', true);
  }
  return { credentialId: credentialId || defaultCredentialId(), configurationId: undefined };
}

export function accountName(credential) {
  const data = credential.providerData || {};
  return data.name || data.email || credential.externalId || credential.providerId || 'Account';
}

export function configurationsOf(credential) {
  return (credential && credential.configurations) || [];
}

const NO_CONFIGURATION = { sharedSettings: {}, workflowSettings: {} };

/** The chosen configuration of `credential`, else its default one. */
export function configurationOf(credential) {
  const list = configurationsOf(credential);
  return (
    list.find((c) => c.id === state.configurationId) || list.find((c) => c.isDefault) || list[0] || NO_CONFIGURATION
  );
}

export function configurationName(configuration) {
  if (!configuration || !configuration.id) return 'Default';
  if (configuration.isDefault) return configuration.externalId ? `Default (${configuration.externalId})` : 'Default';
  if (configuration.externalId) return configuration.externalId;
  const list = configurationsOf(selectedCredential());
  return `Configuration ${list.findIndex((c) => c.id === configuration.id) + 1}`;
}

/** What the SDK calls name: the account, and the configuration when there is one. */
export function selection(credentialId, configuration) {
  return { selectedCredentialId: credentialId, selectedConfigurationId: (configuration && configuration.id) || undefined };
}

// ---- drawing it again -------------------------------------------------------

// After a change the portal is drawn again from the user object (accounts.js). That drawing uses
// the modules that make changes (settings, configurations, connecting accounts), so they reach it
// through this hook instead of importing it: no module imports one that imports it back.
let draw = () => {};

/** Says what render() draws; the entry point sets it before anything can change. */
export function renderWith(drawer) {
  draw = drawer;
}

/** Draws the account list and the chosen account again. */
export function render() {
  draw();
}
