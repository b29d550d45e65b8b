// The web UI in real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core) against a running
// lab: the real controller process (startServer: SQLite store, OpenFlow runtime on a unix socket, API + UI on a
// loopback port with a token) and five lab OVS nodes in namespaces of their own (two gateways, two compute nodes in
// two AZs, the switch node), with the netns VM backend (a VM is the namespace `mcuv-<name>`).
//
// Through the page only: sign in (a wrong token is refused next to the field), create a subnet and a VM, see the VM
// in the list and in the topology picture, select it and see its path highlighted, open its node's flows and find
// its MAC in the table text with counters that move when the VM sends packets, see the API's validation errors next
// to the fields that caused them, stop / start the VM, resync its node, delete it and see it gone. The dark theme:
// applied with a dark system before the first paint, readable (every visible text's contrast as rendered), the
// picker switching it by pointer and keyboard and remembering it across reloads, no console or CSP message.
// Screenshots of the overview and the topology (desktop light and dark, phone) go to test-artifacts/ui, and to
// docs/screenshots (the README's) only with UPDATE_SCREENSHOTS=1, so a test run leaves the work tree as it was.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/daemon/server.js';
import { callApi } from '../../src/lab/cloud.js';
import { run } from '../../src/lab/exec.js';
import { startLabController, vmNetns, type LabController } from '../daemon/lab.js';
import { contrast, luminance } from '../helpers/contrast.js';
import { until } from '../helpers/wait.js';

const NODES = [
  { name: 'mcu-gw-1', roles: ['gateway'], underlayIp: '10.0.0.1', serviceIp: '203.0.113.1', az: 'AZ-1' },
  { name: 'mcu-gw-2', roles: ['gateway'], underlayIp: '10.0.0.2', az: 'AZ-2' },
  { name: 'mcu-host-1', roles: ['compute'], underlayIp: '10.0.0.11', az: 'AZ-1', cpus: 16, memoryMiB: 32 * 1024 },
  { name: 'mcu-host-2', roles: ['compute'], underlayIp: '10.0.0.12', az: 'AZ-2', cpus: 8, memoryMiB: 16 * 1024 },
  { name: 'mcu-switch', roles: ['switch', 'management'], underlayIp: '10.0.0.100' },
] as const;
const SUBNETS = ['front', 'back'];
const VMS = [
  { name: 'web-1', subnet: 'front', flavor: '2C4G', image: 'images:debian/12', node: 'mcu-host-1', gateway: 'mcu-gw-1' },
  { name: 'web-2', subnet: 'front', flavor: '2C4G', image: 'images:debian/12', node: 'mcu-host-2', gateway: 'mcu-gw-2' },
  { name: 'db-1', subnet: 'back', flavor: 'large', image: 'images:debian/12', node: 'mcu-host-2' },
];
const PREFIX = 'mcu';
/** A project description is the user's text: markup in it must stay text. */
const DESCRIPTION = 'Team B <img src=x onerror="document.title=1"> & "friends"';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOTS = [join(process.cwd(), 'test-artifacts', 'ui'), ...(process.env['UPDATE_SCREENSHOTS'] === '1' ? [join(process.cwd(), 'docs', 'screenshots')] : [])];

let lab: LabController | undefined;
let server: Server | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
const problems: string[] = [];
const api = (method: 'GET' | 'POST', path: string, body?: unknown) => callApi(server!, method, path, body);

/**
 * Adds the page's script errors and console errors (and warnings, with `warnings`) to `into`. Chromium logs every 4xx
 * answer as a failed resource: the 401s (a refused token, the page's probe for an API without auth), the 400s of
 * the validation cases and the 409 of the quota refusal are on purpose, so those are left out.
 */
function watchPage(p: Page, into: string[], { warnings = false } = {}): void {
  p.on('pageerror', (e) => into.push(`pageerror: ${e.message}`));
  p.on('console', (m) => {
    const counted = m.type() === 'error' || (warnings && m.type() === 'warning');
    if (counted && !/status of (400|401|409) /.test(m.text())) into.push(`console ${m.type()}: ${m.text()}`);
  });
}

/** Desktop shots show the whole page, phone shots the first screen. */
async function screenshot(p: Page, name: string, fullPage = true): Promise<void> {
  const png = await p.screenshot({ fullPage });
  for (const d of SCREENSHOTS) {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, name), png);
  }
}

/** Recorded by an init script (before any of the page's): the first of "<html data-theme> set" / "<body> inserted". */
const THEME_ORDER_PROBE = `(() => {
  window.__themeOrder = [];
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') window.__themeOrder.push('theme:' + r.target.getAttribute('data-theme'));
      else if ([...r.addedNodes].some((n) => n.nodeName === 'BODY')) window.__themeOrder.push('body');
    }
  }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-theme'] });
})()`;

interface ThemeState { theme: string; choice: string; picker: string; stored: string | null; firstMutation: string | undefined; scheme: string }
async function themeState(p: Page): Promise<ThemeState> {
  return (await p.evaluate(`({
    theme: document.documentElement.dataset.theme,
    choice: document.documentElement.dataset.themeChoice,
    picker: document.getElementById('theme').value,
    stored: localStorage.getItem('minicloud.theme'),
    firstMutation: window.__themeOrder?.[0],
    scheme: getComputedStyle(document.documentElement).colorScheme,
  })`)) as ThemeState;
}

/**
 * The lowest contrast between the colour of a visible HTML text (any element with a text node of its own, outside the
 * SVG picture, not a disabled control) and the first opaque background under it, as the page renders it.
 */
async function lowestTextContrast(p: Page): Promise<{ ratio: number; what: string; texts: number }> {
  const samples = (await p.evaluate(`[...document.querySelectorAll('body *')]
    .filter((el) => !el.closest('svg, [hidden], .sr-only') && !el.disabled && el.getClientRects().length > 0
      && [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
    .map((el) => {
      let bg = el;
      while (bg && /^rgba\\(.*, 0\\)$|^transparent$/.test(getComputedStyle(bg).backgroundColor)) bg = bg.parentElement;
      const what = el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') + ' "' + el.textContent.trim().slice(0, 24) + '"';
      return [getComputedStyle(el).color, getComputedStyle(bg ?? document.documentElement).backgroundColor, what];
    })`)) as [string, string, string][];
  let lowest = { ratio: Infinity, what: '', texts: samples.length };
  for (const [fg, bg, what] of samples) {
    const ratio = contrast(fg, bg);
    if (ratio < lowest.ratio) lowest = { ratio, what: `${what}: ${fg} on ${bg}`, texts: samples.length };
  }
  expect(samples.length).toBeGreaterThan(10);
  return lowest;
}

// Code run in the page is written as strings (this project type-checks against Node's globals, not the DOM's) and
// given to page.evaluate, which the page's CSP allows; waiting is done from here (waitForFunction would need eval).

/** Text of the status line once it matches. */
async function status(p: Page, re: RegExp, timeout = 15_000): Promise<string> {
  return until(async () => {
    const text = (await p.textContent('#status')) ?? '';
    return re.test(text) ? text : undefined;
  }, timeout, `status ${re}`, 100);
}

/** Records whether `selector` was ever disabled, busy and spinning while the page ran (a long operation's progress). */
async function watchBusy(p: Page, selector: string): Promise<() => Promise<boolean>> {
  await p.evaluate(`(() => {
    window.__busySeen = false;
    const el = document.querySelector(${JSON.stringify(selector)});
    new MutationObserver(() => {
      if (el.disabled && el.getAttribute('aria-busy') === 'true' && el.querySelector('.spinner')) window.__busySeen = true;
    }).observe(el, { attributes: true, childList: true });
  })()`);
  return async () => (await p.evaluate('window.__busySeen')) === true;
}

beforeAll(async () => {
  const launched = chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  lab = await startLabController(PREFIX, NODES);
  server = lab.server;
  for (const name of SUBNETS) expect((await api('POST', '/api/v1/subnets', { name })).status).toBe(201);
  for (const vm of VMS) {
    const res = await api('POST', '/api/v1/vms', vm);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  }
  browser = await launched;
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  watchPage(page, problems);
  page.on('dialog', (d) => void d.accept());
}, 60_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await lab?.stop();
}, 60_000);

describe('the web UI in Chromium against a lab', () => {
  it('asks for the token, refuses a wrong one next to the field, then shows the overview', async () => {
    await page.goto(`${server!.apiUrl}/`);
    await page.waitForSelector('#sign-in:not([hidden])');
    // A light system: the light theme, following the system (nothing stored).
    expect(await themeState(page)).toMatchObject({ theme: 'light', choice: 'system', picker: 'system', stored: null, scheme: 'light' });
    await page.fill('#token', 'mc_wrong');
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForSelector('#token-error:not([hidden])');
    expect(await page.textContent('#token-error')).toMatch(/not valid/);
    expect(await page.getAttribute('#token', 'aria-invalid')).toBe('true');

    await page.fill('#token', server!.token!);
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForSelector('#view-overview:not([hidden]) #nodes-table');
    // Every switch connects; the table shows it (poll: the page refreshes every 5 s, the button at once).
    const t0 = Date.now();
    for (;;) {
      const up = await page.locator('#nodes-table .badge.ok').count();
      if (up === NODES.length) break;
      if (Date.now() - t0 > 20_000) throw new Error(`only ${up} datapaths connected in the page`);
      await page.click('#refresh');
      await page.waitForTimeout(300);
    }
    const rows = await page.locator('#nodes-table tbody tr[data-node]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-node')));
    // Grouped by AZ, role order within: gateway, compute; the node without an AZ last.
    expect(rows).toEqual(['mcu-gw-1', 'mcu-host-1', 'mcu-gw-2', 'mcu-host-2', 'mcu-switch']);
    expect(await page.textContent('#nodes-table tr[data-node="mcu-host-2"]')).toMatch(/CPU 6 \/ 8/);
    expect(await page.locator('#vms-table tbody tr').count()).toBe(VMS.length);
    // Every form control has a label, every button a name.
    const unlabeled = await page.evaluate(`[...document.querySelectorAll('input, select')].filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label')).map((el) => el.id)`);
    expect(unlabeled).toEqual([]);
    expect(await page.evaluate(`[...document.querySelectorAll('button')].filter((b) => !(b.getAttribute('aria-label') || b.textContent.trim())).length`)).toBe(0);
    // The token stays in sessionStorage, not in localStorage (not asked to remember).
    expect(await page.evaluate(`[sessionStorage.getItem('minicloud.token') !== null, localStorage.getItem('minicloud.token')]`)).toEqual([true, null]);
  });

  it("shows the API's validation errors next to the field that caused them", async () => {
    await page.fill('#subnet-name', 'wide');
    await page.fill('#subnet-prefixLength', '20');
    await page.click('#subnet-form button[type=submit]');
    await page.waitForSelector('#subnet-prefixLength-error:not([hidden])');
    const msg = await page.textContent('#subnet-prefixLength-error');
    expect(msg).toMatch(/^prefixLength: /);
    expect(await page.getAttribute('#subnet-prefixLength', 'aria-invalid')).toBe('true');
    expect(await page.evaluate('document.activeElement?.id')).toBe('subnet-prefixLength');
    expect(await page.isHidden('#subnet-name-error')).toBe(true);

    await page.fill('#vm-name', 'bad-flavor');
    await page.fill('#vm-flavor', '3 cores please');
    await page.click('#vm-form button[type=submit]');
    await page.waitForSelector('#vm-flavor-error:not([hidden])');
    expect(await page.textContent('#vm-flavor-error')).toMatch(/flavor/);
    await page.fill('#vm-name', 'Not_A_Label');
    await page.fill('#vm-flavor', 'tiny');
    await page.click('#vm-form button[type=submit]');
    await page.waitForSelector('#vm-name-error:not([hidden])');
    expect(await page.isHidden('#vm-flavor-error')).toBe(true);
    console.log(`validation: prefixLength -> "${msg}"; VM name -> "${await page.textContent('#vm-name-error')}"`);
    expect(await page.locator('#vms-table tbody tr').count()).toBe(VMS.length);
  });

  it('creates a subnet and a VM through the forms, with progress shown', async () => {
    await page.fill('#subnet-name', 'ui-net');
    await page.fill('#subnet-prefixLength', '');
    await page.click('#subnet-form button[type=submit]');
    await page.waitForSelector('#subnets-table tr[data-subnet="ui-net"]');
    expect(await page.textContent('#subnets-table tr[data-subnet="ui-net"]')).toMatch(/192\.168\.20\.\d+\/27/);

    await page.fill('#vm-name', 'ui-vm-1');
    await page.selectOption('#vm-subnet', 'ui-net');
    await page.fill('#vm-flavor', 'small');
    await page.click('#vm-form summary');
    await page.selectOption('#vm-node', 'mcu-host-1');
    await page.selectOption('#vm-gateway', 'mcu-gw-1');
    const busySeen = await watchBusy(page, '#vm-form button[type=submit]');
    const t0 = Date.now();
    await page.click('#vm-form button[type=submit]');
    const done = await status(page, /Creating VM ui-vm-1: done/);
    await page.waitForSelector('#vms-table tr[data-vm="ui-vm-1"]');
    console.log(`VM created through the form in ${Date.now() - t0} ms; status: "${done}"`);
    expect(await busySeen()).toBe(true);
    const row = (await page.textContent('#vms-table tr[data-vm="ui-vm-1"]')) ?? '';
    const vm = server!.service.getVm('ui-vm-1');
    expect(vm).toMatchObject({ node: 'mcu-host-1', gateway: 'mcu-gw-1', subnet: 'ui-net', state: 'running' });
    for (const part of [vm.ip, vm.mac, 'mcu-host-1', 'mcu-gw-1', 'small', 'running', 'default']) expect(row).toContain(part);
    // Its security group, with its rules and members (issue 17).
    await page.waitForSelector('#security-groups-table tr[data-group="default"]');
    const group = (await page.textContent('#security-groups-table tr[data-group="default"]')) ?? '';
    for (const part of ['egress any to 0.0.0.0/0', 'ingress any from group default', 'ui-vm-1']) expect(group).toContain(part);
    await screenshot(page, 'overview.png');
  });

  it('draws the VM in the topology picture and highlights its path when selected', async () => {
    await page.click('nav a[data-view="topology"]');
    await page.waitForSelector('#topology-svg [data-vm="ui-vm-1"]');
    expect(await page.locator('#topology-svg .node').count()).toBe(NODES.length);
    // The mesh: every pair of the four overlay endpoints; the star: the switch to both compute nodes.
    expect(await page.locator('#topology-svg .edges .edge.tunnel').count()).toBe(6);
    expect(await page.locator('#topology-svg .edges .edge.bcast').count()).toBe(2);
    await page.click('#topology-svg [data-vm="ui-vm-1"]');
    await page.waitForSelector('#topology-svg.has-selection [data-vm="ui-vm-1"].selected');
    expect(page.url()).toMatch(/#\/topology\/ui-vm-1$/);
    const egress = await page.locator('#topology-svg .edges .edge.on-path.egress').evaluateAll((es) => es.map((e) => [e.getAttribute('data-a'), e.getAttribute('data-b')].sort().join('-')));
    expect(egress).toEqual(['mcu-gw-1-mcu-host-1']);
    expect(await page.locator('#topology-svg .node.home[data-node="mcu-host-1"]').count()).toBe(1);
    expect(await page.locator('#topology-svg .edges .edge.on-path.broadcast').count()).toBe(1);
    // Edges not touching its node step back.
    expect(await page.locator('#topology-svg .edges .edge:not(.on-path)').count()).toBe(6 + 2 - 4);
    expect(await page.textContent('#path')).toMatch(/Path of ui-vm-1/);
    await screenshot(page, 'topology.png');

    // Keyboard: focus another VM and press Enter; Escape clears.
    await page.focus('#topology-svg [data-vm="db-1"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#topology-svg [data-vm="db-1"].selected');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#topology-svg:not(.has-selection)');
  });

  it('follows a dark system theme, switches and remembers the theme, and stays readable', async () => {
    const dark = await browser!.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
    const seen: string[] = [];
    try {
      // Before any page script: record, in order, when <html data-theme> is set and when <body> is inserted.
      await dark.addInitScript(THEME_ORDER_PROBE);
      const p = await dark.newPage();
      p.setDefaultTimeout(10_000);
      watchPage(p, seen, { warnings: true });
      await p.goto(`${server!.apiUrl}/`);
      await p.waitForSelector('#sign-in:not([hidden])');
      expect(await themeState(p)).toEqual({ theme: 'dark', choice: 'system', picker: 'system', stored: null, firstMutation: 'theme:dark', scheme: 'dark' });
      const colours = (await p.evaluate(`(() => { const s = getComputedStyle(document.documentElement); return [s.backgroundColor, s.color]; })()`)) as [string, string];
      expect(luminance(colours[0])).toBeLessThan(0.05);
      expect(luminance(colours[1])).toBeGreaterThan(0.7);

      await p.fill('#token', server!.token!);
      await p.click('#sign-in-form button[type=submit]');
      await p.waitForSelector('#vms-table tr[data-vm="ui-vm-1"]');
      await p.locator('#nodes-table .badge.ok').first().waitFor();
      await screenshot(p, 'overview-dark.png');
      await p.goto(`${server!.apiUrl}/#/topology/ui-vm-1`);
      await p.waitForSelector('#topology-svg [data-vm="ui-vm-1"].selected');
      await p.locator('#topology-svg .dot.up').first().waitFor();
      await screenshot(p, 'topology-dark.png');
      // Every visible text on the page against the background it is drawn on; on the overview with a form error.
      const topology = await lowestTextContrast(p);
      await p.goto(`${server!.apiUrl}/#/overview`);
      await p.fill('#subnet-name', 'wide');
      await p.fill('#subnet-prefixLength', '20');
      await p.click('#subnet-form button[type=submit]');
      await p.waitForSelector('#subnet-prefixLength-error:not([hidden])');
      const overview = await lowestTextContrast(p);
      await p.goto(`${server!.apiUrl}/#/topology/ui-vm-1`);
      await p.waitForSelector('#topology-svg [data-vm="ui-vm-1"].selected');
      console.log(`dark theme, lowest contrast of visible HTML text: overview ${overview.ratio.toFixed(2)} of ${overview.texts} texts (${overview.what}); topology ${topology.ratio.toFixed(2)} of ${topology.texts} (${topology.what})`);
      expect(overview.ratio).toBeGreaterThanOrEqual(4.5);
      expect(topology.ratio).toBeGreaterThanOrEqual(4.5);

      // Forced light, with the pointer: kept in localStorage and applied before the first paint after a reload.
      await p.selectOption('#theme', 'light');
      expect(await themeState(p)).toMatchObject({ theme: 'light', choice: 'light', stored: 'light', scheme: 'light' });
      await p.reload();
      await p.waitForSelector('#topology-svg [data-vm="ui-vm-1"]');
      expect(await themeState(p)).toEqual({ theme: 'light', choice: 'light', picker: 'light', stored: 'light', firstMutation: 'theme:light', scheme: 'light' });
      // Forced dark, with the keyboard (the picker is labelled "Theme").
      expect(await p.evaluate(`document.getElementById('theme').labels[0].textContent`)).toBe('Theme');
      await p.focus('#theme');
      await p.keyboard.press('ArrowDown');
      expect(await themeState(p)).toMatchObject({ theme: 'dark', choice: 'dark', stored: 'dark' });
      await p.reload();
      await p.waitForSelector('#topology-svg [data-vm="ui-vm-1"]');
      expect(await themeState(p)).toMatchObject({ theme: 'dark', picker: 'dark', stored: 'dark', firstMutation: 'theme:dark' });
      // Back to the system's, which is then followed as it changes.
      await p.focus('#theme');
      await p.keyboard.press('ArrowUp');
      await p.keyboard.press('ArrowUp');
      expect(await themeState(p)).toMatchObject({ theme: 'dark', choice: 'system', picker: 'system', stored: null });
      // (The media query's change event comes with the next rendering step: wait for it.)
      const follows = async (scheme: 'light' | 'dark') => {
        await p.emulateMedia({ colorScheme: scheme });
        return until(async () => {
          const state = await themeState(p);
          return state.theme === scheme ? state : undefined;
        }, 5000, `the ${scheme} system theme to be followed`, 100);
      };
      expect(await follows('light')).toMatchObject({ theme: 'light', choice: 'system', stored: null, scheme: 'light' });
      expect(await follows('dark')).toMatchObject({ theme: 'dark', choice: 'system', stored: null, scheme: 'dark' });
      // Nothing else was logged: no CSP violation ("Refused to …"), no script error.
      expect(seen).toEqual([]);
    } finally {
      await dark.close();
    }
  });

  it("shows its node's flows grouped by table with live counters and a filter", async () => {
    const vm = server!.service.getVm('ui-vm-1');
    const subnet = server!.service.getSubnet('ui-net');
    await page.click('nav a[data-view="flows"]');
    await page.selectOption('#flow-node', 'mcu-host-1');
    await page.waitForSelector('#flows .flow-table[data-table="0"]');
    const headings = await page.locator('#flows .flow-table h2').allTextContents();
    expect(headings.map((x) => x.split(' ').slice(0, 4).join(' '))).toEqual(expect.arrayContaining(['Table 0 · classify', 'Table 10 · unicast', 'Table 50 · broadcast', 'Table 60 · flood']));
    expect(await page.textContent('#flows .flow-table[data-table="10"] .purpose')).toMatch(/distributed routing/);
    const texts = await page.locator('#flows .flow-text').allTextContents();
    expect(texts.some((t) => t.includes(vm.mac))).toBe(true);
    expect(texts.some((t) => t.includes(vm.ip))).toBe(true);
    expect(texts.every((t) => !/n_packets=/.test(t))).toBe(true);

    // Real packets from the VM (ARP for its gateway IP is answered by table 50 on its own node): the counters move.
    // Packet counters of the rows that mention its MAC, as the page shows them (the cell's title is the exact count).
    const counters = async (): Promise<Record<string, number>> =>
      (await page.evaluate(`Object.fromEntries([...document.querySelectorAll('#flows tbody tr')]
        .filter((tr) => tr.querySelector('.flow-text')?.textContent.includes(${JSON.stringify(vm.mac)}))
        .map((tr) => [tr.querySelector('.flow-text').textContent, Number(tr.querySelector('.packets').title)]))`)) as Record<string, number>;
    const before = await counters();
    expect(Object.keys(before).length).toBeGreaterThan(1);
    await run('ip', ['netns', 'exec', vmNetns(PREFIX, 'ui-vm-1'), 'ping', '-c', '3', '-i', '0.2', '-W', '1', subnet.gatewayIp]).catch(() => undefined);
    const t0 = Date.now();
    const moved = await until(async () => {
      const now = await counters();
      const m = Object.entries(now).filter(([text, n]) => n > (before[text] ?? 0));
      return m.length ? m.map(([text, n]) => `${before[text] ?? 0} -> ${n} packets: ${text.slice(0, 70)}…`) : undefined;
    }, 10_000, 'a counter of a flow with its MAC to move in the page', 100);
    console.log(`flows view: ${texts.length} flows on mcu-host-1; counters moved ${Date.now() - t0} ms after the ping: ${moved.join(' | ')}`);
    expect(await page.textContent('#flow-meta')).toMatch(/updated .* every 2 s/);
    await screenshot(page, 'flows.png', false);

    await page.fill('#flow-filter', vm.ip);
    const filtered = await page.locator('#flows .flow-text').allTextContents();
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.length).toBeLessThan(texts.length);
    expect(filtered.every((t) => t.includes(vm.ip))).toBe(true);
    await page.fill('#flow-filter', '');

    const busySeen = await watchBusy(page, '#resync');
    await page.click('#resync');
    expect(await status(page, /Resynced mcu-host-1: 0 flow-mods sent/)).toBeTruthy();
    expect(await busySeen()).toBe(true);
  });

  it('stops, starts and deletes the VM, and it is gone from the list and the picture', async () => {
    await page.click('nav a[data-view="overview"]');
    await page.click('#vms-table tr[data-vm="ui-vm-1"] button:text("Stop")');
    await page.waitForSelector('#vms-table tr[data-vm="ui-vm-1"] .badge.state-stopped');
    await page.click('#vms-table tr[data-vm="ui-vm-1"] button:text("Start")');
    await page.waitForSelector('#vms-table tr[data-vm="ui-vm-1"] .badge.state-running');

    await page.click('#vms-table tr[data-vm="ui-vm-1"] button:text("Delete")');
    await status(page, /Deleted VM ui-vm-1/);
    await page.waitForSelector('#vms-table tr[data-vm="ui-vm-1"]', { state: 'detached' });
    expect(server!.service.listVms().map((v) => v.name)).not.toContain('ui-vm-1');
    await page.click('nav a[data-view="topology"]');
    await page.waitForSelector('#topology-svg [data-vm="web-1"]');
    expect(await page.locator('#topology-svg [data-vm="ui-vm-1"]').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('picks a project: creates it with quotas, shows and creates in it only, remembers it, refuses past a quota', async () => {
    // Every /api/v1 request the page makes, with the project it named (issue 22: X-Project on every request).
    const sent: { path: string; project: string | undefined }[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith('/api/v1/')) sent.push({ path: `${r.method()} ${url.pathname}`, project: r.headers()['x-project'] });
    });
    await page.click('nav a[data-view="projects"]');
    await page.waitForSelector('#projects-table tr[data-project="default"]');
    expect(await page.isHidden('#project-pick')).toBe(false);
    expect(await page.locator('#project option').allTextContents()).toEqual(['All projects', 'default']);

    // A new project through the form; its description is the user's text, shown as text.
    await page.fill('#project-name', 'team-b');
    await page.fill('#project-description', DESCRIPTION);
    await page.fill('#project-quota-vms', '1');
    await page.fill('#project-quota-vcpus', '4');
    await page.click('#project-form button[type=submit]');
    await page.waitForSelector('#projects-table tr[data-project="team-b"]');
    expect(server!.service.getProject('team-b')).toMatchObject({ description: DESCRIPTION, quotas: { vms: 1, vcpus: 4 } });
    const row = (await page.textContent('#projects-table tr[data-project="team-b"]')) ?? '';
    for (const part of [DESCRIPTION, 'team-b-default', 'VMs 0 / 1', 'vCPUs 0 / 4', 'Subnets 0 (no quota)']) expect(row).toContain(part);
    expect(await page.locator('#projects img, #projects [onerror]').count()).toBe(0);
    expect(await page.locator('#project option').allTextContents()).toEqual(['All projects', 'default', 'team-b']);

    // Its quotas from the row's button: the form filled with them; empty means no quota.
    await page.click('#projects-table tr[data-project="team-b"] button:text("Quotas")');
    expect(await page.inputValue('#quota-project')).toBe('team-b');
    expect(await page.inputValue('#quota-vms')).toBe('1');
    await page.fill('#quota-vcpus', '');
    await page.fill('#quota-subnets', '1');
    await page.click('#quota-form button[type=submit]');
    await status(page, /Setting the quotas of team-b: done/);
    expect(server!.service.getProject('team-b').quotas).toEqual({ vms: 1, subnets: 1 });
    await page.fill('#quota-vms', '-1');
    await page.click('#quota-form button[type=submit]');
    await page.waitForSelector('#quota-vms-error:not([hidden])');
    expect(await page.textContent('#quota-vms-error')).toMatch(/^quotas\.vms: /);

    // Showing team-b: the overview has its records only, its quotas, and what the forms create goes there.
    const from = sent.length;
    await page.selectOption('#project', 'team-b');
    await page.click('nav a[data-view="overview"]');
    await page.waitForSelector('#project-quotas:not([hidden])');
    expect(await page.textContent('#project-quotas')).toMatch(/Project team-b.*VMs 0 \/ 1/);
    await page.waitForSelector('#vms .empty');
    expect(await page.locator('#security-groups-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-group')))).toEqual(['team-b-default']);
    expect(await page.textContent('#create-in')).toContain('created in project team-b');
    await page.fill('#subnet-name', 'b-net');
    await page.click('#subnet-form button[type=submit]');
    await page.waitForSelector('#subnets-table tr[data-subnet="b-net"]');
    expect(server!.service.getSubnet('b-net', { project: 'team-b' }).project).toBe('team-b');
    await page.fill('#vm-name', 'b-vm-1');
    await page.selectOption('#vm-subnet', 'b-net');
    await page.fill('#vm-flavor', 'tiny');
    await page.click('#vm-form button[type=submit]');
    await page.waitForSelector('#vms-table tr[data-vm="b-vm-1"] .badge.state-running');
    expect(server!.service.getVm('b-vm-1', { project: 'team-b' })).toMatchObject({ project: 'team-b', securityGroups: ['team-b-default'] });
    expect(await page.textContent('#project-quotas')).toMatch(/VMs 1 \/ 1/);
    // One VM is team-b's quota: the API's refusal is what the operator reads, and nothing is made.
    await page.fill('#vm-name', 'b-vm-2');
    await page.click('#vm-form button[type=submit]');
    const refused = await status(page, /Creating VM b-vm-2 failed/);
    expect(refused).toContain("project 'team-b' has a quota of 1");
    expect(server!.service.listVms().map((v) => v.name)).not.toContain('b-vm-2');
    await page.fill('#vm-name', '');
    const inTeamB = sent.slice(from).filter((r) => !/\/(projects|whoami)$/.test(r.path));
    expect(inTeamB.length).toBeGreaterThan(5);
    expect(inTeamB.filter((r) => r.project !== 'team-b')).toEqual([]);

    // Kept across a reload.
    await page.reload();
    await page.waitForSelector('#vms-table tr[data-vm="b-vm-1"]');
    expect(await page.inputValue('#project')).toBe('team-b');
    expect(await page.locator('#vms-table tbody tr').count()).toBe(1);

    // Every project: a project column, and no X-Project.
    const fromAll = sent.length;
    await page.selectOption('#project', '');
    await page.waitForSelector('#vms-table tr[data-vm="web-1"]');
    expect(await page.isHidden('#project-quotas')).toBe(true);
    expect(await page.textContent('#vms-table thead')).toContain('Project');
    expect(await page.textContent('#vms-table tr[data-vm="b-vm-1"] td.project')).toBe('team-b');
    expect(await page.textContent('#vms-table tr[data-vm="web-1"] td.project')).toBe('default');
    expect(await page.textContent('#subnets-table tr[data-subnet="b-net"] td.project')).toBe('team-b');
    expect(sent.slice(fromAll).filter((r) => r.project !== undefined)).toEqual([]);
    expect(await page.evaluate(`localStorage.getItem('minicloud.project')`)).toBeNull();
    await page.click('nav a[data-view="projects"]');
    await page.waitForSelector('#projects-table tr[data-project="team-b"]');
    await screenshot(page, 'projects.png');
    expect(problems).toEqual([]);
  });

  it("a member token of a project sees that project only, the picker fixed, and writes there", async () => {
    const member = (await server!.tokens.create('ui-member', 'member', 'team-b')).token;
    const ctx = await browser!.newContext({ viewport: { width: 1440, height: 900 } });
    const seen: string[] = [];
    try {
      const p = await ctx.newPage();
      p.setDefaultTimeout(10_000);
      watchPage(p, seen);
      p.on('dialog', (d) => void d.accept());
      // An admin's earlier choice in this browser does not leak into the member's requests.
      await p.goto(`${server!.apiUrl}/`);
      await p.evaluate(`localStorage.setItem('minicloud.project', 'default')`);
      await p.fill('#token', member);
      await p.click('#sign-in-form button[type=submit]');
      await p.waitForSelector('#vms-table tr[data-vm="b-vm-1"]');
      expect(await p.locator('#vms-table tbody tr').count()).toBe(1);
      expect(await p.locator('#project option').allTextContents()).toEqual(['team-b']);
      expect(await p.isDisabled('#project')).toBe(true);
      expect(await p.textContent('#role-note')).toBe('Member token of project team-b');
      // The whole cloud's views are not for it: no nodes, no topology, no flows.
      for (const hidden of ['#nodes', 'nav a[data-view="topology"]', 'nav a[data-view="flows"]']) expect(await p.isVisible(hidden), hidden).toBe(false);
      expect(await p.isVisible('#vm-form')).toBe(true);
      await p.goto(`${server!.apiUrl}/#/flows/mcu-host-1`);
      await status(p, /does not see the whole cloud/);
      expect(p.url()).toMatch(/#\/overview$/);
      // Its project's quotas, without the admin's forms.
      await p.click('nav a[data-view="projects"]');
      await p.waitForSelector('#projects-table tr[data-project="team-b"]');
      expect(await p.locator('#projects-table tbody tr').count()).toBe(1);
      for (const hidden of ['#project-form', '#quota-form', '#projects-table button:text("Quotas")', '#projects-table button:text("Delete")']) expect(await p.isVisible(hidden), hidden).toBe(false);
      // It deletes its VM and subnet.
      await p.click('nav a[data-view="overview"]');
      await p.click('#vms-table tr[data-vm="b-vm-1"] button:text("Delete")');
      await p.waitForSelector('#vms-table tr[data-vm="b-vm-1"]', { state: 'detached' });
      await p.click('#subnets-table tr[data-subnet="b-net"] button:text("Delete")');
      await p.waitForSelector('#subnets-table tr[data-subnet="b-net"]', { state: 'detached' });
      expect(seen).toEqual([]);
    } finally {
      await ctx.close();
      await server!.tokens.revoke('ui-member');
    }
    // Empty, without tokens: the admin deletes the project from its row.
    await page.click('#projects-table tr[data-project="team-b"] button:text("Delete")');
    await page.waitForSelector('#projects-table tr[data-project="team-b"]', { state: 'detached' });
    expect(server!.service.listProjects().map((x) => x.name)).toEqual(['default']);
  });

  it('a viewer token shows everything but the controls that write; a write still says it needs an admin token', async () => {
    const viewer = (await server!.tokens.create('ui-viewer', 'viewer')).token;
    const ctx = await browser!.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const p = await ctx.newPage();
      await p.goto(`${server!.apiUrl}/`);
      await p.fill('#token', viewer);
      await p.click('#sign-in-form button[type=submit]');
      await p.waitForSelector('#vms-table tr[data-vm="web-1"]');
      expect(await p.isVisible('#role-note')).toBe(true);
      expect(await p.textContent('#role-note')).toBe('Read-only (viewer token)');
      for (const hidden of ['#subnet-form', '#vm-form', '#vms-table [data-op]', '#subnets-table [data-op]']) expect(await p.isVisible(hidden), hidden).toBe(false);
      // Were a write control shown (an older page), the API's refusal is what the operator reads.
      await p.evaluate('delete document.body.dataset.role');
      await p.fill('#subnet-name', 'viewer-net');
      await p.click('#subnet-form button[type=submit]');
      expect(await status(p, /failed/)).toContain("token 'ui-viewer' is a viewer token: POST needs an admin token");
      expect(server!.service.listSubnets().map((x) => x.name)).not.toContain('viewer-net');
      // Still signed in: a 403 is not a bad token.
      expect(await p.isHidden('#sign-in')).toBe(true);
    } finally {
      await ctx.close();
      await server!.tokens.revoke('ui-viewer');
    }
  });

  it('fits a phone screen, and a revoked token brings the sign-in form back', async () => {
    const phone = await browser!.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      const p = await phone.newPage();
      await p.goto(`${server!.apiUrl}/`);
      await p.fill('#token', server!.token!);
      await p.click('#sign-in-form button[type=submit]');
      await p.waitForSelector('#vms-table tr[data-vm="web-1"]');
      // Nothing but the scrollable tables and picture is wider than the screen.
      expect(await p.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await screenshot(p, 'overview-phone.png', false);
      await p.goto(`${server!.apiUrl}/#/topology/web-1`);
      await p.waitForSelector('#topology-svg [data-vm="web-1"].selected');
      await screenshot(p, 'topology-phone.png', false);

      await p.evaluate(`sessionStorage.setItem('minicloud.token', 'mc_revoked')`);
      await p.click('#refresh');
      await p.waitForSelector('#sign-in:not([hidden]) #token-error:not([hidden])');
      expect(await p.textContent('#token-error')).toMatch(/401/);
    } finally {
      await phone.close();
    }
  });
});
