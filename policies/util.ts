/** Small helpers shared by the policy modules. */
import type { Resource, SourcePos } from '../engine/types.js';

/** Position of the value at `pointer` in a resource (engine/positions.ts). */
export { posOf as posAt } from '../engine/positions.js';

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
export { META_KIND_NAMES as META_KINDS } from '../engine/meta-kinds.js';
