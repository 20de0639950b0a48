/**
 * The repository a run works in, and its environments by name. `apply`
 * takes nothing from the plan about where manifests live: it finds the plan's
 * environments by their names in the repository it runs in (the git top
 * level of the working directory, else the working directory).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ENVIRONMENT_FILE } from './discover.js';
import { loadFile } from './load.js';
import { gitTopLevel } from './git.js';

export { gitTopLevel };

const SKIP = new Set(['node_modules', 'dist', '.git', '.einklang']);
const MAX_DEPTH = 6;

/** Folders holding an environment.yaml under `root` (git: the tracked ones; else a bounded walk). */
function environmentFiles(root: string, inGit: boolean): string[] {
  if (inGit) {
    try {
      const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', `*${ENVIRONMENT_FILE}`], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000, maxBuffer: 64 * 1024 * 1024 });
      return out
        .toString()
        .split('\0')
        .filter((f) => f === ENVIRONMENT_FILE || f.endsWith('/' + ENVIRONMENT_FILE))
        .map((f) => join(root, f));
    } catch {
      /* fall back to walking */
    }
  }
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > MAX_DEPTH) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isFile() && e.name === ENVIRONMENT_FILE) out.push(join(dir, e.name));
      else if (e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name)) walk(join(dir, e.name), depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

export interface FoundEnvironments {
  /** The repository searched. */
  root: string;
  /** Environment folder per requested name. */
  dirs: Map<string, string>;
  /** Problems: a name found nowhere, or in more than one folder. */
  problems: string[];
}

/**
 * The folders of the named environments in the repository around `cwd`.
 * Where a name occurs in several folders, `hints` (the plan's own paths,
 * relative to `cwd`) may pick one of those real folders: which one only
 * decides which manifests are compared with the plan's hash, never the rules
 * (those come from the trusted revision by name).
 */
export function findEnvironments(names: string[], cwd = process.cwd(), hints: string[] = []): FoundEnvironments {
  const top = gitTopLevel(cwd);
  const root = top ?? resolve(cwd);
  const byName = new Map<string, string[]>();
  for (const file of environmentFiles(root, top !== null)) {
    if (!existsSync(file)) continue;
    const loaded = loadFile(file, file);
    const value = loaded.documents.find((d) => (d.value as { kind?: unknown })?.kind === 'Environment')?.value as { metadata?: { name?: unknown } } | undefined;
    const name = value?.metadata?.name;
    if (typeof name !== 'string') continue;
    (byName.get(name) ?? byName.set(name, []).get(name)!).push(dirname(file));
  }
  const dirs = new Map<string, string>();
  const problems: string[] = [];
  for (const n of names) {
    const found = byName.get(n) ?? [];
    if (found.length === 0) problems.push(`environment ${n} of the plan is not in this repository (${root})`);
    else if (found.length === 1) dirs.set(n, found[0]);
    else {
      const hinted = found.filter((d) => hints.some((h) => typeof h === 'string' && resolve(cwd, h) === d));
      if (hinted.length === 1) dirs.set(n, hinted[0]);
      else problems.push(`environment ${n} is declared in more than one folder (${found.join(', ')})`);
    }
  }
  return { root, dirs, problems };
}
