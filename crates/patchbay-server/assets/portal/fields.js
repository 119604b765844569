// One form control per setting type, used alike for the integration's settings and a workflow's
// own: each builder answers `{wrapper, controls, focus, read()}`, and the registry it joins maps
// the setting's API path to it, so a 422 from the server can be shown next to the right field.

import { describe, el, labelFor } from './dom.js';
import { fieldOptions, optionList } from './options.js';
import { state } from './state.js';

/** How the API shows a password setting that has a value; sending it back changes nothing. */
const MASK = '********';
/** A field_mapping lists the integration's fields whole, up to this many pages. */
const MAPPING_PAGES = 20;

/**
 * A form field for one setting: `{wrapper, controls, focus, read(), error}`. `read()` is the
 * value to save, or undefined to leave the stored one as it is. `scope` says where the
 * setting lives: its API path (for the server's `meta.field`), its element ids, its workflow.
 */
export function settingField(setting, value, scope) {
  const id = `${scope.idPrefix}${setting.id}`;
  const current = value ?? setting.default;
  const build = BUILDERS[setting.type] || inputField;
  const field = build(setting, current, id, scope);
  if (setting.description) {
    const help = el('span', { className: 'field-help', id: `${id}-help`, textContent: setting.description });
    field.wrapper.append(help);
    for (const control of field.described || field.controls) describe(control, help.id);
  }
  field.error = el('span', { className: 'field-error', id: `${id}-error`, hidden: true });
  field.wrapper.append(field.error);
  field.wrapper.dataset.setting = setting.id;
  scope.registry.set(`${scope.path}.${setting.id}`, field);
  for (const [suffix, part] of field.parts || []) {
    scope.registry.set(`${scope.path}.${setting.id}.${suffix}`, { ...part, error: field.error, described: part.controls });
  }
  return field;
}

function titleOf(setting) {
  return setting.required ? `${setting.title} (required)` : setting.title;
}

function inputField(setting, value, id) {
  const control = el('input', {
    id,
    name: setting.id,
    type: { number: 'number', email: 'email', url: 'url' }[setting.type] || 'text',
    required: Boolean(setting.required),
    value: value === undefined || value === null ? '' : String(value),
  });
  if (setting.pattern) control.pattern = setting.pattern;
  if (setting.type === 'email') control.autocomplete = 'email';
  return {
    wrapper: el('div', { className: 'field' }, labelFor(id, titleOf(setting)), control),
    controls: [control],
    focus: control,
    read: () => {
      if (control.value === '') return undefined;
      return setting.type === 'number' ? Number(control.value) : control.value;
    },
  };
}

function textareaField(setting, value, id) {
  const control = el('textarea', {
    id,
    name: setting.id,
    rows: 4,
    required: Boolean(setting.required),
    value: value === undefined || value === null ? '' : String(value),
  });
  return {
    wrapper: el('div', { className: 'field' }, labelFor(id, titleOf(setting)), control),
    controls: [control],
    focus: control,
    read: () => (control.value === '' ? undefined : control.value),
  };
}

/** A secret: its stored value never reaches the page; a set one shows as the mask, kept unless replaced. */
function passwordField(setting, value, id) {
  const isSet = typeof value === 'string' && value !== '';
  const control = el('input', {
    id,
    name: setting.id,
    type: 'password',
    autocomplete: 'new-password',
    required: Boolean(setting.required) && !isSet,
    value: isSet ? MASK : '',
  });
  const wrapper = el('div', { className: 'field' }, labelFor(id, titleOf(setting)), control);
  if (isSet) {
    const note = el('span', {
      className: 'field-note',
      id: `${id}-set`,
      textContent: 'A value is saved. It is never shown; type a new one to replace it.',
    });
    describe(control, note.id);
    wrapper.append(note);
  }
  control.addEventListener('focus', () => {
    if (control.value === MASK) control.select();
  });
  return {
    wrapper,
    controls: [control],
    focus: control,
    // The mask, or nothing typed: the stored value stays.
    read: () => (control.value === '' || control.value === MASK ? undefined : control.value),
  };
}

function checkboxField(setting, value, id) {
  const control = el('input', { id, name: setting.id, type: 'checkbox', checked: Boolean(value) });
  let wrapper;
  if (setting.type === 'switch') {
    control.setAttribute('role', 'switch');
    wrapper = el('div', { className: 'field switch-row' }, control, labelFor(id, setting.title));
  } else {
    const label = el('label', { className: 'checkbox', htmlFor: id }, control, document.createTextNode(setting.title));
    wrapper = el('div', { className: 'field' }, label);
  }
  return { wrapper, controls: [control], focus: control, read: () => control.checked };
}

function selectField(setting, value, id) {
  const control = el('select', { id, name: setting.id, required: Boolean(setting.required) });
  control.append(
    el('option', { value: '', textContent: 'Choose…' }),
    ...(setting.options || []).map((option) => el('option', { value: option, textContent: option })),
  );
  control.value = value === undefined || value === null ? '' : String(value);
  return {
    wrapper: el('div', { className: 'field' }, labelFor(id, titleOf(setting)), control),
    controls: [control],
    focus: control,
    read: () => (control.value === '' ? undefined : control.value),
  };
}

function dynamicSelectField(setting, value, id, scope) {
  const options = optionList({
    id,
    title: setting.title,
    required: setting.required,
    value,
    load: (page) => page.probe || fieldOptions(setting, scope, page),
  });
  return { ...options, wrapper: el('div', { className: 'field' }, options.wrapper) };
}

/** Two linked choices: the second's options are listed for the first one chosen. */
function comboField(setting, value, id, scope) {
  const current = value && typeof value === 'object' ? value : {};
  const secondTitle = (setting.dependent && setting.dependent.title) || 'Then';
  let second;
  const first = optionList({
    id,
    title: setting.title,
    required: setting.required,
    value: current.main,
    load: (page) => page.probe || fieldOptions(setting, scope, page),
    onChange: () => second.reset(),
  });
  second = optionList({
    id: `${id}-dependent`,
    title: secondTitle,
    value: current.dependent,
    waiting: `Choose ${setting.title} first.`,
    load: (page) => (first.read() ? page.probe || fieldOptions(setting, scope, { ...page, main: first.read() }) : null),
  });
  return {
    wrapper: el('div', { className: 'field combo' }, first.wrapper, second.wrapper),
    controls: [first.list, second.list],
    focus: first.list,
    parts: [
      ['main', { controls: [first.list], focus: first.list }],
      ['dependent', { controls: [second.list], focus: second.list }],
    ],
    read: () => (first.read() ? { main: first.read(), dependent: second.read() || '' } : undefined),
  };
}

/** One row per application field, each choosing one of the integration's fields. */
function fieldMappingField(setting, value, id, scope) {
  const current = value && typeof value === 'object' ? value : {};
  const rows = (setting.fields || []).map((appField) => {
    const selectId = `${id}-${appField.value}`;
    const select = el('select', { id: selectId });
    select.dataset.appField = appField.value;
    select.append(el('option', { value: '', textContent: 'Not mapped' }));
    const mapped = current[appField.value];
    if (typeof mapped === 'string' && mapped) {
      select.append(el('option', { value: mapped, textContent: mapped }));
      select.value = mapped;
    }
    return { appField, select, row: el('div', { className: 'mapping-row' }, labelFor(selectId, appField.label), select) };
  });
  const status = el('span', { className: 'field-note', id: `${id}-status`, textContent: 'Loading fields…' });
  status.setAttribute('aria-live', 'polite');
  const legend = el('legend', { textContent: titleOf(setting) });
  const fieldset = el('fieldset', { className: 'field mapping', id }, legend, ...rows.map((r) => r.row), status);
  for (const { select } of rows) describe(select, status.id);

  (async () => {
    const options = [];
    let cursor;
    try {
      for (let page = 0; page < MAPPING_PAGES; page += 1) {
        const answer = await fieldOptions(setting, scope, { cursor });
        options.push(...answer.data);
        cursor = answer.nextCursor;
        if (!cursor) break;
      }
    } catch (error) {
      status.textContent = `The fields could not be loaded: ${error.message}`;
      return;
    }
    for (const { select } of rows) {
      const chosen = select.value;
      select.replaceChildren(
        el('option', { value: '', textContent: 'Not mapped' }),
        ...options.map((option) => el('option', { value: String(option.value), textContent: String(option.label) })),
      );
      if (chosen && !options.some((option) => String(option.value) === chosen)) {
        select.append(el('option', { value: chosen, textContent: chosen }));
      }
      select.value = chosen;
    }
    status.textContent = `${options.length} field${options.length === 1 ? '' : 's'} of ${state.meta.name} to choose from.`;
  })();

  return {
    wrapper: fieldset,
    controls: rows.map((r) => r.select),
    described: [fieldset, ...rows.map((r) => r.select)],
    focus: rows.length ? rows[0].select : fieldset,
    parts: rows.map(({ appField, select }) => [appField.value, { controls: [select], focus: select }]),
    read: () => {
      const mapping = {};
      for (const { appField, select } of rows) if (select.value) mapping[appField.value] = select.value;
      return Object.keys(mapping).length ? mapping : undefined;
    },
  };
}

const BUILDERS = {
  text: inputField,
  number: inputField,
  email: inputField,
  url: inputField,
  textarea: textareaField,
  password: passwordField,
  boolean: checkboxField,
  switch: checkboxField,
  select: selectField,
  dynamic_select: dynamicSelectField,
  combo: comboField,
  field_mapping: fieldMappingField,
};

export function valuesOf(settings) {
  const values = {};
  for (const { setting, field } of settings) {
    const value = field.read();
    if (value !== undefined) values[setting.id] = value;
  }
  return values;
}

export function clearErrors(registry) {
  for (const field of registry.values()) {
    if (!field.error || field.error.hidden) continue;
    field.error.hidden = true;
    field.error.textContent = '';
    for (const control of field.controls) {
      control.removeAttribute('aria-invalid');
      describe(control, field.error.id, false);
    }
  }
}

/**
 * Shows the server's refusal next to the field `meta.field` names (`sharedSettings.<id>`,
 * `workflowSettings.<workflow>.settings.<id>`, or a part of one), and moves focus there.
 */
export function showError(registry, error) {
  let path = error && error.meta && typeof error.meta.field === 'string' ? error.meta.field : '';
  while (path && !registry.has(path)) path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
  const field = path && registry.get(path);
  if (!field) return false;
  // Next to the field its path says nothing more: "…sharedSettings.x: expected a number" reads "expected a number".
  const named = `${error.meta.field}: `;
  const at = error.message.indexOf(named);
  const reason = at >= 0 ? error.message.slice(at + named.length) : error.message;
  field.error.textContent = reason.charAt(0).toUpperCase() + reason.slice(1);
  field.error.hidden = false;
  for (const control of field.controls) {
    control.setAttribute('aria-invalid', 'true');
    describe(control, field.error.id);
  }
  field.focus.focus();
  return true;
}
