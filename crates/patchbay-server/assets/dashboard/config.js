// The configuration in force: validate a new document with its changes shown, apply it, roll
// back to an earlier one; and the signing keys of user tokens.

import { api, projectPath, SignedOut } from './api.js';
import { DIFF_MARK, lineDiff } from './diff.js';
import { changeButton, confirmChange, h, say, table, when } from './dom.js';

function planSummary(plan) {
  const part = (label, changes) => {
    const items = Object.entries(changes ?? {}).filter(([, list]) => Array.isArray(list) && list.length).map(([kind, list]) => `${kind}: ${list.join(', ')}`);
    return items.length ? h('li', {}, `${label}: ${items.join('; ')}`) : null;
  };
  const deletions = (plan.deletedAccounts ?? []).map((account) => `${account.integration} account ${account.credentialId}`);
  const items = [
    plan.settingsChanged ? h('li', {}, 'Settings change') : null,
    part('Integrations', plan.integrations),
    part('Workflows', plan.workflows),
    deletions.length ? h('li', { class: 'error' }, `Accounts deleted: ${deletions.join(', ')}`) : null,
  ].filter(Boolean);
  return items.length ? h('ul', {}, items) : h('p', {}, 'Applying it changes nothing.');
}

export async function viewConfig({ projectId }) {
  const [document, versions, keys] = await Promise.all([
    api('GET', projectPath(projectId, '/config')),
    api('GET', projectPath(projectId, '/config/versions')),
    api('GET', projectPath(projectId, '/signing-keys')),
  ]);
  const current = JSON.stringify(document, null, 2);
  const editor = h('textarea', { id: 'config-editor', name: 'document', spellcheck: 'false', 'aria-describedby': 'config-help' }, current);
  const outcome = h('div', { id: 'config-outcome', 'aria-live': 'polite' });
  const apply = h('button', { id: 'config-apply', type: 'button', class: 'danger', disabled: true }, 'Apply');
  const validate = async () => {
    outcome.replaceChildren(h('p', { class: 'muted' }, 'Validating…'));
    apply.disabled = true;
    try {
      const plan = await api('PUT', projectPath(projectId, '/config'), { query: { dryRun: 'true' }, text: editor.value });
      const diff = lineDiff(current, editor.value);
      outcome.replaceChildren(
        h('h3', {}, 'What applying it changes'), planSummary(plan),
        h('h3', {}, 'Changes to the document'),
        h('pre', { class: 'diff', tabindex: 0, 'aria-label': 'Changes to the document' }, diff.map(([kind, line]) => h('span', { class: kind }, `${DIFF_MARK[kind]} ${line}`))));
      apply.disabled = false;
    } catch (error) {
      if (!(error instanceof SignedOut)) outcome.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Not valid: ${error.message}`));
    }
  };
  editor.addEventListener('input', () => { apply.disabled = true; });
  apply.addEventListener('click', async () => {
    if (!(await confirmChange('Apply this configuration to the project now?', 'Apply'))) return;
    try {
      const applied = await api('PUT', projectPath(projectId, '/config'), { text: editor.value });
      say(`Applied: version ${applied.version}.`);
      window.dispatchEvent(new Event('dashboard:changed'));
    } catch (error) {
      if (!(error instanceof SignedOut)) outcome.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Not applied: ${error.message}`));
    }
  });
  const kid = h('input', { id: 'key-kid', name: 'kid' });
  const pem = h('textarea', { id: 'key-pem', name: 'publicKeyPem', required: true, class: 'short' });
  const addKey = h('form', {}, h('label', { for: 'key-kid' }, 'Key id (kid, optional)'), kid, h('label', { for: 'key-pem' }, 'Public key (PEM)'), pem, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add signing key')));
  addKey.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!(await confirmChange('Add this public key? User tokens signed with its private key will be accepted.', 'Add signing key'))) return;
    try {
      await api('POST', projectPath(projectId, '/signing-keys'), { json: { publicKeyPem: pem.value, ...(kid.value ? { kid: kid.value } : {}) } });
      say('Signing key added.');
      window.dispatchEvent(new Event('dashboard:changed'));
    } catch (error) {
      if (!(error instanceof SignedOut)) say(`Add signing key failed: ${error.message}`);
    }
  });
  return {
    title: 'Configuration',
    body: [
      h('h2', {}, 'The document in force'),
      h('p', { id: 'config-help', class: 'muted' }, 'Edit it here (JSON or YAML), validate to see what would change, then apply. Secrets show as ******** and applying them so keeps them.'),
      h('label', { for: 'config-editor' }, 'Configuration document'), editor,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: validate }, 'Validate and show changes'), apply),
      outcome,
      table('Earlier versions, newest first', ['Version', 'Applied', ''], versions.data.map((version, i) => [
        String(version.version),
        when(version.dateApplied),
        i === 0 ? 'in force' : h('button', { type: 'button', class: 'quiet', onclick: () => { editor.value = JSON.stringify(version.document, null, 2); editor.focus(); validate(); } }, `Roll back to version ${version.version}`),
      ]), 'no document applied yet.'),
      h('h2', {}, 'Signing keys (verify user tokens)'),
      table('Signing keys', ['Key id', 'Algorithm', 'Added', 'State'], keys.data.map((key) => [
        h('code', {}, key.kid), key.algorithm, when(key.dateCreated),
        key.dateRevoked ? `revoked ${when(key.dateRevoked)}` : changeButton(`Revoke ${key.kid}`, `Revoke the signing key ${key.kid}? User tokens signed with it stop working at once.`,
          () => api('DELETE', projectPath(projectId, `/signing-keys/${encodeURIComponent(key.kid)}`))),
      ]), 'none.'),
      addKey,
    ],
  };
}
