// `promtool check metrics` (Debian's prometheus package) on a scrape: its complaints, empty when clean.
import { spawnSync } from 'node:child_process';

export function promtoolAvailable(): boolean {
  return spawnSync('promtool', ['--version']).status === 0;
}

export function promtoolProblems(scrape: string): string[] {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8' });
  if (r.error) throw r.error;
  const out = `${r.stdout}${r.stderr}`.trim();
  return r.status === 0 && out === '' ? [] : out.split('\n');
}
