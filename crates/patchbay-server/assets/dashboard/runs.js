// Task History: runs filtered, one run's steps, and replaying it as the same account.

import { api, projectPath } from './api.js';
import { badge, changeButton, facts, h, json, link, table, when } from './dom.js';

const runFilters = ['userId', 'credentialId', 'workflowId', 'status', 'afterDate', 'beforeDate'];

export async function viewRuns({ projectId, query }) {
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

export async function viewRun({ projectId, executionId }) {
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
