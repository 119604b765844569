// Users: the search, the accounts of one integration in one status, and a user's accounts
// with what can be done to each.

import { api, projectPath } from './api.js';
import { badge, changeButton, displayEmail, displayName, facts, h, json, link, table, when } from './dom.js';

/** Integration names of the project on screen, by type. */
const names = { projectId: null, byType: new Map() };

async function integrationNames(projectId) {
  if (names.projectId !== projectId) {
    const overview = await api('GET', projectPath(projectId, '/overview'));
    names.byType = new Map(overview.accounts.map((a) => [a.integration, a.name]));
    names.projectId = projectId;
  }
  return names.byType;
}

export async function viewUsers({ projectId, query }) {
  const search = query.get('search') ?? '';
  const integration = query.get('integration');
  const status = query.get('status');
  const input = h('input', { id: 'user-search', name: 'search', type: 'search', value: search });
  const form = h('form', { class: 'inline', role: 'search' }, h('label', { for: 'user-search' }, 'User id, name or email', input), h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `/p/${projectId}/users?search=${encodeURIComponent(input.value)}`;
  });
  if (integration || status) return accountsByStatus(projectId, integration, status, query.get('cursor'), form);
  const page = await api('GET', projectPath(projectId, '/users'), { query: { search, cursor: query.get('cursor'), limit: 50 } });
  const rows = page.data.map((user) => [
    link(`/p/${projectId}/users/${encodeURIComponent(user.id)}`, user.id),
    displayName(user.meta) ?? '—',
    displayEmail(user.meta) ?? '—',
    user.accounts,
    user.invalidAccounts ? badge(`${user.invalidAccounts} INVALID`) : '0',
  ]);
  const next = page.nextCursor ? link(`/p/${projectId}/users?search=${encodeURIComponent(search)}&cursor=${encodeURIComponent(page.nextCursor)}`, 'Next page') : null;
  return {
    title: 'Users',
    body: [form, table(search ? `Users matching "${search}"` : 'Users', ['User', 'Name', 'Email', { text: 'Accounts', num: true }, { text: 'Invalid', num: true }], rows, 'no user found.'), next],
  };
}

/** The overview's counts link here: the accounts of one integration in one status. */
async function accountsByStatus(projectId, integration, status, cursor, form) {
  const page = await api('GET', projectPath(projectId, '/credentials'), { query: { integration, status, cursor, limit: 50 } });
  const rows = page.data.map((c) => [link(`/p/${projectId}/users/${encodeURIComponent(c.personaId)}`, c.personaId), c.providerData?.name ?? c.providerId ?? '—', badge(c.status), when(c.dateCreated)]);
  const next = page.nextCursor ? link(`/p/${projectId}/users?integration=${integration}&status=${status}&cursor=${encodeURIComponent(page.nextCursor)}`, 'Next page') : null;
  return { title: `${status} ${integration} accounts`, body: [form, table('Accounts', ['User', 'Account', 'Status', 'Connected'], rows, 'none.'), next] };
}

/**
 * One configuration's workflows, each with its switch. Another configuration than the default
 * is named by the admin API's configuration header, and in the buttons' names.
 */
function workflowsOf(path, accountName, configuration) {
  const label = configuration.externalId ?? configuration.id;
  const where = configuration.isDefault ? '' : ` in configuration ${label}`;
  const headers = configuration.isDefault ? {} : { 'X-Paragon-Configuration-Id': configuration.id };
  const workflows = Object.entries(configuration.workflowSettings ?? {});
  const change = (id, verb) => () => api('POST', `${path}/workflows/${encodeURIComponent(id)}/${verb}`, { headers });
  return table(`${accountName}: workflows${where}`, ['Workflow', 'Enabled', ''], workflows.map(([id, state]) => [
    id,
    state.enabled ? 'yes' : 'no',
    state.enabled
      ? changeButton(`Disable ${id}${where}`, `Disable the workflow "${id}" for the account ${accountName}${where}?`, change(id, 'disable'))
      : changeButton(`Enable ${id}${where}`, `Enable the workflow "${id}" for the account ${accountName}${where}?`, change(id, 'enable'), { danger: false }),
  ]), 'the integration has no workflow.');
}

function accountCard(projectId, type, name, credential) {
  const path = projectPath(projectId, `/credentials/${credential.id}`);
  const accountName = credential.providerData?.name ?? credential.providerData?.email ?? credential.providerId ?? credential.id;
  return h('section', { class: 'card', 'aria-label': `${name} account ${accountName}` },
    h('h3', {}, `${name}: ${accountName} `, badge(credential.status)),
    facts([
      ['Credential id', h('code', {}, credential.id)],
      ['Account id at the provider', credential.providerId],
      ['External id', credential.externalId],
      ['Account type', credential.accountType],
      ['Connected', when(credential.dateCreated)],
      ['Last refreshed', when(credential.dateRefreshed)],
      ['Refresh failures', String(credential.refreshFailureCount)],
    ]),
    h('h4', {}, 'Configurations'),
    table(`${accountName}: configurations`, ['Configuration', 'Label', 'Metadata', 'Settings'],
      credential.configurations.map((c) => [
        h('span', {}, h('code', {}, c.id), c.isDefault ? ' (default)' : ''),
        c.externalId ?? '',
        json(c.meta),
        json(c.sharedSettings),
      ]), 'the account has no configuration.'),
    credential.configurations.map((configuration) => workflowsOf(path, accountName, configuration)),
    h('div', { class: 'actions' },
      changeButton('Check now', `Check the account ${accountName} with ${name} now (refresh its token or verify its key)?`,
        () => api('POST', `${path}/check`), { danger: false, done: (checked) => `Checked: the account is ${checked.status}.` }),
      link(`/p/${projectId}/runs?credentialId=${credential.id}`, 'Runs of this account'),
      changeButton('Disconnect', `Disconnect the account ${accountName} from ${name}? Its tokens and settings are deleted.`,
        () => api('DELETE', path), { done: () => `Disconnected ${accountName}.` })));
}

export async function viewUser({ projectId, userId }) {
  const [user, names] = await Promise.all([
    api('GET', projectPath(projectId, `/users/${encodeURIComponent(userId)}`)),
    integrationNames(projectId),
  ]);
  const accounts = Object.entries(user.integrations).flatMap(([type, state]) => state.allCredentials.map((credential) => [type, credential]));
  return {
    title: `User ${user.userId}`,
    body: [
      facts([['Name', displayName(user.meta)], ['Email', displayEmail(user.meta)]]),
      h('h2', {}, 'Metadata'), json(user.meta),
      h('h2', {}, `Accounts (${accounts.length})`),
      accounts.length === 0 ? h('p', { class: 'muted' }, 'No account connected.') : null,
      accounts.map(([type, credential]) => accountCard(projectId, type, names.get(type) ?? type, credential)),
      h('p', {}, link(`/p/${projectId}/runs?userId=${encodeURIComponent(user.userId)}`, 'Task History of this user')),
    ],
  };
}
