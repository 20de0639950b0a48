/**
 * Finds environment folders and their manifest files.
 *
 * An environment is a folder with an `environment.yaml`. A PATH given on the
 * command line is either such a folder or a folder whose direct subfolders
 * are environments (e.g. `environments/demo-city`). The folder that holds the
 * environment folders is the "environments root": profiles are resolved
 * against it, and repository-wide policies (zone separation) read every
 * environment below it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Diagnostic } from './types.js';

export interface EnvironmentFolder {
  dir: string;
  root: string;
  /** Manifest files of the environment, environment.yaml first. */
  files: string[];
}

const MANIFEST = /\.ya?ml$/i;
export const ENVIRONMENT_FILE = 'environment.yaml';
/** Folders inside an environment that never hold manifests. */
const SKIP_DIRS = new Set(['keys', 'node_modules', 'secrets']);

export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
}

export function listManifests(dir: string, skipEnvironmentFile = false): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 8) return;
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !existsSync(join(p, ENVIRONMENT_FILE))) walk(p, depth + 1);
      } else if (e.isFile() && MANIFEST.test(e.name)) {
        if (skipEnvironmentFile && d === dir && e.name === ENVIRONMENT_FILE) continue;
        out.push(p);
      }
    }
  };
  walk(dir, 0);
  return out;
}

function envFolder(dir: string): EnvironmentFolder {
  return { dir, root: dirname(dir), files: [join(dir, ENVIRONMENT_FILE), ...listManifests(dir, true)] };
}

/** Environment folders named by PATHs, each once. */
export function discoverEnvironments(paths: string[]): { envs: EnvironmentFolder[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const seen = new Map<string, EnvironmentFolder>();
  for (const raw of paths) {
    const p = resolve(raw);
    const pos = { file: raw, line: 1, col: 1 };
    let st;
    try {
      st = statSync(p);
    } catch {
      diagnostics.push({ severity: 'error', code: 'E_PATH', message: 'no such file or folder', pos });
      continue;
    }
    if (st.isFile()) {
      if (p.endsWith('/' + ENVIRONMENT_FILE)) {
        seen.set(dirname(p), envFolder(dirname(p)));
        continue;
      }
      diagnostics.push({ severity: 'error', code: 'E_PATH', message: 'expected an environment folder (with environment.yaml) or a folder of environment folders', pos });
      continue;
    }
    if (existsSync(join(p, ENVIRONMENT_FILE))) {
      seen.set(p, envFolder(p));
      continue;
    }
    const subs = readdirSync(p, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && existsSync(join(p, e.name, ENVIRONMENT_FILE)))
      .map((e) => join(p, e.name))
      .sort();
    if (!subs.length) {
      diagnostics.push({ severity: 'error', code: 'E_PATH', message: `no ${ENVIRONMENT_FILE} here or in any direct subfolder`, pos });
      continue;
    }
    for (const s of subs) seen.set(s, envFolder(s));
  }
  return { envs: [...seen.values()], diagnostics };
}

/** Every environment folder under the roots of the given environments (for repository-wide policies). */
export function siblingEnvironments(envs: EnvironmentFolder[]): EnvironmentFolder[] {
  const roots = new Set(envs.map((e) => e.root));
  const out = new Map<string, EnvironmentFolder>();
  for (const root of roots) {
    for (const e of readdirSync(root, { withFileTypes: true })) {
      const d = join(root, e.name);
      if (e.isDirectory() && !e.name.startsWith('.') && existsSync(join(d, ENVIRONMENT_FILE))) out.set(d, envFolder(d));
    }
  }
  return [...out.values()].sort((a, b) => a.dir.localeCompare(b.dir));
}
