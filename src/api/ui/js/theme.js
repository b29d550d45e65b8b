// The colour theme, set before the first paint. This is a classic script loaded in <head> (a module would run only
// after the page is parsed, and the CSP allows no inline script), so <html data-theme> is in place before the body
// is rendered and the page never flashes the other theme. The choice is 'light', 'dark' or 'system' (follow the
// system's prefers-color-scheme, also when it changes); only a forced choice is kept in localStorage.
(() => {
  const KEY = 'minicloud.theme';
  const CHOICES = ['system', 'light', 'dark'];
  const root = document.documentElement;
  const systemDark = window.matchMedia('(prefers-color-scheme: dark)');

  function storedChoice() {
    try {
      const v = localStorage.getItem(KEY);
      return CHOICES.includes(v) ? v : 'system';
    } catch {
      return 'system'; // storage disabled: follow the system
    }
  }

  function apply(choice) {
    root.dataset.themeChoice = choice;
    root.dataset.theme = choice === 'system' ? (systemDark.matches ? 'dark' : 'light') : choice;
    const picker = document.getElementById('theme');
    if (picker) picker.value = choice;
  }

  function choose(choice) {
    try {
      if (choice === 'system') localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, choice);
    } catch {
      // storage disabled: the choice lasts until the page is left
    }
    apply(choice);
  }

  apply(storedChoice());
  systemDark.addEventListener('change', () => apply(root.dataset.themeChoice));
  // Another tab of the UI changed the choice.
  window.addEventListener('storage', (e) => {
    if (e.key === KEY || e.key === null) apply(storedChoice());
  });
  document.addEventListener('DOMContentLoaded', () => {
    const picker = document.getElementById('theme');
    picker.value = root.dataset.themeChoice;
    picker.addEventListener('change', () => choose(CHOICES.includes(picker.value) ? picker.value : 'system'));
  });
})();
