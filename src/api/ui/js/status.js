// The page's one aria-live status line, and long operations: the button is disabled and shows a spinner and the
// status says what is happening until the request completes.
import { $, h } from './dom.js';

export function say(text, kind = 'info') {
  const el = $('#status');
  el.textContent = text;
  el.dataset.kind = kind;
}

/** Keys of operations in flight, so a table re-rendered meanwhile draws their buttons busy too. */
export const pending = new Set();

export function busy(button, on) {
  if (!button) return;
  button.disabled = on;
  button.setAttribute('aria-busy', on ? 'true' : 'false');
  const spin = button.querySelector('.spinner');
  if (on && !spin) button.prepend(h('span', { class: 'spinner', 'aria-hidden': 'true' }));
  if (!on && spin) spin.remove();
}

/**
 * Runs `fn` as a long operation: `what` ('Creating VM web-1') goes to the status line while it runs, `done` after.
 * Resolves with fn's result, or undefined after the error was reported (to `onError` too, e.g. to mark a field).
 */
export async function operation({ key, button, what, done, onError }, fn) {
  if (key) pending.add(key);
  busy(button, true);
  say(`${what}…`, 'busy');
  const t0 = performance.now();
  try {
    const result = await fn();
    say(`${done ?? `${what}: done`} (${((performance.now() - t0) / 1000).toFixed(1)} s)`, 'ok');
    return result;
  } catch (e) {
    onError?.(e);
    say(`${what} failed: ${e.message}`, 'error');
    return undefined;
  } finally {
    if (key) pending.delete(key);
    busy(button, false);
    if (key) document.querySelectorAll(`[data-op="${CSS.escape(key)}"]`).forEach((b) => busy(b, false));
  }
}
