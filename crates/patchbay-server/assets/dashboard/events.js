// The project's events as they happen.

import { projectPath } from './api.js';
import { h, json, when } from './dom.js';

export async function viewEvents({ projectId }) {
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
  return { title: 'Live events', body: [state, list], leave: () => stream.close() };
}
