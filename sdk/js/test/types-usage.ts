// Compiled (never run) by `tsc --noEmit` in scripts/test-js: the
// declarations must accept Paragon-style code and reject wrong options.

import paragon, { createParagon, ParagonError, type AuthenticatedConnectUser } from '../paragon.js';

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
  // @ts-expect-error: not an SDK event.
  paragon.subscribe('onSomething', () => undefined);
  // @ts-expect-error: allowMultipleCredentials is a boolean.
  await paragon.installIntegration('slack', { allowMultipleCredentials: 'yes' });
}

void example;
