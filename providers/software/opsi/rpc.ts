/**
 * One JSON-RPC session with an opsi server, the way opsi's own client
 * (python-opsi-common opsicommon/client/opsiservice.py, 74105b0) holds one:
 *
 * - JSON-RPC 2.0 envelopes on POST /rpc over the kit's pinned ApiClient
 *   (the certificate is checked before a byte of HTTP is sent);
 * - HTTP Basic only on the first request, which opens the session
 *   (`accessControl_authenticated`); every later request carries the
 *   `opsiconfd-session` cookie instead. opsiconfd opens a new session for
 *   every request without one and refuses the 31st live session of a client
 *   address with 403 (`--max-session-per-ip` 30, sessions live 120 s idle),
 *   so a client that only sent Basic would lock itself out within seconds
 *   (session.py init_new_session). An expired session answers 401 and is
 *   opened again once (the kit's sessionAuth);
 * - a server session lives only while an operation runs (a read, one
 *   change): `backend_exit` ends it right after, as ServiceClient does on
 *   disconnect, and the next operation logs in again. opsiconfd counts
 *   sessions, not requests, and an apply holds one einklang session per
 *   target from the first re-read to the verification: 95 schools on one
 *   server would otherwise be 95 sessions at once;
 * - at most `maxSessions` operations at once per server origin from this
 *   process (plans read many environments in parallel, often against one
 *   opsi server); an operation waits for a free one, at most ten request
 *   timeouts, then fails (E_SESSION_WAIT) instead of waiting forever;
 * - credentials the server rejected (401) are not sent again to that origin
 *   by this process, and a server that blocked this client (403 after opsi's
 *   brute-force protection: 10 failures in 120 s block the address for 120 s,
 *   session.py check_blocked) is not contacted again for the block time:
 *   every further session fails at once with the same error.
 */
import { createHash } from 'node:crypto';
import { DriverError, type SessionOptions, type TargetSpec } from '../../../engine/contract.js';
import { sessionAuth, type SessionAuth } from '../../kit/auth.js';
import { ApiClient } from '../../kit/client.js';
import type { Clock } from '../../kit/clock.js';
import { ApiError } from '../../kit/errors.js';
import { JsonRpcClient, type RpcCall, type RpcOutcome } from '../../kit/jsonrpc.js';
import { opsiConnection, type OpsiConnection } from './connection.js';

const SESSION_COOKIE = 'opsiconfd-session';
/** opsiconfd's `--client-block-time` default. */
const BLOCK_TIME_MS = 120_000;
/** Reads (safe to send twice after a timeout). */
const READ_METHOD = /^(?:\w+_get(?:Objects|Idents|Hashes)|configState_getClientToDepotserver|accessControl_authenticated|backend_exit)$/;

/** What this process knows about one opsi server (host:port). */
class OriginGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** sha256(user:password) of rejected credentials -> the error they got. */
  readonly rejected = new Map<string, ApiError>();
  blocked?: { until: number; error: ApiError };

  /** A slot for one operation; rejects after `waitMs` (a timer also keeps the process alive while it waits). */
  acquire(max: number, waitMs: number, origin: string): Promise<void> {
    if (this.active < max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const go = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(go), 1);
        reject(new DriverError(`waited ${Math.round(waitMs / 1000)} s for one of the ${max} sessions to ${origin} (connection.maxSessions)`, { code: 'E_SESSION_WAIT' }));
      }, waitMs);
      this.waiting.push(go);
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

const gates = new Map<string, OriginGate>();
const originOf = (c: OpsiConnection) => `${c.host.toLowerCase()}:${c.port}`;
const gateOf = (c: OpsiConnection) => gates.get(originOf(c)) ?? gates.set(originOf(c), new OriginGate()).get(originOf(c))!;
const credentialKey = (c: OpsiConnection) => createHash('sha256').update(`${c.user}\u0000${c.password}`).digest('hex');

function sessionCookie(setCookie: string | string[] | undefined): string | undefined {
  for (const line of [setCookie ?? []].flat()) {
    const m = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([^;]+)`).exec(line);
    if (m) return `${SESSION_COOKIE}=${m[1]}`;
  }
  return undefined;
}

export class OpsiRpc {
  private closed = false;
  /** Holds an operation slot (and, once logged in, a server session). */
  private holding = false;

  private constructor(
    private readonly http: ApiClient,
    private readonly rpc: JsonRpcClient,
    private readonly auth: SessionAuth,
    /** True while the server holds a session for us (set by the login, cleared by backend_exit). */
    private readonly login: { active: boolean },
    private readonly gate: OriginGate,
    readonly connection: OpsiConnection,
  ) {}

  /**
   * Opens an einklang session: the pin, then the credentials (one request),
   * or the remembered refusal of this origin. The server session stays open
   * until the first operation ends (the engine reads right after connecting).
   */
  static async open(target: TargetSpec, opts: SessionOptions = {}, clock?: Clock): Promise<OpsiRpc> {
    const c = opsiConnection(target, opts);
    const gate = gateOf(c);
    const known = gate.blocked && gate.blocked.until > (clock?.now() ?? Date.now()) ? gate.blocked.error : gate.rejected.get(credentialKey(c));
    if (known) throw new ApiError(`${known.message} (not sent again: this server refused it moments ago, and opsi blocks a client after 10 failed logins)`, known.code, known.detail);
    const basic = `Basic ${Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64')}`;
    const state = { active: false };
    let http: ApiClient | undefined;
    const auth = sessionAuth(async (): Promise<Record<string, string>> => {
      const res = await http!.request('POST', '/rpc', {
        anonymous: true,
        headers: { authorization: basic },
        json: { jsonrpc: '2.0', id: 0, method: 'accessControl_authenticated', params: [] },
        envelope: false,
      });
      if (res.json?.error) throw new DriverError(`opsi refused the session: ${JSON.stringify(res.json.error).slice(0, 300)}`, { code: 'E_AUTH' });
      state.active = true;
      const cookie = sessionCookie(res.headers['set-cookie']);
      // a server that keeps no session for us (session-unaware) gets Basic on every request
      return cookie ? { cookie } : { authorization: basic };
    });
    http = new ApiClient({
      host: c.host,
      port: c.port,
      tlsFingerprint: c.tlsFingerprint,
      auth,
      timeoutMs: c.timeoutMs,
      log: opts.log,
      clock,
      maxSockets: 2,
      secrets: [c.password, basic, basic.slice('Basic '.length)],
      // opsi publishes no request rate limit (research/opsi.md); the cap only stops a runaway loop
      budget: { maxTotal: 10_000 },
    });
    const rpc = new JsonRpcClient(http, { version: '2.0', path: '/rpc', isIdempotent: (m) => READ_METHOD.test(m) });
    const session = new OpsiRpc(http, rpc, auth, state, gate, c);
    await session.begin();
    try {
      await auth.headers(); // logs in now (one request): pin and credentials proven before the engine relies on us
    } catch (e) {
      await session.close();
      if (!(e instanceof ApiError)) throw e;
      if (e.code === 'E_AUTH') {
        const err = new ApiError(`opsi refused the login of user ${c.user}: ${e.message}`, e.code, e.detail);
        gate.rejected.set(credentialKey(c), err);
        throw err;
      }
      if (e.code === 'E_FORBIDDEN' && /is blocked/.test(e.message)) {
        const err = new ApiError(`opsi blocks this client after too many failed logins (10 in 120 s block the address for 120 s): ${e.message}`, e.code, e.detail);
        gate.blocked = { until: (clock?.now() ?? Date.now()) + BLOCK_TIME_MS, error: err };
        throw err;
      }
      throw e;
    }
    return session;
  }

  private async begin(): Promise<void> {
    if (this.holding) return;
    if (this.closed) throw new DriverError('the opsi session is closed', { code: 'E_CLOSED' });
    await this.gate.acquire(this.connection.maxSessions, this.connection.timeoutMs * 10, originOf(this.connection));
    this.holding = true;
  }

  /** Ends the server session (backend_exit, if one was opened) and frees the slot. Never throws. */
  private async end(): Promise<void> {
    if (!this.holding) return;
    this.holding = false;
    try {
      if (this.login.active) await this.rpc.call('backend_exit').catch(() => undefined);
    } finally {
      this.login.active = false;
      this.auth.forget();
      this.gate.release();
    }
  }

  /** Runs one operation (a read, a change) in a server session of its own; see the module comment. */
  async operation<T>(fn: () => Promise<T>): Promise<T> {
    await this.begin();
    try {
      return await fn();
    } finally {
      await this.end();
    }
  }

  call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    return this.rpc.call<T>(method, params);
  }

  batch(calls: RpcCall[]): Promise<RpcOutcome[]> {
    return this.rpc.batch(calls);
  }

  /** Results of several read calls in one request (the first failure rejects). */
  batchResults(calls: RpcCall[]): Promise<unknown[]> {
    return this.rpc.batchResults(calls);
  }

  /** Ends the session if one is open and closes the connections. Never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.end();
    this.http.close();
  }
}
