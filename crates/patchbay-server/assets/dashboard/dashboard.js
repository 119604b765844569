// The Patchbay dashboard: one page whose views are addressed by the URL's fragment
// (`#/p/<projectId>/users`), each drawn from the admin API by a module of its own. The session
// is an HttpOnly cookie the server set at sign-in; no script sees a key after the sign-in form
// has sent it, and the session's CSRF token goes with every change (`api.js`).

import { viewActivity } from './activity.js';
import { api, session, SignedOut, whenSignedOut } from './api.js';
import { viewConfig } from './config.js';
import { h, link } from './dom.js';
import { viewEvents } from './events.js';
import { viewOverview, viewProjects } from './overview.js';
import { viewRun, viewRuns } from './runs.js';
import { viewUser, viewUsers } from './users.js';
import { viewEndpoint, viewWebhooks } from './webhooks.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const header = document.querySelector('header.top');

/** Stops what the view on screen keeps running (an event stream). */
let leaveView = () => {};

// ---- signing in and out

function showSignIn(message) {
  leaveView();
  leaveView = () => {};
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
  leaveView();
  leaveView = () => {};
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
  leaveView = page.leave ?? (() => {});
  const title = h('h1', { tabindex: -1 }, page.title);
  main.replaceChildren(title, ...page.body.flat(Infinity).filter(Boolean));
  main.setAttribute('aria-busy', 'false');
  document.title = `${page.title} · Patchbay`;
  title.focus();
}

whenSignedOut(showSignIn);
window.addEventListener('hashchange', render);
window.addEventListener('dashboard:changed', render);
render();
