// Options a setting lists from the account's own API (dynamic_select, combo, field_mapping):
// fetched a page at a time through the SDK, and shown as a searchable list box with "Load more".

import { paragon } from '../sdk.js';

import { describe, el, labelFor } from './dom.js';
import { state } from './state.js';

/** A dynamic list reads on until it finds the stored choice (to show its label), up to this many pages. */
const FIND_CHOSEN_PAGES = 10;
const SEARCH_DELAY_MS = 300;

/** Options of a dynamic setting, a page at a time, listed as the account whose setting it is. */
export function fieldOptions(setting, scope, { search, cursor, main } = {}) {
  return paragon.getFieldOptions({
    integration: state.type,
    field: setting.id,
    workflowId: scope.workflowId,
    search,
    cursor,
    main,
    selectedCredentialId: scope.credentialId,
  });
}

/**
 * A searchable list of options from the account's API: a search box, a list box, "Load more".
 * `load({search, cursor})` answers a page; `load({probe: true})` is falsy when nothing can be
 * listed yet (`waiting` says why). `onChange(value)` hears the user's choice.
 */
export function optionList({ id, title, required, value, load, waiting, onChange }) {
  let chosen = value === undefined || value === null ? '' : String(value);
  const labels = new Map();
  let cursor = null;
  let searchText = '';
  let generation = 0;
  let timer;

  const label = labelFor(id, required ? `${title} (required)` : title);
  const search = el('input', { type: 'search', id: `${id}-search`, autocomplete: 'off', placeholder: 'Search…' });
  search.setAttribute('aria-label', `Search ${title}`);
  search.setAttribute('aria-controls', id);
  const list = el('select', { id, size: 5, required: Boolean(required) });
  const more = el('button', { type: 'button', textContent: 'Load more', hidden: true });
  more.setAttribute('aria-label', `Load more options for ${title}`);
  const status = el('span', { className: 'field-note', id: `${id}-status` });
  status.setAttribute('aria-live', 'polite');
  describe(list, status.id);

  /** Keeps the chosen value listed (and selected) even when the loaded page does not have it. */
  function keepChosen() {
    if (!chosen) return;
    if (![...list.options].some((option) => option.value === chosen)) {
      list.prepend(el('option', { value: chosen, textContent: labels.get(chosen) || chosen }));
    }
    list.value = chosen;
  }

  /** Lists the first page (`fresh`) or the next one; a first page without search reads on to the stored choice. */
  async function fetchPage(fresh) {
    clearTimeout(timer);
    const mine = ++generation;
    if (!load({ probe: true })) {
      list.replaceChildren();
      keepChosen();
      more.hidden = true;
      status.textContent = waiting || '';
      return;
    }
    status.textContent = 'Loading options…';
    let pages = fresh ? [] : null;
    let next = fresh ? undefined : cursor || undefined;
    for (let read = 0; ; read += 1) {
      let page;
      try {
        page = await load({ search: searchText || undefined, cursor: next });
      } catch (error) {
        if (mine !== generation) return;
        status.textContent = `The options could not be loaded: ${error.message}`;
        return;
      }
      if (mine !== generation) return;
      if (pages) pages.push(page);
      else pages = [page];
      next = page.nextCursor || undefined;
      const found = !chosen || pages.some((p) => p.data.some((option) => String(option.value) === chosen));
      if (!fresh || searchText || found || !next || read + 1 >= FIND_CHOSEN_PAGES) break;
    }
    if (fresh) list.replaceChildren();
    for (const option of pages.flatMap((p) => p.data)) {
      const optionValue = String(option.value);
      labels.set(optionValue, String(option.label));
      const listed = [...list.options].find((o) => o.value === optionValue);
      if (listed) listed.textContent = String(option.label);
      else list.append(el('option', { value: optionValue, textContent: String(option.label) }));
    }
    keepChosen();
    cursor = next || null;
    more.hidden = !cursor;
    const count = list.options.length;
    if (count === 0) status.textContent = searchText ? `Nothing matches “${searchText}”.` : 'There are no options.';
    else status.textContent = `${count} option${count === 1 ? '' : 's'}${cursor ? ', more can be loaded' : ''}.`;
  }

  search.addEventListener('input', () => {
    searchText = search.value.trim();
    clearTimeout(timer);
    timer = setTimeout(() => fetchPage(true), SEARCH_DELAY_MS);
  });
  search.addEventListener('keydown', (event) => {
    // Enter searches now instead of submitting the settings.
    if (event.key !== 'Enter') return;
    event.preventDefault();
    searchText = search.value.trim();
    fetchPage(true);
  });
  list.addEventListener('change', () => {
    chosen = list.value;
    if (onChange) onChange(chosen);
  });
  more.addEventListener('click', async () => {
    await fetchPage(false);
    if (more.hidden) list.focus();
  });

  const wrapper = el('div', { className: 'option-list' }, label, search, list, el('div', { className: 'row' }, more), status);
  fetchPage(true);
  return {
    wrapper,
    list,
    controls: [list],
    focus: list,
    read: () => chosen || undefined,
    /** Forgets the choice and lists again (a combo's second value after its first changed). */
    reset() {
      chosen = '';
      cursor = null;
      fetchPage(true);
    },
  };
}
