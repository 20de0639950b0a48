/**
 * The `intune` driver: Microsoft Intune over Microsoft Graph v1.0, on the
 * provider kit (test/kit/notes is the reference outline).
 *
 * - Session: one ApiClient per target session, pinned (Graph and the login
 *   host), authenticated with OAuth2 client credentials against
 *   `https://<loginHost>/<tenantId>/oauth2/v2.0/token` (one token per session,
 *   renewed before it expires and once after a 401), budgeted to Intune's
 *   published limits so that einklang stays inside them instead of collecting
 *   429s: 100 writes and 1000 requests per 20 s per app and tenant
 *   (learn graph/throttling-limits, "Intune service limits"), counted over a
 *   21 s window for the time requests spend on the wire. A JSON batch counts as
 *   its requests (Graph evaluates each against the limits).
 * - read (read.ts): the whole environment in a handful of GETs; never writes.
 * - applyChange: one change at a time (groups.ts, policies.ts, apps.ts), each
 *   finding its object again by displayName, and undoing its own earlier
 *   requests when a later one fails (Intune has no transactions).
 */
import type { ChangeWriter, Driver, ReadRequest, SessionOptions, TargetSpec } from '../../../engine/contract.js';
import { DriverError } from '../../../engine/contract.js';
import type { Change, ReadResult } from '../../../engine/model.js';
import { ApiClient } from '../../kit/client.js';
import { systemClock, type Clock } from '../../kit/clock.js';
import type { ClientCounters } from '../../kit/client.js';
import { clientCredentialsAuth } from '../../kit/oauth2.js';
import { AppWriter } from './apps.js';
import { intuneConnection } from './connection.js';
import { API_VERSION, Graph } from './graph.js';
import { GroupWriter } from './groups.js';
import { PolicyWriter } from './policies.js';
import { TenantReader, newDirectory } from './read.js';
import { APP, GROUP, POLICY, PROFILE } from './state.js';

export interface IntuneLimits {
  /** Requests per window (default 1000: Intune's per-app limit per tenant and 20 s). */
  requests: number;
  /** Writes per window (default 100). */
  writes: number;
  /** Window (default 21 s: Graph's 20 s plus time on the wire). */
  windowMs: number;
  /** Runaway guard per session. */
  maxTotal: number;
}

export const DEFAULT_LIMITS: IntuneLimits = { requests: 1000, writes: 100, windowMs: 21_000, maxTotal: 100_000 };

export interface IntuneDriverOptions {
  /** Backoff, budget and replication waits (tests: a VirtualClock). */
  clock?: Clock;
  random?: () => number;
  limits?: Partial<IntuneLimits>;
  /** Called with each session's client, for benches and tests (request counters). */
  onSession?: (http: ApiClient) => void;
}

class IntuneSession implements ChangeWriter {
  readonly mode = 'change' as const;
  private readonly reader: TenantReader;
  private readonly groups: GroupWriter;
  private readonly policies: PolicyWriter;
  private readonly apps: AppWriter;

  constructor(
    private readonly http: ApiClient,
    target: TargetSpec,
    clock: Clock,
    random: () => number,
  ) {
    const graph = new Graph(http, clock, random);
    const dir = newDirectory();
    const prefix = typeof target.spec?.displayNamePrefix === 'string' ? target.spec.displayNamePrefix : undefined;
    this.reader = new TenantReader(graph, dir, prefix);
    this.groups = new GroupWriter(graph, dir, this.reader, clock);
    this.policies = new PolicyWriter(graph, this.groups, dir);
    this.apps = new AppWriter(graph, this.groups, dir, this.reader);
  }

  static open(target: TargetSpec, opts: SessionOptions, o: IntuneDriverOptions): IntuneSession {
    const c = intuneConnection(target);
    const clock = o.clock ?? systemClock;
    const random = o.random ?? Math.random;
    const limits = { ...DEFAULT_LIMITS, ...o.limits };
    const loginHost = c.loginHost.includes(':') ? `[${c.loginHost}]` : c.loginHost;
    const http = new ApiClient({
      host: c.host,
      port: c.port,
      tlsFingerprint: c.tlsFingerprint,
      basePath: API_VERSION,
      auth: clientCredentialsAuth({
        tokenUrl: `https://${loginHost}:${c.loginPort}/${encodeURIComponent(c.tenantId)}/oauth2/v2.0/token`,
        clientId: c.clientId,
        clientSecret: c.clientSecret,
        scope: c.scope,
        tlsFingerprint: c.loginTlsFingerprint,
      }),
      timeoutMs: opts.timeoutMs ?? c.timeoutMs,
      log: opts.log,
      clock,
      random,
      budget: {
        requests: { count: limits.requests, windowMs: limits.windowMs },
        writes: { count: limits.writes, windowMs: limits.windowMs },
        maxTotal: limits.maxTotal,
      },
    });
    o.onSession?.(http);
    return new IntuneSession(http, target, clock, random);
  }

  read(objects: ReadRequest[]): Promise<ReadResult> {
    return this.reader.read(objects);
  }

  async applyChange(change: Change): Promise<void> {
    switch (change.kind) {
      case GROUP:
        return this.groups.apply(change);
      case PROFILE:
      case POLICY:
        return this.policies.apply(change);
      case APP:
        return this.apps.apply(change);
      default:
        throw new DriverError(`the intune driver does not manage ${change.kind}`, { code: 'E_UNSUPPORTED' });
    }
  }

  counters(): ClientCounters {
    return this.http.counters();
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

/** An intune driver with these options (tests and benches: a virtual clock, other limits). */
export function createIntuneDriver(o: IntuneDriverOptions = {}): Driver {
  const open = async (t: TargetSpec, opts: SessionOptions = {}) => IntuneSession.open(t, opts, o);
  return { name: 'intune', connectReader: open, connectWriter: open };
}

export const intuneDriver: Driver = createIntuneDriver();
