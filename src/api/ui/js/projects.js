// Projects: the header's picker (which project the page shows and creates in), the projects view (each project's
// quotas against its usage; an admin creates projects, sets quotas, deletes empty ones) and the chosen project's
// quotas above the overview.
import { api, chooseProject, chosenProject } from './api.js';
import { $, gridTable, h, replaceKeepingFocus } from './dom.js';
import { mib } from './format.js';
import { clearErrors, formValues, showError } from './forms.js';
import { operation, say } from './status.js';
import { meter, opButton } from './widgets.js';

/** The kinds of quota, in the API's names; `floatingIps` only where the controller counts them (its usage says so). */
const QUOTAS = [
  { key: 'vms', label: 'VMs', fmt: String },
  { key: 'vcpus', label: 'vCPUs', fmt: String },
  { key: 'memoryMiB', label: 'Memory', fmt: mib },
  { key: 'subnets', label: 'Subnets', fmt: String },
  { key: 'floatingIps', label: 'Floating IPs', fmt: String, optional: true },
];

/** The kinds this controller knows: the fixed ones, and the optional ones its projects' usage reports. */
export function quotaKinds(projects) {
  return QUOTAS.filter((q) => !q.optional || projects.some((p) => p.usage?.[q.key] !== undefined));
}

/** Usage against the quota: a bar when there is one, the plain count when the kind is unlimited. */
function quotaMeter(kind, project) {
  const used = project.usage?.[kind.key] ?? 0;
  const limit = project.quotas?.[kind.key];
  if (limit === undefined) return h('div', { class: 'meter' }, h('span', { class: 'meter-text' }, `${kind.label} ${kind.fmt(used)} (no quota)`));
  const m = meter(kind.label, used, limit, kind.fmt);
  if (used >= limit) m.classList.add('full');
  return m;
}

/** The chosen project's quotas as a row of meters (above the overview); nothing in the all-projects view. */
export function renderProjectQuotas(cloud) {
  const el = $('#project-quotas');
  const p = cloud.project ? cloud.projects.find((x) => x.name === cloud.project) : undefined;
  el.hidden = !p;
  if (!p) return void el.replaceChildren();
  el.replaceChildren(
    h('h2', {}, `Project ${p.name}`, p.description ? h('span', { class: 'hint' }, ` · ${p.description}`) : null),
    h('div', { class: 'quota-row' }, quotaKinds(cloud.projects).map((k) => quotaMeter(k, p))),
  );
}

/**
 * The header's picker. An unscoped token: "All projects" and every project, the choice kept across reloads; a token
 * scoped to a project: that one, fixed. Returns true when the remembered choice is gone (the project was deleted)
 * and the page falls back to every project.
 */
export function renderPicker(projects, me) {
  const pick = $('#project-pick');
  const select = $('#project');
  // An older controller without projects: no picker.
  pick.hidden = projects.length === 0;
  if (me?.project) {
    select.replaceChildren(h('option', { value: me.project }, me.project));
    select.disabled = true;
    select.title = `This token is scoped to project ${me.project}`;
    return false;
  }
  const keep = chosenProject();
  select.disabled = false;
  select.removeAttribute('title');
  select.replaceChildren(h('option', { value: '' }, 'All projects'), ...projects.map((p) => h('option', { value: p.name }, p.name)));
  if (keep && projects.length && !projects.some((p) => p.name === keep)) {
    chooseProject(null);
    select.value = '';
    say(`Project ${keep} no longer exists: showing every project`, 'error');
    return true;
  }
  select.value = keep ?? '';
  return false;
}

function projectsTable(cloud, ctx) {
  const kinds = quotaKinds(cloud.projects);
  if (cloud.projects.length === 0) return h('p', { class: 'empty' }, 'This controller has no projects.');
  return gridTable({
    id: 'projects-table',
    caption: 'Projects',
    headers: ['Project', 'Overlay', 'Default group', ...kinds.map((k) => k.label), ''],
    rows: cloud.projects.map((p) =>
      h(
        'tr',
        { 'data-project': p.name, class: p.name === cloud.project ? 'chosen' : '' },
        h('th', { scope: 'row' }, p.name, p.name === cloud.project ? h('span', { class: 'badge ok' }, 'shown') : null, p.description ? h('div', { class: 'hint' }, p.description) : null),
        h('td', { class: 'mono' }, p.overlay),
        h('td', {}, p.securityGroup),
        kinds.map((k) => h('td', {}, quotaMeter(k, p))),
        h(
          'td',
          { class: 'actions' },
          h('button', { type: 'button', class: 'small', 'data-key': `show:${p.name}`, 'aria-label': `Show project ${p.name}`, onclick: () => ctx.showProject(p.name) }, 'Show'),
          h('button', { type: 'button', class: 'small admin-only', 'data-key': `quotas:${p.name}`, 'aria-label': `Quotas of ${p.name}`, onclick: () => editQuotas(cloud, p.name) }, 'Quotas'),
          p.name === 'default'
            ? null
            : opButton('Delete', `project-delete:${p.name}`, (e) => ctx.deleteProject(p.name, e.currentTarget), { danger: true, ariaLabel: `Delete project ${p.name}`, className: 'admin-only' }),
        ),
      ),
    ),
  });
}

/** The quota fields of a form, one per kind, named `quotas.KIND` (empty: no quota). */
function quotaFields(form, idPrefix, kinds) {
  const box = form.querySelector('.quota-fields');
  if (box.dataset.kinds === kinds.map((k) => k.key).join()) return;
  box.dataset.kinds = kinds.map((k) => k.key).join();
  box.replaceChildren(
    ...kinds.map((k) => {
      const id = `${idPrefix}-${k.key}`;
      return h(
        'div',
        { class: 'field' },
        h('label', { for: id }, `Max ${k.label}${k.key === 'memoryMiB' ? ' (MiB)' : ''}`),
        h('input', { id, name: `quotas.${k.key}`, type: 'number', inputmode: 'numeric', min: 0, placeholder: 'no quota', 'aria-describedby': `${id}-error` }),
        h('p', { class: 'field-error', id: `${id}-error`, hidden: true }),
      );
    }),
  );
}

/** Fills the quota form with `name`'s quotas and moves the focus to it. */
function editQuotas(cloud, name) {
  const form = $('#quota-form');
  $('#quota-project').value = name;
  fillQuotaForm(cloud, name);
  form.scrollIntoView({ block: 'nearest' });
  form.querySelector('input')?.focus();
}

function fillQuotaForm(cloud, name) {
  const form = $('#quota-form');
  const p = cloud.projects.find((x) => x.name === name);
  form.dataset.for = name ?? '';
  clearErrors(form);
  for (const k of quotaKinds(cloud.projects)) {
    const input = form.elements.namedItem(`quotas.${k.key}`);
    if (input) input.value = p?.quotas?.[k.key] ?? '';
  }
}

let current;

export function renderProjects(cloud, ctx) {
  current = cloud;
  replaceKeepingFocus($('#projects'), projectsTable(cloud, ctx));
  const kinds = quotaKinds(cloud.projects);
  quotaFields($('#project-form'), 'project-quota', kinds);
  quotaFields($('#quota-form'), 'quota', kinds);
  const select = $('#quota-project');
  const keep = select.value;
  select.replaceChildren(...cloud.projects.map((p) => h('option', { value: p.name }, p.name)));
  select.value = cloud.projects.some((p) => p.name === keep) ? keep : (cloud.project ?? cloud.projects[0]?.name ?? '');
  // Filled when the project changes, not at every refresh: the operator may be typing.
  if ($('#quota-form').dataset.for !== select.value) fillQuotaForm(cloud, select.value);
}

/** Wires the projects view's two forms once; `refresh` reloads the cloud after a change. */
export function wireProjectForms(refresh) {
  const projectForm = $('#project-form');
  projectForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(projectForm);
    const body = formValues(projectForm);
    const button = projectForm.querySelector('button[type=submit]');
    const ok = await operation({ button, what: `Creating project ${body.name ?? ''}`.trim(), onError: (err) => showError(projectForm, err) }, () =>
      api('POST', '/projects', body),
    );
    if (ok) {
      projectForm.reset();
      await refresh();
    }
  });

  const quotaForm = $('#quota-form');
  $('#quota-project').addEventListener('change', (e) => current && fillQuotaForm(current, e.currentTarget.value));
  quotaForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(quotaForm);
    const name = $('#quota-project').value;
    if (!name) return void showError(quotaForm, { message: 'choose a project' });
    const quotas = formValues(quotaForm).quotas ?? {};
    const button = quotaForm.querySelector('button[type=submit]');
    const ok = await operation({ button, what: `Setting the quotas of ${name}`, onError: (err) => showError(quotaForm, err) }, () =>
      api('PATCH', `/projects/${encodeURIComponent(name)}`, { quotas }),
    );
    if (ok) {
      quotaForm.dataset.for = '';
      await refresh();
    }
  });
}
