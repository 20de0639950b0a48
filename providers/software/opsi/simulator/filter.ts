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

type Test = (have: unknown) => boolean;

const isNull = (v: unknown) => v === null || v === undefined;

/** The test of one filter value, compiled once per call (not once per row). */
function valueTest(want: unknown): Test {
  if (want === null) return isNull;
  if (typeof want === 'boolean') return (have) => !isNull(have) && Number(have) === Number(want);
  if (typeof want === 'string' && want.includes('*')) {
    const re = new RegExp('^' + want.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'is');
    return (have) => !isNull(have) && re.test(String(have));
  }
  if (typeof want === 'string' && (want.startsWith('<') || want.startsWith('>'))) {
    const bound = want.slice(1);
    const less = want[0] === '<';
    return (have) => {
      if (isNull(have)) return false;
      const [a, b] = typeof have === 'number' ? [have, Number(bound)] : [String(have), bound];
      return less ? a < b : a > b;
    };
  }
  const w = String(want).toLowerCase();
  return (have) => !isNull(have) && (have === w || String(have).toLowerCase() === w);
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
    if (values.length > 10) {
      const set = new Set(values.map((v) => String(v).toLowerCase()));
      conds.push((row) => {
        const v = row[attr];
        return !isNull(v) && (set.has(v as string) || set.has(String(v).toLowerCase()));
      });
    } else {
      const tests = values.map(valueTest);
      conds.push((row) => tests.some((t) => t(row[attr])));
    }
  }
  return (row) => conds.every((c) => c(row));
}
