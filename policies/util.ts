/** Small helpers shared by the policy modules. */
import type { Resource, SourcePos } from '../engine/types.js';

/** Position of the value at `pointer` in a resource, falling back to the document start. */
export function posAt(res: Resource, pointer?: string): SourcePos {
  const p = pointer ? res.positions?.[pointer] : undefined;
  if (p) return { file: res.pos.file, line: p[0], col: p[1] };
  return { ...res.pos };
}

/** `file:line` for messages (the exact column is in `pos`). */
export function where(pos: SourcePos | undefined): string {
  return pos ? `${pos.file}:${pos.line}` : '(unknown position)';
}

/** JSON-pointer escaping of one segment. */
export function seg(s: string | number): string {
  return String(s).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Environment resources by environment name. */
export function environmentsByName(resources: Resource[]): Map<string, Resource> {
  const m = new Map<string, Resource>();
  for (const r of resources) if (r.kind === 'Environment' && !m.has(r.env)) m.set(r.env, r);
  return m;
}

/** Kinds the engine interprets itself; policies about devices skip them. */
export const META_KINDS = new Set(['Environment', 'Profile', 'Policy', 'Reviewer']);
