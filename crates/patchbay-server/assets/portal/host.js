// Telling the host page what happened, by postMessage: the SDK that opened the portal turns these
// messages into `connect()`'s callbacks (onInstall, onWorkflowChange, onError…) and closes the
// frame when asked. attempt() lives here because an action's failure goes to both: the status
// line, and onError.

import { say } from './dom.js';
import { state } from './state.js';

export function toParent(message) {
  if (window.parent === window) return;
  // Before the host introduced itself only messages without secrets are sent.
  window.parent.postMessage(message, state.parentOrigin || '*');
}

export function announceChange(event, payload) {
  toParent({ type: 'patchbay:portal-change', event, payload: { integrationType: state.type, ...payload } });
}

/** A failed action: `connect()`'s `onError` hears it (the message carries no secret). */
export function announceError(error) {
  toParent({
    type: 'patchbay:portal-error',
    error: { message: error.message, code: error.code, status: error.status, meta: error.meta },
  });
}

export function requestClose() {
  toParent({ type: 'patchbay:portal-close' });
}

/** Runs an SDK call, reporting progress and failure in the status line. */
export async function attempt(promise, pending, onDone) {
  say(pending);
  try {
    const result = await promise;
    onDone(result);
  } catch (error) {
    say(error.message, true);
    announceError(error);
    return error;
  }
  return undefined;
}
