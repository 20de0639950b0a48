/**
 * opsi's filter semantics for `*_getObjects(attributes, **filter)`, as the
 * MySQL backend builds its WHERE clause (opsiconfd backend/mysql/__init__.py
 * get_where, 4.3.24.1):
 * - attributes AND together; the values of one attribute (a list) OR together;
 * - an empty list or a null value filters nothing (an empty `clientId: []`
 *   returns every row: a client must never send one by accident);
 * - a string with `*` is a LIKE pattern (`*` -> `%`, `_` literal);
 *   a leading `<` or `>` compares; a boolean compares as 0/1;
 * - more than 10 values become `IN (...)`: plain equality, no wildcards;
 * - strings compare case-insensitively (MySQL's utf8_general_ci collation);
 * - an attribute the table does not have is `ValueError: Invalid filter ...`,
 *   except `type` on tables without a type column, which is ignored.
 */
import { valueError } from './objects.js';

function scalarEquals(have: unknown, want: unknown): boolean {
  if (want === null) return have === null || have === undefined;
  if (have === null || have === undefined) return false;
  if (typeof want === 'boolean') return Number(have) === Number(want);
  return String(have).toLowerCase() === String(want).toLowerCase();
}

function like(have: unknown, pattern: string): boolean {
  if (have === null || have === undefined) return false;
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'is');
  return re.test(String(have));
}

function compare(have: unknown, op: '<' | '>', bound: string): boolean {
  if (have === null || have === undefined) return false;
  const a = typeof have === 'number' ? have : String(have);
  const b = typeof have === 'number' ? Number(bound) : bound;
  return op === '<' ? a < b : a > b;
}

function matchesValue(have: unknown, want: unknown, inList: boolean): boolean {
  if (typeof want === 'string' && !inList) {
    if (want.includes('*')) return like(have, want);
    if (want.startsWith('<') || want.startsWith('>')) return compare(have, want[0] as '<' | '>', want.slice(1));
  }
  return scalarEquals(have, want);
}

/** A predicate for `filter` over rows of a table with these `columns` (attribute names). */
export function compileFilter(filter: Record<string, unknown> | undefined, columns: readonly string[], hasTypeColumn: boolean): (row: Record<string, unknown>) => boolean {
  const conds: ((row: Record<string, unknown>) => boolean)[] = [];
  for (const [attr, raw] of Object.entries(filter ?? {})) {
    const known = columns.includes(attr) || (attr === 'type' && hasTypeColumn);
    if (!known) {
      if (attr === 'type') continue;
      throw valueError(`Invalid filter '${attr}'=${JSON.stringify(raw)} used, possible attributes are: ${columns.join(', ')}`);
    }
    if (raw === null || raw === undefined) continue;
    let values = Array.isArray(raw) ? [...raw] : [raw];
    if (!values.length) continue;
    if (attr === 'type' && values.includes('OpsiDepotserver') && !values.includes('OpsiConfigserver')) values = [...values, 'OpsiConfigserver'];
    const inList = values.length > 10;
    const set = inList ? new Set(values.map((v) => String(v).toLowerCase())) : undefined;
    conds.push((row) => (set ? row[attr] !== null && row[attr] !== undefined && set.has(String(row[attr]).toLowerCase()) : values.some((v) => matchesValue(row[attr], v, false))));
  }
  return (row) => conds.every((c) => c(row));
}
