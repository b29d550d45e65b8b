// Flows of one node in ovs-ofctl syntax, grouped by table under the pipeline's own table names and purposes
// (/ui/pipeline-tables.json, from src/pipeline/tables.ts), with packet and byte counters polled every 2 s while
// the view is open. Counters that moved since the last poll are marked.
import { api } from './api.js';
import { gridTable, h } from './dom.js';
import { bytes, clock, count } from './format.js';

export const POLL_MS = 2000;

let tables;
/** Table declarations, fetched once. */
export async function tableDecls() {
  if (!tables) {
    const res = await fetch('/ui/pipeline-tables.json');
    tables = res.ok ? new Map((await res.json()).tables.map((t) => [t.id, t])) : new Map();
  }
  return tables;
}

/** The counters are shown in their own columns: drop them from the text. */
export function flowText(text) {
  return text.replace(/\b(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]*,?\s*/g, '').trim();
}

function matches(text, filter) {
  const terms = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const t = text.toLowerCase();
  return terms.every((term) => t.includes(term));
}

const key = (f) => `${f.table}/${f.priority}/${flowText(f.text)}`;

export class FlowsView {
  constructor(container, meta) {
    this.container = container;
    this.meta = meta;
    this.node = undefined;
    this.filter = '';
    this.timer = undefined;
    this.generation = 0;
    this.last = new Map();
    this.flows = [];
  }

  /** Shows `node`'s flows and polls them until stop(). */
  async open(node) {
    this.stop();
    if (node !== this.node) {
      this.last = new Map();
      this.flows = [];
      this.container.replaceChildren();
    }
    this.node = node;
    if (!node) {
      this.meta.textContent = '';
      this.container.replaceChildren(h('p', { class: 'empty' }, 'Choose a node.'));
      return;
    }
    const generation = this.generation;
    const tick = async () => {
      await this.poll();
      if (generation === this.generation) this.timer = setTimeout(tick, POLL_MS);
    };
    this.timer = setTimeout(tick, 0);
  }

  stop() {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  setFilter(filter) {
    this.filter = filter;
    this.render(new Set());
  }

  async poll() {
    const node = this.node;
    try {
      const [res, decls] = await Promise.all([api('GET', `/nodes/${encodeURIComponent(node)}/flows`), tableDecls()]);
      if (node !== this.node) return;
      const moved = new Set();
      const now = new Map();
      for (const f of res.flows) {
        const k = key(f);
        const before = this.last.get(k);
        if (before !== undefined && before !== f.packets) moved.add(k);
        now.set(k, f.packets);
      }
      this.last = now;
      this.flows = res.flows;
      this.decls = decls;
      this.meta.textContent = `${res.flows.length} flows · updated ${clock()} · every ${POLL_MS / 1000} s`;
      this.render(moved);
    } catch (e) {
      if (node !== this.node) return;
      this.meta.textContent = `not updated (${clock()})`;
      this.container.replaceChildren(h('p', { class: 'error-box', role: 'alert' }, `Flows of ${node}: ${e.message}`));
    }
  }

  render(moved) {
    if (!this.node || !this.decls) return;
    const shown = this.flows.filter((f) => !this.filter || matches(flowText(f.text), this.filter));
    const ids = [...new Set(shown.map((f) => f.table))].sort((a, b) => a - b);
    if (ids.length === 0) {
      this.container.replaceChildren(h('p', { class: 'empty' }, this.filter ? `No flow of ${this.node} matches “${this.filter}”.` : `${this.node} has no flows.`));
      return;
    }
    this.container.replaceChildren(
      ...ids.map((id) => {
        const d = this.decls.get(id);
        const rows = shown.filter((f) => f.table === id).sort((a, b) => b.priority - a.priority);
        return h(
          'section',
          { class: 'flow-table', 'data-table': id, 'aria-labelledby': `table-${id}-title` },
          h('h2', { id: `table-${id}-title` }, `Table ${id}`, d ? ` · ${d.name}` : '', h('span', { class: 'hint' }, ` ${rows.length} flow${rows.length === 1 ? '' : 's'}`)),
          d ? h('p', { class: 'purpose' }, d.purpose, h('br'), h('span', { class: 'hint' }, `Miss: ${d.miss}`)) : null,
          h(
            'div',
            { class: 'scroll' },
            gridTable({
              className: 'grid flows',
              headers: ['Priority', ['Packets', 'num'], ['Bytes', 'num'], 'Flow (ovs-ofctl)'],
              rows: rows.map((f) =>
                h(
                  'tr',
                  { class: moved.has(key(f)) ? 'moved' : '' },
                  h('td', { class: 'num' }, String(f.priority)),
                  h('td', { class: 'num packets', title: String(f.packets) }, count(f.packets)),
                  h('td', { class: 'num bytes', title: `${f.bytes} bytes` }, bytes(f.bytes)),
                  h('td', {}, h('code', { class: 'flow-text' }, flowText(f.text))),
                ),
              ),
            }),
          ),
        );
      }),
    );
  }
}
