// The Patchbay dashboard: one page whose views are addressed by the URL's fragment
// (`#/p/<projectId>/users`), each drawn from the admin API. The session is an HttpOnly
// cookie the server set at sign-in; this script never sees a key after the sign-in form
// has sent it, and sends the session's CSRF token with every change.

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const header = document.querySelector('header.top');
const statusBox = document.getElementById('status');

const session = {
  /** The signed-in session (`GET /dashboard/session`), or null. */
  current: null,
  /** Integration names of the project on screen, by type. */
  integrationNames: new Map(),
  /** Stops what the view on screen keeps running (an event stream). */
  leave: () => {},
};

// ---- talking to the server

class ApiFailure extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Raised when the session has ended: the sign-in form is already on screen. */
class SignedOut extends Error {}

async function api(method, path, { query, json, text } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const headers = {};
  if (method !== 'GET' && session.current) headers['X-CSRF-Token'] = session.current.csrfToken;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (text !== undefined) {
    headers['Content-Type'] = 'application/yaml';
    body = text;
  }
  const response = await fetch(url, { method, headers, body, credentials: 'same-origin' });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401 && session.current) {
    session.current = null;
    showSignIn('Your session has ended. Sign in again.');
    throw new SignedOut();
  }
  if (!response.ok) {
    throw new ApiFailure(data?.message ?? `The server answered ${response.status}.`, data?.code, response.status);
  }
  return data;
}

const projectPath = (projectId, rest = '') => `/api/v1/projects/${encodeURIComponent(projectId)}${rest}`;

// ---- building the page

/** An element with attributes (`on…` become listeners) and children (strings become text). */
function h(tag, props, ...children) {
  return fill(document.createElement(tag), props, children);
}

/** An SVG element, as `h` builds HTML ones. */
function s(tag, props, ...children) {
  return fill(document.createElementNS('http://www.w3.org/2000/svg', tag), props, children);
}

function fill(element, props, children) {
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'text') element.textContent = value;
    else element.setAttribute(name === 'className' ? 'class' : name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

// Users' metadata names them as their tokens do: `name` or Paragon's `Name`.
const displayName = (meta) => meta.name ?? meta.Name;
const displayEmail = (meta) => meta.email ?? meta.Email;

const link = (hash, text, props = {}) => h('a', { href: `#${hash}`, ...props }, text);
const badge = (text) => h('span', { class: `badge ${text}` }, text);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const json = (value) => h('pre', { tabindex: 0 }, JSON.stringify(value ?? null, null, 2));

/** A table in a region that scrolls sideways on a narrow screen, reachable by keyboard. */
function table(caption, headings, rows, empty = 'Nothing yet.') {
  if (rows.length === 0) return h('p', { class: 'muted' }, `${caption}: ${empty}`);
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headings.map((heading) => h('th', { scope: 'col', class: heading.num ? 'num' : null }, heading.text ?? heading)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, i) => h('td', { class: headings[i].num ? 'num' : null }, cell)))))));
}

function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([term, value]) => [h('dt', {}, term), h('dd', {}, value ?? '—')]));
}

function say(message) {
  statusBox.textContent = message;
  statusBox.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { statusBox.hidden = true; }, 5000);
}

/** Asks before a change; resolves true when the user confirms. */
function confirmChange(text, action) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-button').textContent = action;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
  });
}

/** A button that asks, does `change`, says how it went, and draws the view again. */
function changeButton(label, question, change, { danger = true, done } = {}) {
  const button = h('button', { type: 'button', class: danger ? 'danger' : null }, label);
  button.addEventListener('click', async () => {
    if (!(await confirmChange(question, label))) return;
    button.disabled = true;
    try {
      const result = await change();
      say(done ? done(result) : `${label}: done.`);
      await render();
    } catch (error) {
      if (!(error instanceof SignedOut)) say(`${label} failed: ${error.message}`);
      button.disabled = false;
    }
  });
  return button;
}

// ---- signing in and out

function showSignIn(message) {
  session.leave();
  header.hidden = true;
  const error = h('p', { id: 'signin-error', class: 'error', role: 'alert' }, message ?? '');
  const input = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'key-help signin-error' });
  const form = h('form', { class: 'card signin' },
    h('h1', {}, 'Sign in to Patchbay'),
    h('label', { for: 'key' }, 'Secret key or admin token'),
    input,
    h('p', { id: 'key-help', class: 'muted' }, 'A project secret key opens that project; the instance admin token opens every project. The key is sent once and never stored in this browser.'),
    error,
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      session.current = await api('POST', '/dashboard/session', { json: { key: input.value } });
      input.value = '';
      const home = session.current.projectId ? `/p/${session.current.projectId}` : '/projects';
      if (location.hash === `#${home}`) await render();
      else location.hash = home;
    } catch (failure) {
      error.textContent = failure.message;
      input.focus();
    }
  });
  document.title = 'Sign in · Patchbay';
  main.setAttribute('aria-busy', 'false');
  main.replaceChildren(form);
  input.focus();
}

document.getElementById('sign-out').addEventListener('click', async () => {
  try {
    await api('DELETE', '/dashboard/session');
  } catch (error) {
    if (error instanceof SignedOut) return;
  }
  session.current = null;
  history.replaceState(null, '', location.pathname);
  showSignIn('You are signed out.');
});

document.querySelector('.skip').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

// ---- views

const projectViews = [
  ['', 'Overview'],
  ['/users', 'Users'],
  ['/runs', 'Task History'],
  ['/webhooks', 'Webhooks'],
  ['/events', 'Live events'],
  ['/config', 'Configuration'],
  ['/activity', 'Activity'],
];

function drawNav(projectId, path) {
  const items = [];
  if (session.current.scope === 'instance') items.push(['/projects', 'Projects']);
  if (projectId) for (const [rest, label] of projectViews) items.push([`/p/${projectId}${rest}`, label]);
  nav.replaceChildren(...items.map(([hash, label]) => {
    const current = hash === path || (hash !== `/p/${projectId}` && hash !== '/projects' && path.startsWith(`${hash}/`));
    return h('li', {}, link(hash, label, { 'aria-current': current ? 'page' : null }));
  }));
}

async function integrationNames(projectId) {
  if (session.integrationNames.projectId !== projectId) {
    const overview = await api('GET', projectPath(projectId, '/overview'));
    session.integrationNames = new Map(overview.accounts.map((a) => [a.integration, a.name]));
    session.integrationNames.projectId = projectId;
  }
  return session.integrationNames;
}

async function viewProjects() {
  const { data } = await api('GET', '/api/v1/projects');
  const name = h('input', { id: 'project-name', name: 'name', required: true });
  const created = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'inline' }, h('label', { for: 'project-name' }, 'Name', name), h('button', { type: 'submit' }, 'Create project'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!(await confirmChange(`Create the project "${name.value}"?`, 'Create project'))) return;
    try {
      const result = await api('POST', '/api/v1/projects', { json: { name: name.value } });
      created.replaceChildren(h('p', { class: 'secret' }, 'Project created. Its secret key, shown this once: ', h('code', {}, result.secretKey)));
      name.value = '';
    } catch (error) {
      if (!(error instanceof SignedOut)) say(`Create project failed: ${error.message}`);
    }
  });
  return {
    title: 'Projects',
    body: [
      table('Projects', ['Name', 'Id', 'Created'], data.map((p) => [link(`/p/${p.id}`, p.name), h('code', {}, p.id), when(p.dateCreated)]), 'no project yet.'),
      h('h2', {}, 'Create a project'), form, created,
    ],
  };
}

/**
 * A bar chart of hourly counts as accessible SVG: `series` ([{key, label, className}]) stack
 * in each hour's bar; the description sums them up and a table gives every figure.
 */
function hourlyChart(id, title, hours, series) {
  const width = 720;
  const height = 160;
  const top = 10;
  const bottom = 24;
  const total = (hour) => series.reduce((sum, { key }) => sum + hour[key], 0);
  const most = Math.max(1, ...hours.map(total));
  const step = width / hours.length;
  const scale = (count) => (count / most) * (height - top - bottom);
  const sums = series.map(({ key, label }) => `${hours.reduce((sum, hour) => sum + hour[key], 0)} ${label.toLowerCase()}`);
  const summary = `${title} over the last ${hours.length} hours: ${sums.join(', ')}; at most ${most} in one hour.`;
  const bars = hours.flatMap((hour, i) => {
    const x = i * step + 2;
    let base = height - bottom;
    const stacked = series.map(({ key, className }) => {
      const tall = scale(hour[key]);
      base -= tall;
      return s('rect', { class: className, x, y: base, width: step - 4, height: tall });
    });
    const label = i % 3 === 0 ? s('text', { x: x + (step - 4) / 2, y: height - 8, 'text-anchor': 'middle' }, `${new Date(hour.hour).getHours()}h`) : null;
    return [...stacked, label];
  });
  return h('figure', {},
    h('figcaption', { id: `${id}-title` }, title),
    s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-title ${id}-desc` },
      s('desc', { id: `${id}-desc` }, summary),
      s('line', { class: 'axis', x1: 0, x2: width, y1: height - bottom, y2: height - bottom }),
      bars),
    h('div', { class: 'legend' }, series.map(({ label, className }) => h('span', { class: className }, label))),
    h('details', {}, h('summary', {}, `${title} as a table`),
      table(title, ['Hour', ...series.map(({ label }) => ({ text: label, num: true }))],
        hours.map((hour) => [when(hour.hour), ...series.map(({ key }) => hour[key])]))));
}

/** Each integration's proxied calls (those that failed on top) and failed refreshes. */
function usageCharts(usage) {
  const used = usage.filter((integration) => integration.hours.some((hour) => hour.proxyCalls || hour.refreshFailures));
  if (used.length === 0) return h('p', { class: 'muted' }, 'No call through the Proxy API and no failed token refresh in the last 24 hours.');
  return used.map((integration) => {
    const hours = integration.hours.map((hour) => ({ ...hour, answered: hour.proxyCalls - hour.proxyErrors }));
    return [
      hourlyChart(`proxy-${integration.integration}`, `${integration.name}: proxied calls per hour`, hours, [
        { key: 'answered', label: 'Answered', className: 'succeeded' },
        { key: 'proxyErrors', label: 'Errors', className: 'failed' },
      ]),
      hours.some((hour) => hour.refreshFailures)
        ? hourlyChart(`refresh-${integration.integration}`, `${integration.name}: failed token refreshes per hour`, hours, [
          { key: 'refreshFailures', label: 'Failed refreshes', className: 'failed' },
        ])
        : null,
    ];
  });
}

async function viewOverview({ projectId }) {
  const [project, overview, users] = await Promise.all([
    api('GET', projectPath(projectId)),
    api('GET', projectPath(projectId, '/overview')),
    api('GET', projectPath(projectId, '/users'), { query: { limit: 1 } }),
  ]);
  const byStatus = (integration, status, count) => (count > 0
    ? link(`/p/${projectId}/users?integration=${integration}&status=${status}`, String(count), { 'aria-label': `${count} ${status} ${integration} accounts` })
    : '0');
  return {
    title: project.name,
    body: [
      h('p', { class: 'muted' }, `Project ${project.id}`),
      h('div', { class: 'grid' },
        h('div', { class: 'card' }, h('h2', {}, 'Users'), h('p', {}, users.data.length ? link(`/p/${projectId}/users`, 'Find a user') : 'No user has connected yet.')),
        h('div', { class: 'card' }, h('h2', {}, 'Accounts needing attention'),
          h('p', {}, `${overview.accounts.reduce((sum, a) => sum + a.invalid, 0)} INVALID accounts`))),
      table('Accounts by integration (INVALID first)', ['Integration', { text: 'Valid', num: true }, { text: 'Pending', num: true }, { text: 'Invalid', num: true }],
        overview.accounts.map((a) => [a.name, byStatus(a.integration, 'VALID', a.valid), byStatus(a.integration, 'PENDING', a.pending), byStatus(a.integration, 'INVALID', a.invalid)]),
        'no integration is configured.'),
      h('h2', {}, 'Workflow runs'),
      hourlyChart('runs', 'Workflow runs per hour', overview.runsPerHour, [
        { key: 'succeeded', label: 'Succeeded', className: 'succeeded' },
        { key: 'failed', label: 'Failed', className: 'failed' },
      ]),
      h('h2', {}, 'Proxied calls and token refreshes'),
      usageCharts(overview.usage),
    ],
  };
}

async function viewUsers({ projectId, query }) {
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

function accountCard(projectId, type, name, credential) {
  const path = projectPath(projectId, `/credentials/${credential.id}`);
  const workflows = Object.entries(credential.config?.configuredWorkflows ?? {});
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
    h('h4', {}, 'Settings'), json(credential.config?.sharedSettings),
    h('h4', {}, 'Configurations'),
    h('ul', {}, credential.configurations.map((c) => h('li', {}, h('code', {}, c.id), c.isDefault ? ' (default)' : ''))),
    table(`${accountName}: workflows`, ['Workflow', 'Enabled', ''], workflows.map(([id, state]) => [
      id,
      state.enabled ? 'yes' : 'no',
      state.enabled
        ? changeButton(`Disable ${id}`, `Disable the workflow "${id}" for the account ${accountName}?`, () => api('POST', `${path}/workflows/${encodeURIComponent(id)}/disable`))
        : changeButton(`Enable ${id}`, `Enable the workflow "${id}" for the account ${accountName}?`, () => api('POST', `${path}/workflows/${encodeURIComponent(id)}/enable`), { danger: false }),
    ]), 'the integration has no workflow.'),
    h('div', { class: 'actions' },
      changeButton('Check now', `Check the account ${accountName} with ${name} now (refresh its token or verify its key)?`,
        () => api('POST', `${path}/check`), { danger: false, done: (checked) => `Checked: the account is ${checked.status}.` }),
      link(`/p/${projectId}/runs?credentialId=${credential.id}`, 'Runs of this account'),
      changeButton('Disconnect', `Disconnect the account ${accountName} from ${name}? Its tokens and settings are deleted.`,
        () => api('DELETE', path), { done: () => `Disconnected ${accountName}.` })));
}

async function viewUser({ projectId, userId }) {
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

const runFilters = ['userId', 'credentialId', 'workflowId', 'status', 'afterDate', 'beforeDate'];

async function viewRuns({ projectId, query }) {
  const values = Object.fromEntries(runFilters.map((name) => [name, query.get(name) ?? '']));
  const field = (name, label, input) => h('label', { for: `filter-${name}` }, label, input);
  const inputs = {
    userId: h('input', { id: 'filter-userId', name: 'userId', value: values.userId }),
    credentialId: h('input', { id: 'filter-credentialId', name: 'credentialId', value: values.credentialId }),
    workflowId: h('input', { id: 'filter-workflowId', name: 'workflowId', value: values.workflowId }),
    status: h('select', { id: 'filter-status', name: 'status' }, ['', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED'].map((status) => h('option', { value: status, selected: status === values.status }, status || 'Any'))),
    afterDate: h('input', { id: 'filter-afterDate', name: 'afterDate', type: 'date', value: values.afterDate }),
    beforeDate: h('input', { id: 'filter-beforeDate', name: 'beforeDate', type: 'date', value: values.beforeDate }),
  };
  const form = h('form', { class: 'inline' },
    field('userId', 'User', inputs.userId), field('credentialId', 'Credential', inputs.credentialId),
    field('workflowId', 'Workflow', inputs.workflowId), field('status', 'Status', inputs.status),
    field('afterDate', 'From', inputs.afterDate), field('beforeDate', 'Before', inputs.beforeDate),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const name of runFilters) if (inputs[name].value) chosen.set(name, inputs[name].value);
    location.hash = `/p/${projectId}/runs?${chosen}`;
  });
  const page = await api('GET', projectPath(projectId, '/task-history/workflow-executions'), { query: { ...values, cursor: query.get('cursor') } });
  const rows = page.data.map((run) => [
    link(`/p/${projectId}/runs/${run.id}`, run.workflowId, { 'aria-label': `${run.workflowId} run of ${when(run.dateStarted)}` }),
    badge(run.status),
    link(`/p/${projectId}/users/${encodeURIComponent(run.userId)}`, run.userId),
    h('code', {}, run.credentialId),
    when(run.dateStarted),
    run.error ?? '',
  ]);
  const nextQuery = new URLSearchParams(query);
  nextQuery.set('cursor', page.nextCursor ?? '');
  return {
    title: 'Task History',
    body: [form, table('Runs, newest first', ['Workflow', 'Status', 'User', 'Credential', 'Started', 'Error'], rows, 'no run matches.'),
      page.nextCursor ? link(`/p/${projectId}/runs?${nextQuery}`, 'Next page') : null],
  };
}

async function viewRun({ projectId, executionId }) {
  const run = await api('GET', projectPath(projectId, `/task-history/workflow-executions/${encodeURIComponent(executionId)}`));
  const finished = run.status === 'SUCCEEDED' || run.status === 'FAILED';
  return {
    title: `Run of ${run.workflowId}`,
    body: [
      facts([
        ['Status', badge(run.status)],
        ['Run id', h('code', {}, run.id)],
        ['User', link(`/p/${projectId}/users/${encodeURIComponent(run.userId)}`, run.userId)],
        ['Credential', h('code', {}, run.credentialId)],
        ['Started', when(run.dateStarted)],
        ['Ended', when(run.dateEnded)],
        ['Duration', run.runDuration == null ? '—' : `${run.runDuration} ms`],
        run.error ? ['Error', h('span', { class: 'error' }, run.error)] : null,
      ]),
      finished ? h('div', { class: 'actions' }, changeButton('Replay as the same account', `Run ${run.workflowId} again as credential ${run.credentialId}, with the same input?`,
        () => api('POST', projectPath(projectId, `/task-history/workflow-executions/${run.id}/replay`)),
        { danger: false, done: (replayed) => { location.hash = `/p/${projectId}/runs/${replayed.executionId}`; return 'Replay queued.'; } })) : null,
      h('h2', {}, 'Trigger'), json(run.trigger),
      h('h2', {}, 'Steps'),
      (run.steps ?? []).map((step) => h('section', { class: 'card', 'aria-label': `Step ${step.id}` },
        h('h3', {}, `${step.id} `, badge(step.status)),
        step.error ? h('p', { class: 'error' }, step.error) : null,
        h('h4', {}, 'Input'), json(step.input),
        h('h4', {}, 'Output'), json(step.output))),
    ],
  };
}

async function viewWebhooks({ projectId }) {
  const [endpoints, inbound] = await Promise.all([
    api('GET', projectPath(projectId, '/webhook-endpoints')),
    api('GET', projectPath(projectId, '/inbound-deliveries'), { query: { limit: 20 } }),
  ]);
  return {
    title: 'Webhooks',
    body: [
      table('Endpoints Patchbay delivers events to', ['URL', 'Events', 'State', 'Created'], endpoints.data.map((endpoint) => [
        link(`/p/${projectId}/webhooks/${endpoint.id}`, endpoint.url),
        endpoint.eventTypes.length ? endpoint.eventTypes.join(', ') : 'all',
        endpoint.disabled ? 'disabled' : 'enabled',
        when(endpoint.dateCreated),
      ]), 'no endpoint yet.'),
      table('Deliveries received from providers, newest first', ['Integration', 'Event', 'Status', 'Received'], inbound.data.map((delivery) => [
        delivery.integration, delivery.eventType, badge(delivery.status), when(delivery.dateReceived),
      ]), 'none received.'),
    ],
  };
}

async function viewEndpoint({ projectId, endpointId, query }) {
  const status = query.get('status') ?? '';
  const [endpoint, deliveries] = await Promise.all([
    api('GET', projectPath(projectId, `/webhook-endpoints/${encodeURIComponent(endpointId)}`)),
    api('GET', projectPath(projectId, `/webhook-endpoints/${encodeURIComponent(endpointId)}/deliveries`), { query: { status, cursor: query.get('cursor') } }),
  ]);
  const select = h('select', { id: 'delivery-status', name: 'status' }, ['', 'pending', 'delivered', 'dead'].map((value) => h('option', { value, selected: value === status }, value || 'Any')));
  const form = h('form', { class: 'inline' }, h('label', { for: 'delivery-status' }, 'Status', select), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `/p/${projectId}/webhooks/${endpointId}?status=${select.value}`;
  });
  const secret = h('div', { 'aria-live': 'polite' });
  const rotate = changeButton('Rotate the signing secret', `Sign deliveries to ${endpoint.url} with a new secret from now on? The receiver must be given the new secret.`,
    () => api('POST', projectPath(projectId, `/webhook-endpoints/${endpoint.id}/rotate-secret`)),
    { done: (result) => { session.shownSecret = result.secret; return 'New signing secret made.'; } });
  if (session.shownSecret) {
    secret.append(h('p', { class: 'secret' }, 'The new signing secret, shown this once: ', h('code', {}, session.shownSecret)));
    session.shownSecret = null;
  }
  return {
    title: `Webhook endpoint`,
    body: [
      facts([['URL', endpoint.url], ['Events', endpoint.eventTypes.join(', ') || 'all'], ['State', endpoint.disabled ? 'disabled' : 'enabled']]),
      h('div', { class: 'actions' }, rotate), secret,
      form,
      table('Deliveries, newest first', ['Event', 'Status', 'Attempts', 'Last answer', 'Created', ''], deliveries.data.map((delivery) => [
        delivery.eventType,
        badge(delivery.status),
        delivery.attempts,
        delivery.lastStatusCode ? `HTTP ${delivery.lastStatusCode}` : (delivery.lastError ?? '—'),
        when(delivery.dateCreated),
        delivery.status === 'dead'
          ? changeButton('Replay', `Deliver the ${delivery.eventType} event to ${endpoint.url} again?`,
            () => api('POST', projectPath(projectId, `/webhook-deliveries/${delivery.id}/replay`)), { danger: false, done: () => 'Delivery queued again.' })
          : '',
      ]), 'no delivery.'),
      deliveries.nextCursor ? link(`/p/${projectId}/webhooks/${endpointId}?status=${status}&cursor=${encodeURIComponent(deliveries.nextCursor)}`, 'Next page') : null,
    ],
  };
}

async function viewEvents({ projectId }) {
  const list = h('ol', { class: 'events', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const state = h('p', { class: 'muted', role: 'status' }, 'Connecting…');
  const stream = new EventSource(projectPath(projectId, '/events/stream'));
  stream.addEventListener('open', () => { state.textContent = 'Connected: new events appear at the top.'; });
  stream.addEventListener('error', () => { state.textContent = 'Disconnected; trying again…'; });
  stream.onmessage = (message) => {
    const event = JSON.parse(message.data);
    list.prepend(h('li', {},
      h('strong', {}, event.type), ' ', event.data?.userId ? `for ${event.data.userId} ` : '',
      h('span', { class: 'muted' }, when(event.timestamp)),
      json(event.data)));
    while (list.children.length > 200) list.lastChild.remove();
  };
  stream.addEventListener('streamEnded', (message) => {
    stream.close();
    state.textContent = `The stream ended (${JSON.parse(message.data).reason}). Sign in again to follow events.`;
  });
  session.leave = () => stream.close();
  return { title: 'Live events', body: [state, list] };
}

const DIFF_MARK = { same: ' ', added: '+', removed: '-' };

/** Lines removed and added between two texts, as a list of [kind, line]. */
function lineDiff(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA -= 1; endB -= 1; }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  let middle;
  if (midA.length * midB.length > 4_000_000) {
    middle = [...midA.map((line) => ['removed', line]), ...midB.map((line) => ['added', line])];
  } else {
    // Longest common subsequence of the changed middle, walked from the start.
    const width = midB.length + 1;
    const lcs = new Uint32Array((midA.length + 1) * width);
    for (let i = midA.length - 1; i >= 0; i -= 1) {
      for (let j = midB.length - 1; j >= 0; j -= 1) {
        lcs[i * width + j] = midA[i] === midB[j] ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
      }
    }
    middle = [];
    let i = 0;
    let j = 0;
    while (i < midA.length || j < midB.length) {
      if (i < midA.length && j < midB.length && midA[i] === midB[j]) { middle.push(['same', midA[i]]); i += 1; j += 1; }
      else if (j < midB.length && (i === midA.length || lcs[i * width + j + 1] >= lcs[(i + 1) * width + j])) { middle.push(['added', midB[j]]); j += 1; }
      else { middle.push(['removed', midA[i]]); i += 1; }
    }
  }
  const context = 3;
  const head = a.slice(Math.max(0, start - context), start).map((line) => ['same', line]);
  const tail = a.slice(endA, endA + context).map((line) => ['same', line]);
  return [...head, ...middle, ...tail];
}

function planSummary(plan) {
  const part = (label, changes) => {
    const items = Object.entries(changes ?? {}).filter(([, list]) => Array.isArray(list) && list.length).map(([kind, list]) => `${kind}: ${list.join(', ')}`);
    return items.length ? h('li', {}, `${label}: ${items.join('; ')}`) : null;
  };
  const deletions = (plan.deletedAccounts ?? []).map((account) => `${account.integration} account ${account.credentialId}`);
  const items = [
    plan.settingsChanged ? h('li', {}, 'Settings change') : null,
    part('Integrations', plan.integrations),
    part('Workflows', plan.workflows),
    deletions.length ? h('li', { class: 'error' }, `Accounts deleted: ${deletions.join(', ')}`) : null,
  ].filter(Boolean);
  return items.length ? h('ul', {}, items) : h('p', {}, 'Applying it changes nothing.');
}

async function viewConfig({ projectId }) {
  const [document, versions, keys] = await Promise.all([
    api('GET', projectPath(projectId, '/config')),
    api('GET', projectPath(projectId, '/config/versions')),
    api('GET', projectPath(projectId, '/signing-keys')),
  ]);
  const current = JSON.stringify(document, null, 2);
  const editor = h('textarea', { id: 'config-editor', name: 'document', spellcheck: 'false', 'aria-describedby': 'config-help' }, current);
  const outcome = h('div', { id: 'config-outcome', 'aria-live': 'polite' });
  const apply = h('button', { id: 'config-apply', type: 'button', class: 'danger', disabled: true }, 'Apply');
  const validate = async () => {
    outcome.replaceChildren(h('p', { class: 'muted' }, 'Validating…'));
    apply.disabled = true;
    try {
      const plan = await api('PUT', projectPath(projectId, '/config'), { query: { dryRun: 'true' }, text: editor.value });
      const diff = lineDiff(current, editor.value);
      outcome.replaceChildren(
        h('h3', {}, 'What applying it changes'), planSummary(plan),
        h('h3', {}, 'Changes to the document'),
        h('pre', { class: 'diff', tabindex: 0, 'aria-label': 'Changes to the document' }, diff.map(([kind, line]) => h('span', { class: kind }, `${DIFF_MARK[kind]} ${line}`))));
      apply.disabled = false;
    } catch (error) {
      if (!(error instanceof SignedOut)) outcome.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Not valid: ${error.message}`));
    }
  };
  editor.addEventListener('input', () => { apply.disabled = true; });
  apply.addEventListener('click', async () => {
    if (!(await confirmChange('Apply this configuration to the project now?', 'Apply'))) return;
    try {
      const applied = await api('PUT', projectPath(projectId, '/config'), { text: editor.value });
      say(`Applied: version ${applied.version}.`);
      await render();
    } catch (error) {
      if (!(error instanceof SignedOut)) outcome.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Not applied: ${error.message}`));
    }
  });
  const kid = h('input', { id: 'key-kid', name: 'kid' });
  const pem = h('textarea', { id: 'key-pem', name: 'publicKeyPem', required: true, class: 'short' });
  const addKey = h('form', {}, h('label', { for: 'key-kid' }, 'Key id (kid, optional)'), kid, h('label', { for: 'key-pem' }, 'Public key (PEM)'), pem, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add signing key')));
  addKey.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!(await confirmChange('Add this public key? User tokens signed with its private key will be accepted.', 'Add signing key'))) return;
    try {
      await api('POST', projectPath(projectId, '/signing-keys'), { json: { publicKeyPem: pem.value, ...(kid.value ? { kid: kid.value } : {}) } });
      say('Signing key added.');
      await render();
    } catch (error) {
      if (!(error instanceof SignedOut)) say(`Add signing key failed: ${error.message}`);
    }
  });
  return {
    title: 'Configuration',
    body: [
      h('h2', {}, 'The document in force'),
      h('p', { id: 'config-help', class: 'muted' }, 'Edit it here (JSON or YAML), validate to see what would change, then apply. Secrets show as ******** and applying them so keeps them.'),
      h('label', { for: 'config-editor' }, 'Configuration document'), editor,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: validate }, 'Validate and show changes'), apply),
      outcome,
      table('Earlier versions, newest first', ['Version', 'Applied', ''], versions.data.map((version, i) => [
        String(version.version),
        when(version.dateApplied),
        i === 0 ? 'in force' : h('button', { type: 'button', class: 'quiet', onclick: () => { editor.value = JSON.stringify(version.document, null, 2); editor.focus(); validate(); } }, `Roll back to version ${version.version}`),
      ]), 'no document applied yet.'),
      h('h2', {}, 'Signing keys (verify user tokens)'),
      table('Signing keys', ['Key id', 'Algorithm', 'Added', 'State'], keys.data.map((key) => [
        h('code', {}, key.kid), key.algorithm, when(key.dateCreated),
        key.dateRevoked ? `revoked ${when(key.dateRevoked)}` : changeButton(`Revoke ${key.kid}`, `Revoke the signing key ${key.kid}? User tokens signed with it stop working at once.`,
          () => api('DELETE', projectPath(projectId, `/signing-keys/${encodeURIComponent(key.kid)}`))),
      ]), 'none.'),
      addKey,
    ],
  };
}

async function viewActivity({ projectId, query }) {
  const page = await api('GET', projectPath(projectId, '/audit-log'), { query: { cursor: query.get('cursor') } });
  return {
    title: 'Activity',
    body: [
      table('Changes made through the admin API, newest first', ['When', 'Who', 'What', 'Answer'], page.data.map((entry) => [
        when(entry.dateCreated), entry.actor, h('code', {}, entry.action), String(entry.status),
      ]), 'no change recorded yet.'),
      page.nextCursor ? link(`/p/${projectId}/activity?cursor=${encodeURIComponent(page.nextCursor)}`, 'Next page') : null,
    ],
  };
}

// ---- routing

const routes = [
  [/^\/projects$/, () => ({}), viewProjects],
  [/^\/p\/([^/]+)$/, ([projectId]) => ({ projectId }), viewOverview],
  [/^\/p\/([^/]+)\/users$/, ([projectId]) => ({ projectId }), viewUsers],
  [/^\/p\/([^/]+)\/users\/(.+)$/, ([projectId, userId]) => ({ projectId, userId: decodeURIComponent(userId) }), viewUser],
  [/^\/p\/([^/]+)\/runs$/, ([projectId]) => ({ projectId }), viewRuns],
  [/^\/p\/([^/]+)\/runs\/([^/]+)$/, ([projectId, executionId]) => ({ projectId, executionId }), viewRun],
  [/^\/p\/([^/]+)\/webhooks$/, ([projectId]) => ({ projectId }), viewWebhooks],
  [/^\/p\/([^/]+)\/webhooks\/([^/]+)$/, ([projectId, endpointId]) => ({ projectId, endpointId }), viewEndpoint],
  [/^\/p\/([^/]+)\/events$/, ([projectId]) => ({ projectId }), viewEvents],
  [/^\/p\/([^/]+)\/config$/, ([projectId]) => ({ projectId }), viewConfig],
  [/^\/p\/([^/]+)\/activity$/, ([projectId]) => ({ projectId }), viewActivity],
];

async function render() {
  session.leave();
  session.leave = () => {};
  if (!session.current) {
    try {
      session.current = await api('GET', '/dashboard/session');
    } catch {
      showSignIn();
      return;
    }
  }
  const home = session.current.projectId ? `/p/${session.current.projectId}` : '/projects';
  const [path, search] = location.hash.replace(/^#/, '').split('?');
  const found = routes.map(([pattern, params, view]) => [path.match(pattern), params, view]).find(([match]) => match);
  if (!found) {
    location.replace(`#${home}`);
    return;
  }
  const [match, params, view] = found;
  const context = { ...params(match.slice(1)), query: new URLSearchParams(search ?? '') };
  header.hidden = false;
  drawNav(context.projectId, path);
  main.setAttribute('aria-busy', 'true');
  let page;
  try {
    page = await view(context);
  } catch (error) {
    if (error instanceof SignedOut) return;
    page = { title: 'Something went wrong', body: [h('p', { class: 'error', role: 'alert' }, error.message)] };
  }
  const title = h('h1', { tabindex: -1 }, page.title);
  main.replaceChildren(title, ...page.body.flat(Infinity).filter(Boolean));
  main.setAttribute('aria-busy', 'false');
  document.title = `${page.title} · Patchbay`;
  title.focus();
}

window.addEventListener('hashchange', render);
render();
