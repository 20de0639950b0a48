/**
 * Where the shared, read-only material lives: the real-world corpus and the
 * research sheets. Worktrees sit elsewhere than the main checkout, so tests
 * never use a path relative to the project: EINKLANG_SHARED, default /work/shared.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const SHARED = process.env.EINKLANG_SHARED ?? '/work/shared';

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
