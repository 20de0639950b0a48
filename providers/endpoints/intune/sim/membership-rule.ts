/**
 * Dynamic membership rules of device groups, as far as the simulator
 * evaluates them: `device.<property> -eq|-ne|-startsWith|-contains "value"`,
 * `device.devicePhysicalIds -any (_ -eq|-startsWith "value")`, joined by
 * `-and` / `-or`, with `-not` and parentheses (Entra ID's rule syntax,
 * learn.microsoft.com "Dynamic membership rules for groups"). Comparisons
 * ignore case, as Entra ID's do. A rule outside this subset is refused with
 * 400 when the group is created, so a test never silently gets no members.
 * Entra ID evaluates rules asynchronously; the simulator at once.
 */
import { graphError } from './errors.js';

export interface RuleDevice {
  displayName: string;
  deviceOSType: string;
  deviceOSVersion: string;
  deviceModel: string;
  deviceManufacturer: string;
  devicePhysicalIds: string[];
}

type Rule = (d: RuleDevice) => boolean;

const PROPS = ['displayName', 'deviceOSType', 'deviceOSVersion', 'deviceModel', 'deviceManufacturer'] as const;
const TOKEN = /\s*("(?:[^"]|"")*"|\(|\)|-[A-Za-z]+|device\.[A-Za-z]+|_)/y;

function compare(op: string, have: string, want: string): boolean {
  const h = have.toLowerCase();
  const w = want.toLowerCase();
  switch (op) {
    case '-eq':
      return h === w;
    case '-ne':
      return h !== w;
    case '-startswith':
      return h.startsWith(w);
    case '-contains':
      return h.includes(w);
    default:
      throw new Error(op);
  }
}

/** The rule as a predicate; 400 (Graph's answer to an invalid rule) for anything else. */
export function compileRule(text: string): Rule {
  const bad = (why: string) => graphError(400, 'Request_BadRequest', `Invalid value specified for property 'membershipRule' of resource 'Group': ${why}.`);
  const ts: string[] = [];
  let pos = 0;
  while (pos < text.length && !/^\s*$/.test(text.slice(pos))) {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (!m) throw bad(`cannot read the rule at position ${pos}`);
    ts.push(m[1]);
    pos = TOKEN.lastIndex;
  }
  let i = 0;
  const take = (want?: string) => {
    const t = ts[i++];
    if (t === undefined || (want !== undefined && t.toLowerCase() !== want)) throw bad(`expected ${want ?? 'more'} at token ${i}`);
    return t;
  };
  const str = () => {
    const t = take();
    if (!t.startsWith('"')) throw bad(`expected a quoted value, found ${t}`);
    return t.slice(1, -1).replace(/""/g, '"');
  };
  const op = () => {
    const o = take().toLowerCase();
    if (!['-eq', '-ne', '-startswith', '-contains'].includes(o)) throw bad(`unsupported operator ${o}`);
    return o;
  };
  const primary = (): Rule => {
    const t = take();
    if (t === '(') {
      const r = or();
      take(')');
      return r;
    }
    if (t.toLowerCase() === '-not') {
      const r = primary();
      return (d) => !r(d);
    }
    if (t === 'device.devicePhysicalIds') {
      take('-any');
      take('(');
      take('_');
      const o = op();
      const v = str();
      take(')');
      return (d) => d.devicePhysicalIds.some((id) => compare(o, id, v));
    }
    const prop = t.startsWith('device.') ? (t.slice(7) as (typeof PROPS)[number]) : undefined;
    if (!prop || !PROPS.includes(prop)) throw bad(`unsupported property ${t}`);
    const o = op();
    const v = str();
    return (d) => compare(o, String(d[prop] ?? ''), v);
  };
  const and = (): Rule => {
    let r = primary();
    while (ts[i]?.toLowerCase() === '-and') {
      take();
      const [a, b] = [r, primary()];
      r = (d) => a(d) && b(d);
    }
    return r;
  };
  const or = (): Rule => {
    let r = and();
    while (ts[i]?.toLowerCase() === '-or') {
      take();
      const [a, b] = [r, and()];
      r = (d) => a(d) || b(d);
    }
    return r;
  };
  const rule = or();
  if (i !== ts.length) throw bad(`unexpected ${ts[i]}`);
  return rule;
}
