// Small pieces the views share: a usage meter and a button for a long operation.
import { h } from './dom.js';
import { pending } from './status.js';

/** A button for a long operation; drawn busy while an operation with the same key is in flight. */
export function opButton(label, key, onclick, { danger = false, ariaLabel, className } = {}) {
  const b = h('button', { type: 'button', class: ['small', danger && 'danger', className], 'data-key': key, 'data-op': key, 'aria-label': ariaLabel, onclick }, label);
  if (pending.has(key)) {
    b.disabled = true;
    b.setAttribute('aria-busy', 'true');
    b.prepend(h('span', { class: 'spinner', 'aria-hidden': 'true' }));
  }
  return b;
}

/** 'CPU 6 / 8' over a bar. */
export function meter(label, used, total, fmt) {
  const pct = total > 0 ? Math.min(100, Math.round((used / total) * 100)) : 0;
  return h(
    'div',
    { class: 'meter' },
    h('span', { class: 'meter-text' }, `${label} ${fmt(used)} / ${fmt(total)}`),
    h('meter', { min: 0, max: Math.max(total, 1), value: used, high: total * 0.85, optimum: 0, 'aria-label': `${label} used: ${fmt(used)} of ${fmt(total)}` }, `${pct}%`),
  );
}
