// Compiled (never run) by `tsc --noEmit` in scripts/test-js: the
// declarations must accept Paragon-style code and reject wrong options.

import paragon, {
  createParagon,
  ParagonError,
  OAuthBlockedError,
  ProxyRequestError,
  UserNotAuthenticatedError,
  type AuthenticatedConnectUser,
  type InstallFlowStage,
} from '../paragon.js';

async function example(): Promise<void> {
  paragon.configureGlobal({ host: 'https://patchbay.example' });
  await paragon.authenticate('project-id', 'token');
  const user = paragon.getUser();
  if (user.authenticated) {
    const accounts = (user as AuthenticatedConnectUser).integrations.slack.allCredentials;
    const second = accounts[1].id;
    await paragon.request<{ ok: boolean }>('slack', '/chat.postMessage', {
      method: 'POST',
      body: { text: 'hi' },
      selectedCredentialId: second,
    });
    await paragon.workflow('sync', { body: {}, query: { page: '1' }, selectedCredentialId: second });
    await paragon.uninstallIntegration('slack', { selectedCredentialId: second });
  }
  const result = await paragon.installIntegration('slack', { allowMultipleCredentials: true, showPortalAfterInstall: true });
  paragon.connect('slack', { selectedCredentialId: result.credentialId, onClose: () => undefined });
  const stop = paragon.subscribe('onWorkflowChange', (event) => event.workflowStateChange.enabled);
  stop();
  const metadata = paragon.getIntegrationMetadata('slack');
  if (metadata) metadata.userSettings.map((setting) => setting.id);
  await paragon.updateIntegrationUserSettings('slack', { channel: 'general' }, { selectedCredentialId: 'ext:work' });
  await paragon.enableWorkflow('sync', { selectedCredentialId: 'ext:work' });
  await paragon.event('Contact Created', { name: 'Ada' });
  await paragon.setUserMetadata({ Name: 'Ada' });
  const other = createParagon({ host: 'https://other.example' });
  try {
    await other.refreshUser();
  } catch (error) {
    if (error instanceof ParagonError) console.log(error.code, error.status);
  }
  await paragon.authenticate('project-id', 'token', { metadata: { Name: 'Ada' } });
  paragon.connect('slack', {
    onSuccess: (event, user) => console.log(event.credentialId, user.authenticated),
    onError: (error) => console.log(error.code),
    onOpen: () => undefined,
    onUninstall: (event) => event.credentialId,
    onWorkflowChange: (event) => event.workflowId,
  });
  paragon.closePortal();
  await paragon.installIntegration('slack', { overrideRedirectUrl: 'https://app.example/back', oauthTimeout: 30_000 });
  let stage: InstallFlowStage | undefined;
  paragon.installFlow.start('slack', {
    allowMultipleCredentials: true,
    externalId: 'work',
    onNext: (next) => {
      stage = next;
      if (next.stage === 'preOptions') paragon.installFlow.setPreOptions(Object.fromEntries(next.options.map((o) => [o.id, ''])));
      if (next.stage === 'postOptions') paragon.installFlow.setPostOptions({ [next.options[0].id]: 'x' });
    },
    onComplete: (result) => result.credentialId,
    onError: (error, context) => console.log(error.name, context.stage),
  });
  void stage;
  const config = paragon.getIntegrationConfig('slack');
  config.availableWorkflows.map((w) => w.id);
  config.availableUserSettings.map((s) => s.title);
  await paragon.updateWorkflowState({ sync: true }, { selectedCredentialId: 'ext:work' });
  const account = await paragon.getIntegrationAccount('slack', { selectedCredentialId: 'ext:work' });
  console.log(account.id, paragon.getIntegrationMetadata('slack')?.brandColor);
  const accepted = await paragon.event('Contact Created', { name: 'Ada' }, { selectedCredentialId: account.id });
  accepted.executionIds.map((id) => id.length);
  try {
    await paragon.request('slack', '/x');
  } catch (error) {
    if (error instanceof ProxyRequestError) console.log(error.status, error.body);
    if (error instanceof UserNotAuthenticatedError || error instanceof OAuthBlockedError) console.log(error.message);
  }
  paragon.logout();
  // @ts-expect-error: the token is never handed out.
  await paragon.getIntegrationAccount('slack', { includeAccountAuth: true });
  // @ts-expect-error: not an install-flow stage.
  const wrong: InstallFlowStage = { stage: 'accountType', done: false };
  void wrong;
  // @ts-expect-error: not an SDK event.
  paragon.subscribe('onSomething', () => undefined);
  // @ts-expect-error: allowMultipleCredentials is a boolean.
  await paragon.installIntegration('slack', { allowMultipleCredentials: 'yes' });

  // Configurations: several sets of settings and workflow choices for one account.
  const teamA = await paragon.createConfiguration({ credentialId: account.id, externalId: 'Team A', meta: { team: 'a' } });
  const named: string | null = teamA.externalId;
  void named;
  await paragon.updateConfiguration({ id: 'ext:Team A', credentialId: account.id, externalId: null });
  await paragon.updateIntegrationUserSettings('slack', { channel: 'team-a' }, { selectedConfigurationId: teamA.id });
  await paragon.updateWorkflowUserSettings('slack', 'sync', { folder: 'x' }, { selectedConfigurationId: 'ext:Team A' });
  await paragon.enableWorkflow('sync', { selectedConfigurationId: teamA.id });
  await paragon.workflow('sync', { selectedConfigurationId: teamA.id });
  await paragon.request('slack', '/x', { selectedConfigurationId: teamA.id });
  await paragon.event('Contact Created', {}, { selectedConfigurationId: teamA.id });
  paragon.connect('slack', { selectedConfigurationId: 'ext:Team A' });
  const page = await paragon.getFieldOptions({ integration: 'slack', field: 'channel', search: 'gen', cursor: null });
  page.data.map((option) => option.label + option.value);
  if (page.nextCursor) await paragon.getFieldOptions({ integration: 'slack', field: 'channel', cursor: page.nextCursor });
  const portal = paragon.getIntegrationMetadata('slack')?.portal;
  portal?.workflows.map((w) => w.help);
  await paragon.destroyConfiguration({ id: teamA.id, credentialId: account.id });
  // @ts-expect-error: a configuration belongs to one account: credentialId is required.
  await paragon.createConfiguration({ externalId: 'Team B' });
  // @ts-expect-error: getFieldOptions needs the setting's id.
  await paragon.getFieldOptions({ integration: 'slack' });
}

void example;
