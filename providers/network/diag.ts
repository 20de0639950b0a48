/** Diagnostics positioned at a value of a manifest document (`res.positions`). */
import type { Diagnostic, Resource, Severity, SourcePos } from '../../engine/types.js';

/** Position of the value at `pointer` (`/spec/description`), else of the nearest parent, else of the document. */
export function posOf(res: Resource, pointer: string): SourcePos {
  let p = pointer;
  while (p !== '') {
    const hit = res.positions?.[p];
    if (hit) return { file: res.pos.file, line: hit[0], col: hit[1] };
    p = p.slice(0, p.lastIndexOf('/'));
  }
  return res.pos;
}

export function diag(res: Resource, pointer: string, code: string, message: string, severity: Severity = 'error'): Diagnostic {
  return { severity, code, message, pos: posOf(res, pointer) };
}
