// The MCP server, driven by the official MCP TypeScript SDK as an agent would: the demo user
// connects two sandbox accounts, and the agent lists its tools, reads each account's own
// contacts, and is told to choose when it names no account.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { connectSandboxAccount, startDemoServer } from './harness.js';

let server;
let client;
const accounts = {};

async function connectAgent(token) {
  const agent = new Client({ name: 'patchbay-test-agent', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${server.base}/projects/${server.projectId}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await agent.connect(transport);
  return agent;
}

const text = (result) => result.content.map((block) => block.text).join('\n');
const contactNames = (result) => result.structuredContent.contacts.map((contact) => contact.name);

before(async () => {
  server = await startDemoServer();
  accounts.ada = await connectSandboxAccount(server, 'acct_ada');
  accounts.grace = await connectSandboxAccount(server, 'acct_grace');
  client = await connectAgent(server.token);
});

after(async () => {
  if (client) await client.close();
  if (server) server.stop();
});

test('tools/list gives the sandbox actions, each with credentialId, and list_accounts', async () => {
  const { tools } = await client.listTools();
  const names = tools.map((tool) => tool.name);
  assert.ok(names.includes('list_accounts'), names.join(', '));
  for (const action of ['SANDBOX_LIST_CONTACTS', 'SANDBOX_CREATE_CONTACT', 'SANDBOX_GET_CONTACT']) {
    assert.ok(names.includes(action), `${action} in ${names.join(', ')}`);
  }
  const create = tools.find((tool) => tool.name === 'SANDBOX_CREATE_CONTACT');
  assert.equal(create.inputSchema.type, 'object');
  assert.deepEqual(create.inputSchema.required, ['name']);
  assert.equal(create.inputSchema.properties.credentialId.type, 'string');
  const list = tools.find((tool) => tool.name === 'SANDBOX_LIST_CONTACTS');
  assert.equal(list.annotations.readOnlyHint, true);
});

test('list_accounts names both accounts of the integration', async () => {
  const result = await client.callTool({ name: 'list_accounts', arguments: { integration: 'sandbox' } });
  assert.equal(result.isError, false);
  const listed = result.structuredContent.accounts.map((account) => [account.credentialId, account.name]);
  assert.deepEqual(listed, [
    [accounts.ada, 'Ada Lovelace'],
    [accounts.grace, 'Grace Hopper'],
  ]);
});

test('one action called as account A, then as account B, reads each account\'s own data', async () => {
  const asAda = await client.callTool({ name: 'SANDBOX_LIST_CONTACTS', arguments: { credentialId: accounts.ada } });
  assert.equal(asAda.isError, false, text(asAda));
  assert.deepEqual(contactNames(asAda), ['Charles Babbage', 'Mary Somerville']);

  const asGrace = await client.callTool({ name: 'SANDBOX_LIST_CONTACTS', arguments: { credentialId: accounts.grace } });
  assert.deepEqual(contactNames(asGrace), ['Howard Aiken', 'Jean Sammet']);

  const created = await client.callTool({
    name: 'SANDBOX_CREATE_CONTACT',
    arguments: { credentialId: accounts.grace, name: 'Alan Turing' },
  });
  assert.equal(created.isError, false, text(created));
  // The demo's welcome-contact workflow may already have renamed it "Alan Turing (welcomed)".
  const isTuring = (name) => name.startsWith('Alan Turing');
  const again = await client.callTool({ name: 'SANDBOX_LIST_CONTACTS', arguments: { credentialId: accounts.grace } });
  assert.ok(contactNames(again).some(isTuring), contactNames(again).join(', '));
  const adaAgain = await client.callTool({ name: 'SANDBOX_LIST_CONTACTS', arguments: { credentialId: accounts.ada } });
  assert.ok(!contactNames(adaAgain).some(isTuring), contactNames(adaAgain).join(', '));
});

test('without credentialId and with two accounts, the error says which accounts exist, by name', async () => {
  const result = await client.callTool({ name: 'SANDBOX_LIST_CONTACTS', arguments: {} });
  assert.equal(result.isError, true);
  const message = text(result);
  assert.match(message, /2 Sandbox CRM accounts/);
  assert.match(message, /"Ada Lovelace" \(credentialId [0-9a-f-]{36}\)/);
  assert.match(message, /"Grace Hopper" \(credentialId [0-9a-f-]{36}\)/);
  assert.match(message, /credentialId/);
});

test('bad arguments, unknown accounts and a missing token are refused clearly', async () => {
  const bad = await client.callTool({ name: 'SANDBOX_CREATE_CONTACT', arguments: { credentialId: accounts.ada, name: 7 } });
  assert.equal(bad.isError, true);
  assert.match(text(bad), /input\/name/);
  const unknown = await client.callTool({
    name: 'SANDBOX_LIST_CONTACTS',
    arguments: { credentialId: '00000000-0000-4000-8000-000000000000' },
  });
  assert.equal(unknown.isError, true);
  assert.match(text(unknown), /No Sandbox CRM account with credentialId/);
  await assert.rejects(() => connectAgent('not-a-token'));
});
