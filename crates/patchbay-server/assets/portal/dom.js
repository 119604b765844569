// The page's own elements by role, building new ones, and the status line. Every element is
// built with createElement and textContent, never from HTML strings, so data from the API or the
// configuration cannot become markup (the one exception is the overview, in customise.js).

export const $ = (id) => document.getElementById(id);
/** The page's fixed elements (index.html), looked up once: modules run after the page is parsed. */
export const view = {
  portal: $('portal'),
  title: $('title'),
  status: $('status'),
  content: $('content'),
  overview: $('overview'),
  overviewHeading: $('overview-heading'),
  overviewBody: $('overview-body'),
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
  configurations: $('configurations'),
  configuration: $('configuration'),
  newConfiguration: $('new-configuration'),
  deleteConfiguration: $('delete-configuration'),
  newDialog: $('new-configuration-dialog'),
  newForm: $('new-configuration-form'),
  newAccount: $('new-configuration-account'),
  newName: $('new-configuration-name'),
  newError: $('new-configuration-error'),
  deleteDialog: $('delete-configuration-dialog'),
  deleteForm: $('delete-configuration-form'),
  deleteText: $('delete-configuration-text'),
  settingsForm: $('settings-form'),
  settingsFields: $('settings-fields'),
  saveSettings: $('save-settings'),
  noSettings: $('no-settings'),
  workflowList: $('workflow-list'),
  noWorkflows: $('no-workflows'),
};

/** `<tag>` with the given properties (`className`, `id`, `type`, `textContent`…) and children. */
export function el(tag, properties = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (value !== undefined) element[name] = value;
  }
  element.append(...children.filter((child) => child !== undefined && child !== null));
  return element;
}

export function labelFor(id, text) {
  return el('label', { htmlFor: id, textContent: text });
}

/** Adds `id` to the element's `aria-describedby` (or removes it). */
export function describe(element, id, add = true) {
  const ids = (element.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== id);
  if (add) ids.push(id);
  if (ids.length) element.setAttribute('aria-describedby', ids.join(' '));
  else element.removeAttribute('aria-describedby');
}

/** The status line, a live region: what happened, or what went wrong. */
export function say(text, isError = false) {
  view.status.textContent = text;
  view.status.classList.toggle('error', isError);
}
