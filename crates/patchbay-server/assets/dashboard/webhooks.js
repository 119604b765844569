// Webhooks: the endpoints events go to, their deliveries (replay a dead one, rotate the signing
// secret), and what providers sent.

import { api, projectPath } from './api.js';
import { badge, changeButton, facts, h, link, table, when } from './dom.js';

/** A new signing secret, shown once on the view drawn after the rotation. */
let newSecret = null;

export async function viewWebhooks({ projectId }) {
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

export async function viewEndpoint({ projectId, endpointId, query }) {
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
    { done: (result) => { newSecret = result.secret; return 'New signing secret made.'; } });
  if (newSecret) {
    secret.append(h('p', { class: 'secret' }, 'The new signing secret, shown this once: ', h('code', {}, newSecret)));
    newSecret = null;
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
