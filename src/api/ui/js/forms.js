// Create forms: read their fields, and show the API's validation message next to the field it names
// (`error.field` of the API's error body), or above the buttons when it names no field of the form.

/** The form's named, non-empty fields as an object (numbers for type=number; `quotas.vms` nests as quotas: { vms }). */
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.type === 'submit' || el.type === 'button') continue;
    const v = el.value.trim();
    if (v === '') continue;
    const path = el.name.split('.');
    const leaf = path.pop();
    let at = out;
    for (const k of path) at = at[k] ??= {};
    at[leaf] = el.type === 'number' ? Number(v) : v;
  }
  return out;
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.field-error, .form-error')) {
    el.textContent = '';
    el.hidden = true;
  }
}

/** Puts the error next to its field (or on the form) and moves the focus there. Returns true. */
export function showError(form, err) {
  const field = err.field ?? '';
  const input = field ? (form.elements.namedItem(field) ?? form.elements.namedItem(field.split('.')[0])) : null;
  if (input && 'focus' in input) {
    const slot = form.querySelector(`#${input.id}-error`);
    if (slot) {
      slot.textContent = err.message;
      slot.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return true;
    }
  }
  const slot = form.querySelector('.form-error');
  slot.textContent = err.message;
  slot.hidden = false;
  return true;
}
