// `auth.type: oauth2_client_credentials` against a real OAuth server: `oidc-provider` from
// the npm registry, with its client-credentials grant and token introspection. The
// integration's API is a small node server that accepts a bearer token only if the
// provider's introspection endpoint says it is active, and records every token it saw.
// Patchbay installs with `{clientId, clientSecret}`, proxies a call, waits past the
// token's lifetime, proxies again, and the API must have seen a new, active token.
// Runs on SQLite and on PostgreSQL (a fresh database at PATCHBAY_TEST_POSTGRES_URL, or the
// local server), with no browser.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';

import Provider from 'oidc-provider';

import { startDemoServer, adminCall } from './harness.js';

const CLIENT_ID = 'cc-service';
const CLIENT_SECRET = 'cc-service-secret-not-a-real-one';
// The API's own client, for introspection.
const API_CLIENT_ID = 'cc-api';
const API_CLIENT_SECRET = 'cc-api-secret-not-a-real-one';
const SCOPE = 'api:read';
const TOKEN_TTL_SECONDS = 3;

const stops = [];
after(async () => {
  for (const stop of stops.reverse()) await stop();
});

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

function close(server) {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** oidc-provider with the client-credentials grant and introspection, short-lived tokens. */
async function startOidc() {
  const server = http.createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: SCOPE,
      },
      {
        client_id: API_CLIENT_ID,
        client_secret: API_CLIENT_SECRET,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
    ],
    scopes: [SCOPE],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // Only the API's own client may introspect.
      introspection: { enabled: true, allowedPolicy: async (_ctx, client) => client.clientId === API_CLIENT_ID },
    },
    ttl: { ClientCredentials: TOKEN_TTL_SECONDS },
  });
  provider.on('server_error', (_ctx, error) => console.error('oidc-provider:', error));
  server.on('request', provider.callback());
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  stops.push(() => close(server));
  return { issuer, tokenUrl: discovery.token_endpoint, introspectionUrl: discovery.introspection_endpoint };
}

/** The integration's API: `GET /whoami` answers the introspected token's client and scope. */
async function startApi(introspectionUrl) {
  const seen = [];
  const server = http.createServer(async (request, response) => {
    const token = (request.headers.authorization || '').match(/^Bearer (.+)$/)?.[1];
    let introspected = { active: false };
    if (token) {
      const answer = await fetch(introspectionUrl, {
        method: 'POST',
        headers: {
          Authorization: `Basic ${Buffer.from(`${API_CLIENT_ID}:${API_CLIENT_SECRET}`).toString('base64')}`,
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token }).toString(),
      });
      introspected = await answer.json();
    }
    seen.push({ token, active: introspected.active === true, clientIdHeader: request.headers['client-id'] });
    if (introspected.active !== true) {
      response.writeHead(401, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ error: 'invalid_token' }));
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify({ client: introspected.client_id, scope: introspected.scope }));
  });
  const port = await listen(server);
  stops.push(() => close(server));
  return { base: `http://127.0.0.1:${port}`, seen };
}

/** A fresh PostgreSQL database; dropped when the tests end. */
function freshPostgres() {
  const url = new URL(process.env.PATCHBAY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres');
  const name = `patchbay_cc_${process.pid}_${Date.now()}`;
  execFileSync('psql', [url.toString(), '-q', '-c', `CREATE DATABASE ${name}`]);
  stops.push(async () => {
    execFileSync('psql', [url.toString(), '-q', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
  });
  const database = new URL(url);
  database.pathname = `/${name}`;
  return database.toString();
}

async function sdk(server, method, path, body, headers = {}) {
  const response = await fetch(`${server.base}/projects/${server.projectId}/sdk${path}`, {
    method,
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : null };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function connectsAndRenews(extraArgs) {
  const oidc = await startOidc();
  const api = await startApi(oidc.introspectionUrl);
  const server = await startDemoServer(extraArgs);
  stops.push(async () => server.stop());

  const config = await adminCall(server, 'GET', '/config');
  config.integrations.ccapi = {
    name: 'Client-credentials API',
    auth: {
      type: 'oauth2_client_credentials',
      tokenUrl: oidc.tokenUrl,
      scopes: [SCOPE],
      clientAuth: 'client_secret_basic',
    },
    // Some APIs (Twitch's) want the client id on every call too.
    api: { baseUrl: api.base, headers: { 'Client-Id': '{{ credentials.clientId }}' } },
  };
  await adminCall(server, 'PUT', '/config', config);

  const metadata = await sdk(server, 'GET', '/integrations');
  const entry = metadata.body.find((integration) => integration.type === 'ccapi');
  assert.equal(entry.authType, 'oauth2_client_credentials');
  assert.deepEqual(entry.credentialFields.map((field) => field.id), ['clientId', 'clientSecret']);

  // A wrong secret: refused by the provider, so refused here, and nothing connected.
  const wrong = await sdk(server, 'POST', '/integrations/ccapi/install', {
    credentials: { clientId: CLIENT_ID, clientSecret: 'not-the-secret' },
  });
  assert.equal(wrong.status, 422, wrong.text);
  assert.equal(wrong.body.code, 'credentials_rejected');

  const installed = await sdk(server, 'POST', '/integrations/ccapi/install', {
    credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
  });
  assert.equal(installed.status, 201, installed.text);
  assert.ok(installed.body.credential.id);
  assert.doesNotMatch(installed.text, new RegExp(CLIENT_SECRET));

  const raw = { 'X-Paragon-Use-Raw-Response': '1' };
  const first = await sdk(server, 'GET', '/proxy/ccapi/whoami', undefined, raw);
  assert.equal(first.status, 200, first.text);
  const firstBody = first.body.output ?? first.body;
  assert.equal(firstBody.client, CLIENT_ID);
  assert.equal(firstBody.scope, SCOPE);
  assert.equal(api.seen.length, 1);
  assert.ok(api.seen[0].active);
  assert.equal(api.seen[0].clientIdHeader, CLIENT_ID);

  await sleep(TOKEN_TTL_SECONDS * 1000 + 700);
  const second = await sdk(server, 'GET', '/proxy/ccapi/whoami', undefined, raw);
  assert.equal(second.status, 200, second.text);
  assert.equal((second.body.output ?? second.body).client, CLIENT_ID);
  const last = api.seen.at(-1);
  assert.ok(last.active, 'the token sent after expiry was active');
  assert.notEqual(last.token, api.seen[0].token, 'a new token after expiry');
  // Every token the API saw was active: the expired one was never sent.
  assert.ok(api.seen.every((call) => call.active), JSON.stringify(api.seen.map((call) => call.active)));
  for (const answer of [installed, first, second]) {
    for (const call of api.seen) assert.ok(!answer.text.includes(call.token), 'no token in an answer');
  }
}

test('oauth2_client_credentials against oidc-provider, on SQLite', async () => {
  await connectsAndRenews([]);
});

test('oauth2_client_credentials against oidc-provider, on PostgreSQL', async () => {
  await connectsAndRenews(['--database-url', freshPostgres()]);
});
