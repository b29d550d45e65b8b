// The UI's two palettes (src/api/ui/app.css) against WCAG 2.x AA: every text colour on every background it is drawn
// on >= 4.5:1, and what must be seen without being text (focus rings, field borders, the picture's links, status dots
// and subnet colours) >= 3:1 against what it sits on. Reads the palettes from the stylesheet itself, so the figures
// printed are the ones the browser gets; also checks that the palettes declare the same properties and that no
// colour is written outside them (one palette per theme).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uiAssetDir } from '../../src/api/routes/ui.js';
import { contrast } from '../helpers/contrast.js';

const CSS = readFileSync(join(uiAssetDir(), 'app.css'), 'utf8');
const THEMES = { light: /^:root \{([^}]*)\}/m, dark: /^:root\[data-theme='dark'\] \{([^}]*)\}/m } as const;
type Theme = keyof typeof THEMES;

function palette(theme: Theme): Map<string, string> {
  const block = THEMES[theme].exec(CSS)?.[1];
  if (!block) throw new Error(`no ${theme} palette in app.css`);
  return new Map([...block.matchAll(/--([a-z0-9-]+):\s*(#[0-9a-f]{6});/gi)].map((m) => [m[1]!, m[2]!.toLowerCase()]));
}

const SUBNETS = Array.from({ length: 8 }, (_, i) => `subnet-${i}`);
/** [foreground, backgrounds it is drawn on, what] */
type Pairs = ReadonlyArray<readonly [string, readonly string[], string]>;
const TEXT: Pairs = [
  ['text', ['bg', 'panel', 'panel-head', 'panel-group', 'status-bg', 'field-bg', 'moved-bg'], 'body text, tables, fields, status line, moved flow rows'],
  ['text-head', ['panel-head', 'panel-group'], 'table headings, group rows'],
  ['muted', ['bg', 'panel', 'panel-head', 'moved-bg'], 'hints, labels of cards, meters'],
  ['accent', ['bg', 'panel', 'panel-group'], 'links'],
  ['accent-text', ['accent'], 'primary buttons'],
  ['danger', ['bg', 'panel', 'field-bg'], 'field and form errors, delete buttons'],
  ['ok', ['ok-bg'], 'connected / running badges, status ok'],
  ['down', ['down-bg'], 'not connected / error badges, status error, error boxes'],
  ['idle', ['idle-bg'], 'stopped badge'],
  ['busy', ['busy-bg'], 'creating / deleting / provisioning badges'],
  ['role-text', ['role-bg'], 'role tag'],
  ['role-gateway-text', ['role-gateway-bg'], 'gateway tag'],
  ['role-switch-text', ['role-switch-bg'], 'switch tag'],
  ['top-text', ['top-bg', 'top-hover'], 'header, views, ghost buttons'],
  ['top-current-text', ['top-current-bg'], 'current view'],
  ['text', ['node-bg', 'gateway-bg', 'switch-bg', 'vm-bg', 'vm-off-bg', 'vm-selected-bg', 'zone-bg'], 'picture: names, legend'],
  ['muted', ['node-bg', 'gateway-bg', 'switch-bg', 'vm-bg', 'vm-off-bg', 'vm-selected-bg', 'zone-bg'], 'picture: roles, addresses, AZ names'],
];
const NON_TEXT: Pairs = [
  ['focus', ['bg', 'panel', 'field-bg', 'vm-bg', 'vm-selected-bg', 'zone-bg'], 'focus ring'],
  ['top-focus', ['top-bg'], 'focus ring in the header'],
  ['field-line', ['panel', 'bg'], 'field borders'],
  ['top-line', ['top-bg'], 'ghost buttons and the theme picker in the header'],
  ['danger', ['panel'], 'invalid field border'],
  ['dot-up', ['node-bg', 'gateway-bg', 'switch-bg'], 'datapath up dot'],
  ['dot-down', ['node-bg', 'gateway-bg', 'switch-bg'], 'datapath down dot'],
  ['link', ['panel', 'zone-bg'], 'VXLAN mesh lines'],
  ['bcast', ['panel', 'zone-bg'], 'broadcast star lines'],
  ['path', ['panel', 'zone-bg', 'node-bg'], 'selected path'],
  ['egress', ['panel', 'zone-bg', 'gateway-bg'], 'egress path'],
  ['path-bcast', ['panel', 'zone-bg'], 'selected broadcast link'],
  ['node-line', ['panel', 'node-bg'], 'node boxes'],
  ['gateway-line', ['panel', 'gateway-bg'], 'gateway boxes'],
  ['switch-line', ['panel', 'switch-bg'], 'switch boxes'],
  ...SUBNETS.map((s) => [s, ['panel', 'zone-bg', 'vm-bg'], 'subnet colour: VM frames, stripes, swatches'] as const),
];

describe('the UI palettes', () => {
  it('declare the same properties in both themes, and no colour is written outside them', () => {
    const light = palette('light');
    const dark = palette('dark');
    expect([...dark.keys()].sort()).toEqual([...light.keys()].sort());
    const outside = CSS.replace(THEMES.light, '').replace(THEMES.dark, '');
    expect(outside.match(/#[0-9a-f]{3,8}\b|rgba?\(|hsla?\(/gi) ?? []).toEqual([]);
    // Every colour property used is declared (a typo would silently fall back to the inherited colour).
    const declared = new Set([...light.keys(), 'subnet', 'sans', 'mono']);
    const used = new Set([...CSS.matchAll(/var\(--([a-z0-9-]+)\)/g)].map((m) => m[1]!));
    expect([...used].filter((v) => !declared.has(v))).toEqual([]);
  });

  for (const theme of ['light', 'dark'] as const) {
    it(`${theme}: text >= 4.5:1, focus rings, borders and the picture's marks >= 3:1`, () => {
      const p = palette(theme);
      const colour = (name: string) => {
        const c = p.get(name);
        if (!c) throw new Error(`--${name} is not in the ${theme} palette`);
        return c;
      };
      const lines: string[] = [];
      const failures: string[] = [];
      let lowestText = Infinity;
      let lowestOther = Infinity;
      for (const [pairs, min] of [[TEXT, 4.5], [NON_TEXT, 3]] as const) {
        for (const [fg, bgs, what] of pairs) {
          const ratios = bgs.map((bg) => [bg, contrast(colour(fg), colour(bg))] as const);
          for (const [bg, r] of ratios) {
            if (r < min) failures.push(`--${fg} on --${bg}: ${r.toFixed(2)} < ${min}`);
            if (min === 4.5) lowestText = Math.min(lowestText, r);
            else lowestOther = Math.min(lowestOther, r);
          }
          lines.push(`  ${fg.padEnd(18)} ${ratios.map(([bg, r]) => `${bg} ${r.toFixed(1)}`).join(', ')}  (${what})`);
        }
      }
      console.log(`${theme} theme contrast (WCAG AA: text >= 4.5, other >= 3): lowest text ${lowestText.toFixed(2)}, lowest other ${lowestOther.toFixed(2)}\n${lines.join('\n')}`);
      expect(failures).toEqual([]);
    });
  }
});
