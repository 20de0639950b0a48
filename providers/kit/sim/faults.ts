/**
 * Fault injection for simulators: what real servers and networks do to a
 * client, on demand, for the next matching requests.
 *
 * - latency: wait, then answer normally (drives client timeouts);
 * - status: refuse with a status (429 with or without Retry-After, 503, ...)
 *   BEFORE the handler runs, as a throttling front end does: nothing changed;
 * - drop: close the connection without an answer, before the handler runs
 *   (`when: 'before'`, default) or after it changed state (`when: 'after'`:
 *   the client cannot know the write happened, so must not blindly repeat it);
 * - truncate: send the headers with the full Content-Length and half the body,
 *   then close (`when: 'after'` by default: the handler ran);
 * - hang: never answer (until the client gives up or the simulator stops).
 */
export type Fault =
  | { kind: 'latency'; ms: number }
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown }
  | { kind: 'drop'; when?: 'before' | 'after' }
  | { kind: 'truncate'; when?: 'before' | 'after' }
  | { kind: 'hang' };

export interface FaultMatch {
  /** One method or several (e.g. every write method). */
  method?: string | string[];
  /** Exact path, or a pattern tested against the path. */
  path?: string | RegExp;
}

interface Rule {
  fault: Fault;
  match: FaultMatch;
  /** Matching requests still to let through before the fault applies. */
  skip: number;
  left: number;
}

export class FaultInjector {
  private rules: Rule[] = [];
  /** Faults injected so far, by kind. */
  readonly injected: Record<Fault['kind'], number> = { latency: 0, status: 0, drop: 0, truncate: 0, hang: 0 };

  /**
   * Injects `fault` into `times` (default 1; Infinity = until cleared) matching
   * requests, after letting `skip` (default 0) matching requests through
   * (`skip: 2` hits the third). Rules apply in the order added.
   */
  add(fault: Fault, o: { match?: FaultMatch; times?: number; skip?: number } = {}): this {
    this.rules.push({ fault, match: o.match ?? {}, skip: o.skip ?? 0, left: o.times ?? 1 });
    return this;
  }

  clear(): void {
    this.rules = [];
  }

  /** Rules not used up yet. */
  pending(): number {
    return this.rules.length;
  }

  /** The fault for this request, if any (and uses it up). */
  take(method: string, path: string): Fault | undefined {
    const matches = (m: FaultMatch) => {
      const methods = m.method === undefined ? undefined : [m.method].flat().map((x) => x.toUpperCase());
      if (methods && !methods.includes(method)) return false;
      if (typeof m.path === 'string' && m.path !== path) return false;
      if (m.path instanceof RegExp && !m.path.test(path)) return false;
      return true;
    };
    let i = -1;
    for (let k = 0; k < this.rules.length && i < 0; k++) {
      const r = this.rules[k];
      if (!matches(r.match)) continue;
      if (r.skip > 0) r.skip--;
      else i = k;
    }
    if (i < 0) return undefined;
    const r = this.rules[i];
    if (--r.left <= 0) this.rules.splice(i, 1);
    this.injected[r.fault.kind]++;
    return r.fault;
  }
}
