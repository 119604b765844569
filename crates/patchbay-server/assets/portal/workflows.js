// The chosen configuration's workflows: a switch each, the help text the project gave it, and
// its own settings once it is enabled. The list is rebuilt only for another account or
// configuration; otherwise the switches follow the state in place, so focus and typing survive.

import { paragon } from '../sdk.js';

import { describe, el, labelFor, say, view } from './dom.js';
import { clearErrors, settingField, showError, valuesOf } from './fields.js';
import { announceChange, attempt } from './host.js';
import { selection, state } from './state.js';

/** The workflows the user may see, in the order the project chose, each with its help text. */
function shownWorkflows() {
  const all = state.meta.workflows || [];
  const listed = state.meta.portal && state.meta.portal.workflows;
  if (!Array.isArray(listed)) return all.map((workflow) => ({ workflow, help: null }));
  return listed
    .map((entry) => ({ workflow: all.find((w) => w.id === entry.id), help: entry.help || null }))
    .filter((entry) => entry.workflow);
}

export function renderWorkflows(credential, configuration, key) {
  state.workflowsShownFor = key;
  state.workflows = new Map();
  const chosen = configuration.workflowSettings || configuration.configuredWorkflows || {};
  const shown = shownWorkflows();
  view.noWorkflows.hidden = shown.length > 0;
  view.workflowList.replaceChildren(
    ...shown.map(({ workflow, help }) => workflowItem(credential, configuration, workflow, help, chosen[workflow.id])),
  );
}

function isEnabled(workflow, chosen) {
  return chosen ? Boolean(chosen.enabled) : Boolean(workflow.defaultEnabled);
}

/** The same list, another state: the switches follow the configuration without being rebuilt. */
export function updateWorkflows(configuration) {
  const chosen = configuration.workflowSettings || configuration.configuredWorkflows || {};
  for (const workflow of shownWorkflows().map((entry) => entry.workflow)) {
    const shown = state.workflows.get(workflow.id);
    if (!shown || shown.pending) continue;
    shown.box.checked = isEnabled(workflow, chosen[workflow.id]);
    if (shown.form) shown.form.hidden = !shown.box.checked;
  }
}

function workflowItem(credential, configuration, workflow, help, chosen) {
  const name = workflow.description || workflow.id;
  const id = `workflow-${workflow.id}`;
  const box = el('input', { type: 'checkbox', id, checked: isEnabled(workflow, chosen) });
  box.setAttribute('role', 'switch');
  box.dataset.workflowId = workflow.id;
  const item = el('li', { className: 'workflow' }, el('div', { className: 'switch-row' }, box, labelFor(id, name)));
  item.dataset.workflowId = workflow.id;
  if (help) {
    const helpText = el('p', { className: 'field-help workflow-help', id: `${id}-help`, textContent: help });
    describe(box, helpText.id);
    item.append(helpText);
  }
  const shown = { box, form: undefined, fields: new Map(), settings: [], pending: false };
  const inputs = workflow.inputs || [];
  if (inputs.length) {
    // A workflow's own settings, shown once it is enabled.
    const values = (chosen && chosen.settings) || {};
    const scope = {
      path: `workflowSettings.${workflow.id}.settings`,
      idPrefix: `input-${workflow.id}--`,
      workflowId: workflow.id,
      credentialId: credential.id,
      registry: shown.fields,
    };
    shown.settings = inputs.map((setting) => ({ setting, field: settingField(setting, values[setting.id], scope) }));
    const save = el('button', { type: 'submit', className: 'primary', textContent: 'Save workflow settings' });
    save.setAttribute('aria-label', `Save workflow settings for ${name}`);
    const form = el(
      'form',
      { className: 'stack', noValidate: true, hidden: !box.checked },
      ...shown.settings.map(({ field }) => field.wrapper),
      el('div', { className: 'row' }, save),
    );
    form.setAttribute('aria-label', `Settings of ${name}`);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      saveWorkflowSettings(credential.id, configuration, workflow.id, shown);
    });
    shown.form = form;
    item.append(form);
  }
  box.addEventListener('change', () => toggleWorkflow(credential.id, configuration, workflow.id, shown));
  state.workflows.set(workflow.id, shown);
  return item;
}

function forWhom(configuration) {
  return configuration && configuration.id && !configuration.isDefault ? 'this configuration' : 'this account';
}

async function toggleWorkflow(credentialId, configuration, workflowId, shown) {
  const { box } = shown;
  const enabled = box.checked;
  const call = enabled ? paragon.enableWorkflow : paragon.disableWorkflow;
  shown.pending = true;
  if (shown.form) shown.form.hidden = !enabled;
  const failed = await attempt(call(workflowId, selection(credentialId, configuration)), 'Saving…', () => {
    say(enabled ? `Workflow enabled for ${forWhom(configuration)}.` : `Workflow disabled for ${forWhom(configuration)}.`);
    announceChange('onWorkflowChange', {
      workflowId,
      credentialId,
      configurationId: configuration.id,
      workflowStateChange: { enabled },
    });
  });
  shown.pending = false;
  if (failed) {
    box.checked = !enabled;
    if (shown.form) shown.form.hidden = !box.checked;
  }
}

async function saveWorkflowSettings(credentialId, configuration, workflowId, shown) {
  clearErrors(shown.fields);
  const failed = await attempt(
    paragon.updateWorkflowUserSettings(state.type, workflowId, valuesOf(shown.settings), selection(credentialId, configuration)),
    'Saving…',
    () => {
      say('Workflow settings saved.');
      announceChange('onWorkflowChange', {
        workflowId,
        credentialId,
        configurationId: configuration.id,
        workflowStateChange: { settings: valuesOf(shown.settings) },
      });
    },
  );
  if (failed) showError(shown.fields, failed);
}
