/**
 * Where the read-only shared material (`shared/corpus`, `shared/research`)
 * is: `EINKLANG_SHARED`, else `../shared` beside the project root (the main
 * checkout and CI), else /work/shared (a git worktree under /work/wt/).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function sharedDir(): string {
  const env = process.env.EINKLANG_SHARED;
  if (env) return resolve(env);
  const beside = resolve(process.cwd(), '../shared');
  return existsSync(beside) ? beside : '/work/shared';
}

export function corpusPath(...parts: string[]): string {
  return join(sharedDir(), 'corpus', ...parts);
}
