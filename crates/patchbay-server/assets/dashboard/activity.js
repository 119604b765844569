// Every change made through the admin API, newest first.

import { api, projectPath } from './api.js';
import { h, link, table, when } from './dom.js';

export async function viewActivity({ projectId, query }) {
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
