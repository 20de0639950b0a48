/**
 * Field-level comparison of a desired object with its live counterpart.
 *
 * Only fields the manifest sets are managed: a live field the desired state
 * does not mention is never a difference. Both sides go through the kind's
 * `normalize` first, so "644" and "0644" are the same mode.
 */
import type { Action, FieldDiff, KindDef } from './types.js';
import { canonicalJson } from './hash.js';

export interface ObjectDiff {
  actions: Action[];
  diff: FieldDiff[];
}

export function normalizeState(def: KindDef | undefined, state: Record<string, unknown>): Record<string, unknown> {
  return def?.normalize ? def.normalize({ ...state }) : state;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a == null || b == null) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON-pointer escaping of one path segment. */
export function pointerSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Compare desired (null = should be absent) with live (null = does not exist).
 * Returns no actions when they agree.
 */
export function diffObject(
  def: KindDef | undefined,
  desired: Record<string, unknown> | null,
  live: Record<string, unknown> | null,
): ObjectDiff {
  if (desired == null && live == null) return { actions: [], diff: [] };
  if (desired == null) return { actions: ['delete'], diff: [] };
  const want = normalizeState(def, desired);
  if (live == null) {
    return {
      actions: ['create'],
      diff: Object.keys(want).sort().map((k) => ({ path: '/' + pointerSegment(k), before: undefined, after: want[k] })),
    };
  }
  const have = normalizeState(def, live);
  const diff: FieldDiff[] = [];
  for (const k of Object.keys(want).sort()) {
    if (want[k] === undefined) continue;
    if (!equal(want[k], have[k])) diff.push({ path: '/' + pointerSegment(k), before: have[k], after: want[k] });
  }
  if (diff.length === 0) return { actions: [], diff };
  const replace = def?.replaceOn?.some((f) => diff.some((d) => d.path === '/' + pointerSegment(f)));
  return { actions: replace ? ['delete', 'create'] : ['update'], diff };
}
