/**
 * Where the shared, read-only material lives (corpus, research): env
 * EINKLANG_SHARED, else `../shared` beside the project (a clean checkout next
 * to it), else /work/shared (the team's machines, where the project is a git
 * worktree one level deeper).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function sharedDir(): string {
  if (process.env.EINKLANG_SHARED) return resolve(process.env.EINKLANG_SHARED);
  const beside = resolve(process.cwd(), '../shared');
  return existsSync(beside) ? beside : '/work/shared';
}

export function sharedPath(...parts: string[]): string {
  return join(sharedDir(), ...parts);
}
