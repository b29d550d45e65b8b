// Building DOM and SVG from data without innerHTML: every text goes through a text node, so names coming from the
// API can never become markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** h('button', { class: 'x', onclick }, 'text', child...) */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function $(selector, root = document) {
  const el = root.querySelector(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  return el;
}

/**
 * Replaces the children of `container` and gives the focus back to the element with the same `data-key` that had it,
 * so a periodic refresh never throws a keyboard user out of a table.
 */
export function replaceKeepingFocus(container, ...children) {
  const active = document.activeElement;
  const key = active instanceof Element && container.contains(active) ? active.getAttribute('data-key') : null;
  container.replaceChildren(...children.flat());
  if (key) container.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

/**
 * A data table: `headers` are column titles (strings, or [title, class]), `rows` the body rows. Every body cell gets
 * its column's title as `data-label`, so narrow screens can show rows as labelled cards.
 */
export function gridTable({ id, caption, headers, rows, className = 'grid' }) {
  const table = h(
    'table',
    { class: className, id },
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((t) => (Array.isArray(t) ? h('th', { scope: 'col', class: t[1] }, t[0]) : h('th', { scope: 'col' }, t))))),
    h('tbody', {}, rows),
  );
  return labelCells(table);
}

function labelCells(table) {
  const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent);
  for (const tr of table.querySelectorAll('tbody tr')) {
    const cells = [...tr.children];
    if (cells.length !== heads.length) continue;
    cells.forEach((c, i) => {
      if (!heads[i]) return;
      c.setAttribute('data-label', heads[i]);
      // One value box per cell, so the card layout puts the label on the left and the value on the right.
      const v = document.createElement('div');
      v.className = 'v';
      v.append(...c.childNodes);
      c.append(v);
    });
  }
  return table;
}
