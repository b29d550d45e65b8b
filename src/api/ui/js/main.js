// The page: sign-in, the four views behind hash routes (#/overview, #/topology[/VM], #/flows[/NODE], #/projects), the
// project picker, a refresh every few seconds while a view of the cloud is open, and the actions on rows.
import { api, chooseProject, chosenProject, forgetToken, loadCloud, rememberedProject, storedToken, storeToken, whenUnauthorized } from './api.js';
import { $, h, replaceKeepingFocus } from './dom.js';
import { FlowsView } from './flows.js';
import { clock } from './format.js';
import { clearErrors, showError } from './forms.js';
import { renderOverview, wireForms } from './overview.js';
import { renderPicker, renderProjectQuotas, renderProjects, wireProjectForms } from './projects.js';
import { operation, say } from './status.js';
import { describePath, drawTopology } from './topology.js';

const CLOUD_POLL_MS = 5000;
const VIEWS = ['overview', 'topology', 'flows', 'projects'];
/** The views of the whole cloud (nodes, switches, flows): not for a token scoped to one project. */
const CLOUD_VIEWS = ['topology', 'flows'];

const state = { cloud: undefined, view: 'overview', selected: null, timer: undefined, signedIn: false, me: undefined };
const flows = new FlowsView($('#flows'), $('#flow-meta'));

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const [view, arg] = (path ?? '').split('/').map(decodeURIComponent);
  return { view: VIEWS.includes(view) ? view : 'overview', arg: arg || null, params: new URLSearchParams(query ?? '') };
}

function showOnly(id) {
  for (const el of document.querySelectorAll('main > section')) el.hidden = el.id !== id;
}

function signInScreen(message) {
  state.signedIn = false;
  state.me = undefined;
  delete document.body.dataset.role;
  delete document.body.dataset.scoped;
  clearTimeout(state.timer);
  flows.stop();
  $('#nav').hidden = true;
  $('#top-actions').hidden = true;
  showOnly('sign-in');
  const form = $('#sign-in-form');
  clearErrors(form);
  if (message) showError(form, { field: 'token', message });
  else $('#token').focus();
}

async function refresh() {
  if (!state.signedIn) return;
  void showLeadership();
  try {
    const load = () => loadCloud({ cloudWide: !state.me?.project });
    let cloud = await load();
    // The remembered project is gone: the picker fell back to every project, so load that.
    if (renderPicker(cloud.projects, state.me)) cloud = await load();
    state.cloud = cloud;
    render();
  } catch (e) {
    if (e.status !== 401) say(`Could not load the cloud: ${e.message}`, 'error');
  }
}

function schedule() {
  clearTimeout(state.timer);
  if (!state.signedIn || state.view === 'flows') return;
  state.timer = setTimeout(async () => {
    if (!document.hidden) await refresh();
    schedule();
  }, CLOUD_POLL_MS);
}

const actions = {
  resync: (node, button) =>
    operation({ key: `resync:${node}`, button, what: `Resyncing ${node}` }, () => api('POST', `/nodes/${encodeURIComponent(node)}/resync`)).then((r) => {
      if (r) say(`Resynced ${node}: ${r.flowMods} flow-mod${r.flowMods === 1 ? '' : 's'} sent in ${r.seconds.toFixed(2)} s`, 'ok');
      return refresh();
    }),
  // `project`: the VM's own (its name is unique only there).
  vmAction: (vm, action, button, project) =>
    operation({ key: `vm-${action}:${vm}`, button, what: `${action === 'start' ? 'Starting' : 'Stopping'} ${vm}` }, () =>
      api('POST', `/vms/${encodeURIComponent(vm)}/${action}`, undefined, undefined, { project }),
    ).then(refresh),
  deleteVm: (vm, button, project) => {
    if (!confirm(`Delete VM ${vm}${project && project !== 'default' ? ` of project ${project}` : ''}? Its address is released.`)) return undefined;
    return operation({ key: `vm-delete:${vm}`, button, what: `Deleting VM ${vm}`, done: `Deleted VM ${vm}` }, () =>
      api('DELETE', `/vms/${encodeURIComponent(vm)}`, undefined, undefined, { project }),
    ).then(refresh);
  },
  showProject: (name) => {
    showProject(name);
    location.hash = '#/overview';
  },
  deleteProject: (name, button) => {
    if (!confirm(`Delete project ${name}? Only an empty project can be deleted.`)) return undefined;
    return operation({ key: `project-delete:${name}`, button, what: `Deleting project ${name}`, done: `Deleted project ${name}` }, () =>
      api('DELETE', `/projects/${encodeURIComponent(name)}`),
    ).then(refresh);
  },
  deleteSubnet: (subnet, button, project) => {
    if (!confirm(`Delete subnet ${subnet}?`)) return undefined;
    return operation({ key: `subnet-delete:${subnet}`, button, what: `Deleting subnet ${subnet}`, done: `Deleted subnet ${subnet}` }, () =>
      api('DELETE', `/subnets/${encodeURIComponent(subnet)}`, undefined, undefined, { project }),
    ).then(refresh);
  },
};

function select(vm) {
  state.selected = vm;
  const hash = vm ? `#/topology/${encodeURIComponent(vm)}` : '#/topology';
  if (location.hash !== hash) history.replaceState(null, '', hash);
  renderTopology();
  if (vm) document.querySelector(`#picture [data-vm="${CSS.escape(vm)}"]`)?.focus();
}

function renderTopology() {
  const cloud = state.cloud;
  if (!cloud) return;
  if (state.selected && !cloud.vms.some((v) => v.name === state.selected)) state.selected = null;
  const picture = $('#picture');
  replaceKeepingFocus(picture, drawTopology(cloud, state.selected, select));
  // On a narrow screen the picture scrolls sideways: bring the selected VM into view.
  const chosen = state.selected && picture.querySelector(`[data-vm="${CSS.escape(state.selected)}"]`);
  if (chosen && picture.scrollWidth > picture.clientWidth) {
    const box = chosen.getBoundingClientRect();
    const frame = picture.getBoundingClientRect();
    if (box.left < frame.left || box.right > frame.right) picture.scrollLeft += box.left - frame.left - (frame.width - box.width) / 2;
  }
  $('#path').replaceChildren(...describePath(cloud, state.selected));
  const pick = $('#vm-pick');
  pick.replaceChildren(h('option', { value: '' }, 'no VM'), ...cloud.vms.map((v) => h('option', { value: v.name }, `${v.name} (${v.ip})`)));
  pick.value = state.selected ?? '';
}

function renderFlowNodes() {
  const cloud = state.cloud;
  if (!cloud) return;
  const sel = $('#flow-node');
  const keep = flows.node ?? '';
  sel.replaceChildren(h('option', { value: '' }, 'choose a node'), ...cloud.nodes.map((n) => h('option', { value: n.name }, n.name)));
  sel.value = keep;
}

/** Shows `name`'s records (null: every project's) from now on, and remembers the choice. */
function showProject(name) {
  if ((chosenProject() ?? '') === (name ?? '')) return;
  chooseProject(name);
  $('#project').value = name ?? '';
  state.cloud = undefined;
  say(name ? `Showing project ${name}` : 'Showing every project');
  void refresh();
}

/** Where the create forms put what they make: the chosen project, or the API's default for an admin's "all". */
function createIn(cloud) {
  const el = $('#create-in');
  // Said when there is a choice to make: a project chosen, or several to choose from.
  el.hidden = !cloud.project && cloud.projects.length < 2;
  el.textContent = cloud.project
    ? `Subnets and VMs are created in project ${cloud.project}.`
    : 'Subnets are created in project default (choose a project above for another); a VM joins its subnet\u2019s project.';
}

function render() {
  if (!state.cloud) return;
  if (state.view === 'overview') {
    renderProjectQuotas(state.cloud);
    createIn(state.cloud);
    renderOverview(state.cloud, actions);
  }
  if (state.view === 'projects') renderProjects(state.cloud, actions);
  if (state.view === 'topology') renderTopology();
  if (state.view === 'flows') renderFlowNodes();
}

async function go() {
  if (!state.signedIn) return;
  const r = route();
  if (state.me?.project && CLOUD_VIEWS.includes(r.view)) {
    history.replaceState(null, '', '#/overview');
    r.view = 'overview';
    say(`A token scoped to project ${state.me.project} does not see the whole cloud's ${CLOUD_VIEWS.join(' and ')}`, 'error');
  }
  state.view = r.view;
  showOnly(`view-${r.view}`);
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === r.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `miniCloud · ${r.view[0].toUpperCase()}${r.view.slice(1)}`;
  if (r.view === 'topology') state.selected = r.arg;
  if (r.view !== 'flows') flows.stop();
  if (!state.cloud) await refresh();
  else render();
  if (r.view === 'flows') {
    renderFlowNodes();
    const filter = r.params.get('filter');
    if (filter !== null) {
      $('#flow-filter').value = filter;
      flows.setFilter(filter);
    }
    $('#flow-node').value = r.arg ?? '';
    await flows.open(r.arg ?? undefined);
  }
  schedule();
}

/**
 * With several controllers (etcd), which one this page talks to and which leads (/readyz); nothing with one
 * controller (generation 0) or an older controller.
 */
async function showLeadership() {
  const note = $('#leader-note');
  try {
    // Which controllers there are is shown to a cloud-wide token only (docs/api.md); a project's token sees none.
    const token = storedToken();
    const r = await (await fetch('/readyz', { cache: 'no-store', ...(token && { headers: { authorization: `Bearer ${token}` } }) })).json();
    if (!r.role || r.id === undefined || r.generation === '0') throw new Error('one controller, or not for this token');
    note.textContent = r.role === 'leader' ? `Controller ${r.id}: leader` : `Controller ${r.id}: follower (leader ${r.leader ?? 'unknown'})`;
    note.hidden = false;
  } catch {
    note.hidden = true;
  }
}

/**
 * A viewer token's page hides what it cannot do, a member's the admin's controls; a token scoped to a project shows
 * that project only, with the picker fixed. An older controller without /whoami shows every control.
 */
async function applyRole() {
  const note = $('#role-note');
  try {
    const me = await api('GET', '/whoami', undefined, storedToken(), { inProject: false });
    state.me = me;
    document.body.dataset.role = me.role;
    if (me.project) {
      document.body.dataset.scoped = '';
      chooseProject(me.project, false);
    } else {
      delete document.body.dataset.scoped;
      chooseProject(rememberedProject(), false);
    }
    const where = me.project ? ` of project ${me.project}` : '';
    note.textContent = me.role === 'viewer' ? `Read-only (viewer token${where})` : me.role === 'member' ? `Member token${where}` : '';
    note.hidden = note.textContent === '';
  } catch {
    state.me = undefined;
    delete document.body.dataset.role;
    delete document.body.dataset.scoped;
    note.hidden = true;
  }
}

async function signedIn() {
  state.signedIn = true;
  $('#nav').hidden = false;
  $('#top-actions').hidden = false;
  $('#sign-out').hidden = storedToken() === null;
  state.cloud = undefined;
  await applyRole();
  await go();
}

function wire() {
  whenUnauthorized(() => signInScreen('The token was not accepted (the controller answered 401). Sign in again.'));
  $('#sign-in-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    clearErrors(form);
    const token = $('#token').value.trim();
    if (!token) return void showError(form, { field: 'token', message: 'token: enter the API token' });
    const button = form.querySelector('button[type=submit]');
    // /whoami answers any valid token (a token scoped to a project may not list the nodes); an older controller
    // without it is asked for the nodes.
    const ok = await operation({ button, what: 'Signing in', done: 'Signed in', onError: (err) => showError(form, { field: 'token', message: err.message }) }, () =>
      api('GET', '/whoami', undefined, token, { inProject: false }).catch((e) => (e.status === 404 ? api('GET', '/nodes', undefined, token, { inProject: false }) : Promise.reject(e))),
    );
    if (!ok) return;
    storeToken(token, $('#remember').checked);
    $('#token').value = '';
    await signedIn();
  });
  $('#sign-out').addEventListener('click', () => {
    forgetToken();
    state.cloud = undefined;
    say('Signed out');
    signInScreen();
  });
  $('#refresh').addEventListener('click', async () => {
    await refresh();
    if (state.view === 'flows') await flows.poll();
    say(`Refreshed at ${clock()}`);
  });
  $('#project').addEventListener('change', (e) => showProject(e.currentTarget.value || null));
  $('#vm-pick').addEventListener('change', (e) => select(e.currentTarget.value || null));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.view === 'topology' && state.selected) select(null);
  });
  $('#flow-node').addEventListener('change', (e) => {
    location.hash = e.currentTarget.value ? `#/flows/${encodeURIComponent(e.currentTarget.value)}` : '#/flows';
  });
  $('#flow-filter').addEventListener('input', (e) => flows.setFilter(e.currentTarget.value));
  $('#resync').addEventListener('click', (e) => {
    if (flows.node) actions.resync(flows.node, e.currentTarget).then(() => flows.poll());
    else say('Choose a node first', 'error');
  });
  document.addEventListener('visibilitychange', () => {
    if (state.view === 'flows' && flows.node) {
      if (document.hidden) flows.stop();
      else flows.open(flows.node);
    }
  });
  window.addEventListener('hashchange', () => go());
  wireForms(refresh);
  wireProjectForms(refresh);
}

async function start() {
  wire();
  if (storedToken()) return signedIn();
  // A loopback demo may run without auth: then the API answers without a token and no sign-in is needed.
  try {
    await api('GET', '/nodes', undefined, null, { inProject: false });
    return signedIn();
  } catch {
    return signInScreen();
  }
}

start();
