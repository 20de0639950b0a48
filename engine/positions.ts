/**
 * Where a diagnostic points: the one helper every kind, driver and policy
 * uses to turn a JSON pointer inside a manifest document into file:line:col.
 */
import type { Diagnostic, Resource, Severity, SourcePos } from './model.js';

/**
 * Position of the value at `pointer` (`/spec/description`), else of its
 * nearest parent that has one, else of the document itself.
 */
export function posOf(res: Resource, pointer?: string): SourcePos {
  let p = pointer ?? '';
  while (p !== '') {
    const hit = res.positions?.[p];
    if (hit) return { file: res.pos.file, line: hit[0], col: hit[1] };
    p = p.slice(0, p.lastIndexOf('/'));
  }
  return { ...res.pos };
}

/** A diagnostic positioned at a value of `res`. */
export function diagnosticAt(res: Resource, pointer: string, code: string, message: string, severity: Severity = 'error'): Diagnostic {
  return { severity, code, message, pos: posOf(res, pointer) };
}
