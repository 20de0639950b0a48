/**
 * Where the shared, read-only material lives (the real-world corpus, the
 * research sheets): env EINKLANG_SHARED, else `../shared` beside the project
 * (a clean checkout next to it, as CI has it), else /work/shared (the team's
 * machines, where the project may be a git worktree elsewhere).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../engine/paths.js';

function sharedDir(): string {
  if (process.env.EINKLANG_SHARED) return resolve(process.env.EINKLANG_SHARED);
  const beside = resolve(packageRoot, '../shared');
  return existsSync(beside) ? beside : '/work/shared';
}

export const SHARED = sharedDir();

/** Absolute path of anything under the shared folder. */
export function sharedPath(...parts: string[]): string {
  return join(SHARED, ...parts);
}

/** Absolute path of a file or folder under the corpus. */
export function corpusPath(...parts: string[]): string {
  return join(SHARED, 'corpus', ...parts);
}

/** A corpus JSON file, parsed. */
export function corpusJson(...parts: string[]): any {
  return JSON.parse(readFileSync(corpusPath(...parts), 'utf8'));
}

/** The `.json` files of a corpus folder (not recursive), sorted. */
export function corpusJsonFiles(...parts: string[]): string[] {
  return readdirSync(corpusPath(...parts))
    .filter((f) => f.endsWith('.json'))
    .sort();
}
