// The instance's projects (admin token) and a project at a glance.

import { api, projectPath, SignedOut } from './api.js';
import { hourlyChart, usageCharts } from './charts.js';
import { confirmChange, h, link, say, table, when } from './dom.js';

export async function viewProjects() {
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

export async function viewOverview({ projectId }) {
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
