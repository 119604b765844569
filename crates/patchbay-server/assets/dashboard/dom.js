// Building the page: elements from data (never from HTML strings, so data cannot become
// markup), tables, the status line, and changes confirmed in a dialog first.

import { SignedOut } from './api.js';

const statusBox = document.getElementById('status');

/** An element with attributes (`on…` become listeners) and children (strings become text). */
export function h(tag, props, ...children) {
  return fill(document.createElement(tag), props, children);
}

/** An SVG element, as `h` builds HTML ones. */
export function s(tag, props, ...children) {
  return fill(document.createElementNS('http://www.w3.org/2000/svg', tag), props, children);
}

function fill(element, props, children) {
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'text') element.textContent = value;
    else element.setAttribute(name === 'className' ? 'class' : name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

// Users' metadata names them as their tokens do: `name` or Paragon's `Name`.
export const displayName = (meta) => meta.name ?? meta.Name;
export const displayEmail = (meta) => meta.email ?? meta.Email;

export const link = (hash, text, props = {}) => h('a', { href: `#${hash}`, ...props }, text);
export const badge = (text) => h('span', { class: `badge ${text}` }, text);
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
export const json = (value) => h('pre', { tabindex: 0 }, JSON.stringify(value ?? null, null, 2));

/** A table in a region that scrolls sideways on a narrow screen, reachable by keyboard. */
export function table(caption, headings, rows, empty = 'Nothing yet.') {
  if (rows.length === 0) return h('p', { class: 'muted' }, `${caption}: ${empty}`);
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headings.map((heading) => h('th', { scope: 'col', class: heading.num ? 'num' : null }, heading.text ?? heading)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, i) => h('td', { class: headings[i].num ? 'num' : null }, cell)))))));
}

export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([term, value]) => [h('dt', {}, term), h('dd', {}, value ?? '—')]));
}

export function say(message) {
  statusBox.textContent = message;
  statusBox.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { statusBox.hidden = true; }, 5000);
}

/** Asks before a change; resolves true when the user confirms. */
export function confirmChange(text, action) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-button').textContent = action;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
  });
}

/**
 * A button that asks, does `change`, says how it went, and has the view drawn again (the
 * `dashboard:changed` event the page listens to).
 */
export function changeButton(label, question, change, { danger = true, done } = {}) {
  const button = h('button', { type: 'button', class: danger ? 'danger' : null }, label);
  button.addEventListener('click', async () => {
    if (!(await confirmChange(question, label))) return;
    button.disabled = true;
    try {
      const result = await change();
      say(done ? done(result) : `${label}: done.`);
      window.dispatchEvent(new Event('dashboard:changed'));
    } catch (error) {
      if (!(error instanceof SignedOut)) say(`${label} failed: ${error.message}`);
      button.disabled = false;
    }
  });
  return button;
}
