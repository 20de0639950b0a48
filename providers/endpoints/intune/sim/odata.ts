/**
 * The OData query options the Graph simulator understands, and how Graph
 * refuses the rest (HTTP 400 with its error body), so that a driver relying on
 * something the simulator does not model fails here rather than in production:
 *
 * - `$filter`: `prop eq|ne literal`, `prop in ('a','b')`, `startswith(prop,'x')`,
 *   `and`, `or`, `not`, parentheses; string literals in single quotes with ''
 *   for a quote; true, false, null, numbers. Only the properties a collection
 *   declares filterable; string comparison ignores case (Entra ID's does).
 * - `$select`: a property the type does not have is refused
 *   ("Could not find a property named 'x' on type ...").
 * - `$expand`: top-level list, nested options in parentheses kept as text.
 * - paging: `$top` (up to the collection's maximum) and `$skiptoken`;
 *   `@odata.nextLink` is an absolute URL on the simulator's own origin.
 */
import { graphError } from './errors.js';

type Value = string | number | boolean | null;
type Node =
  | { op: 'and' | 'or'; left: Node; right: Node }
  | { op: 'not'; arg: Node }
  | { op: 'eq' | 'ne'; prop: string; value: Value }
  | { op: 'in'; prop: string; values: Value[] }
  | { op: 'startswith'; prop: string; value: string };

const TOKEN = /\s*(\(|\)|,|'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_./]*|-?\d+(?:\.\d+)?)/y;

function tokens(text: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (!m) throw graphError(400, 'BadRequest', `Invalid filter clause: syntax error at position ${pos} in '${text}'.`);
    out.push(m[1]);
    pos = TOKEN.lastIndex;
  }
  return out;
}

function literal(t: string | undefined, text: string): Value {
  if (t === undefined) throw graphError(400, 'BadRequest', `Invalid filter clause: '${text}' ends too early.`);
  if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t === 'true' || t === 'false') return t === 'true';
  if (t === 'null') return null;
  if (/^-?\d/.test(t)) return Number(t);
  throw graphError(400, 'BadRequest', `Invalid filter clause: '${t}' is not a literal.`);
}

/** Parses `$filter`; `filterable` are the properties the collection allows in it. */
export function parseFilter(text: string, filterable: readonly string[]): Node {
  const ts = tokens(text);
  let i = 0;
  const peek = () => ts[i];
  const take = (want?: string) => {
    const t = ts[i++];
    if (want !== undefined && t?.toLowerCase() !== want) throw graphError(400, 'BadRequest', `Invalid filter clause: expected '${want}' in '${text}'.`);
    return t;
  };
  const prop = (t: string | undefined): string => {
    if (!t || !filterable.includes(t)) throw graphError(400, 'BadRequest', `Unsupported or invalid query filter clause specified for property '${t}' of resource.`);
    return t;
  };
  const primary = (): Node => {
    const t = take();
    if (t === '(') {
      const n = or();
      take(')');
      return n;
    }
    if (t?.toLowerCase() === 'not') return { op: 'not', arg: primary() };
    if (t?.toLowerCase() === 'startswith') {
      take('(');
      const p = prop(take());
      take(',');
      const v = literal(take(), text);
      take(')');
      if (typeof v !== 'string') throw graphError(400, 'BadRequest', 'Invalid filter clause: startswith takes a string.');
      return { op: 'startswith', prop: p, value: v };
    }
    const p = prop(t);
    const op = take()?.toLowerCase();
    if (op === 'eq' || op === 'ne') return { op, prop: p, value: literal(take(), text) };
    if (op === 'in') {
      take('(');
      const values: Value[] = [literal(take(), text)];
      while (peek() === ',') {
        take();
        values.push(literal(take(), text));
      }
      take(')');
      return { op: 'in', prop: p, values };
    }
    throw graphError(400, 'BadRequest', `Invalid filter clause: unsupported operator '${op}'.`);
  };
  const and = (): Node => {
    let n = primary();
    while (peek()?.toLowerCase() === 'and') {
      take();
      n = { op: 'and', left: n, right: primary() };
    }
    return n;
  };
  const or = (): Node => {
    let n = and();
    while (peek()?.toLowerCase() === 'or') {
      take();
      n = { op: 'or', left: n, right: and() };
    }
    return n;
  };
  const n = or();
  if (i !== ts.length) throw graphError(400, 'BadRequest', `Invalid filter clause: unexpected '${ts[i]}' in '${text}'.`);
  return n;
}

const same = (a: unknown, b: Value) => (typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : (a ?? null) === b);

export function matches(n: Node, o: Record<string, unknown>): boolean {
  switch (n.op) {
    case 'and':
      return matches(n.left, o) && matches(n.right, o);
    case 'or':
      return matches(n.left, o) || matches(n.right, o);
    case 'not':
      return !matches(n.arg, o);
    case 'eq':
      return same(o[n.prop], n.value);
    case 'ne':
      return !same(o[n.prop], n.value);
    case 'in':
      return n.values.some((v) => same(o[n.prop], v));
    case 'startswith':
      return typeof o[n.prop] === 'string' && (o[n.prop] as string).toLowerCase().startsWith(n.value.toLowerCase());
  }
}

/** Top-level items of `$expand` / `$select` (commas inside parentheses stay). */
export function splitList(text: string | null): string[] {
  if (!text) return [];
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** The object with only the selected properties (plus `@odata.type` where the collection always carries it). */
export function select(o: Record<string, unknown>, props: string[], typeName: string, keepType: boolean): Record<string, unknown> {
  if (!props.length) return o;
  const out: Record<string, unknown> = {};
  if (keepType && o['@odata.type'] !== undefined) out['@odata.type'] = o['@odata.type'];
  for (const p of props) {
    if (!(p in o)) throw graphError(400, 'BadRequest', `Could not find a property named '${p}' on type '${typeName}'.`);
    out[p] = o[p];
  }
  return out;
}

export interface PageOptions {
  /** Page size without $top. */
  defaultSize: number;
  /** Largest $top accepted. */
  maxSize: number;
  /** The server hands out at most this many per page whatever $top says (tests: a small page size). */
  cap?: number;
}

/** One page of `items` and the next link (same path and options, a new $skiptoken). */
export function page<T>(items: T[], query: URLSearchParams, origin: string, path: string, o: PageOptions): { value: T[]; next?: string } {
  const topText = query.get('$top');
  const top = topText === null ? o.defaultSize : Number(topText);
  if (!Number.isInteger(top) || top < 1) throw graphError(400, 'BadRequest', `Invalid page size specified: '${topText}'.`);
  if (top > o.maxSize) throw graphError(400, 'BadRequest', `Invalid page size specified: '${top}'. Must be between 1 and ${o.maxSize} inclusive.`);
  const size = Math.min(top, o.cap ?? Infinity);
  const token = query.get('$skiptoken');
  let offset = 0;
  if (token !== null) {
    offset = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^offset:/, ''));
    if (!Number.isInteger(offset) || offset < 0) throw graphError(400, 'BadRequest', 'The $skiptoken is not valid.');
  }
  const value = items.slice(offset, offset + size);
  if (offset + size >= items.length) return { value };
  const q = new URLSearchParams(query);
  q.set('$skiptoken', Buffer.from(`offset:${offset + size}`).toString('base64url'));
  return { value, next: `${origin}${path}?${q.toString().replace(/%24/g, '$')}` };
}
