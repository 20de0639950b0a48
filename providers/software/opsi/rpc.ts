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
 * - `backend_exit` on close ends the session on the server, as ServiceClient
 *   does on disconnect, so sessions do not pile up until they expire;
 * - at most `maxSessions` sessions at once per server origin from this
 *   process (plans read many environments in parallel, often against one
 *   opsi server);
 * - credentials the server rejected (401) are not sent again to that origin
 *   by this process, and a server that blocked this client (403 after opsi's
 *   brute-force protection: 10 failures in 120 s block the address for 120 s,
 *   session.py check_blocked) is not contacted again for the block time:
 *   every further session fails at once with the same error.
 */
import { createHash } from 'node:crypto';
import { DriverError, type SessionOptions, type TargetSpec } from '../../../engine/contract.js';
import { sessionAuth } from '../../kit/auth.js';
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

  async acquire(max: number): Promise<void> {
    if (this.active < max) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

const gates = new Map<string, OriginGate>();
const gateOf = (c: OpsiConnection) => {
  const k = `${c.host.toLowerCase()}:${c.port}`;
  return gates.get(k) ?? gates.set(k, new OriginGate()).get(k)!;
};
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

  private constructor(
    private readonly http: ApiClient,
    private readonly rpc: JsonRpcClient,
    private readonly gate: OriginGate,
    readonly connection: OpsiConnection,
  ) {}

  /** Opens a session: pin, then credentials (one request), or the remembered refusal of this origin. */
  static async open(target: TargetSpec, opts: SessionOptions = {}, clock?: Clock): Promise<OpsiRpc> {
    const c = opsiConnection(target, opts);
    const gate = gateOf(c);
    const known = gate.blocked && gate.blocked.until > (clock?.now() ?? Date.now()) ? gate.blocked.error : gate.rejected.get(credentialKey(c));
    if (known) throw new ApiError(`${known.message} (not sent again: this server refused it moments ago, and opsi blocks a client after 10 failed logins)`, known.code, known.detail);
    await gate.acquire(c.maxSessions);
    const basic = `Basic ${Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64')}`;
    let http: ApiClient | undefined;
    const login = async (): Promise<Record<string, string>> => {
      const res = await http!.request('POST', '/rpc', {
        anonymous: true,
        headers: { authorization: basic },
        json: { jsonrpc: '2.0', id: 0, method: 'accessControl_authenticated', params: [] },
        envelope: false,
      });
      if (res.json?.error) throw new DriverError(`opsi refused the session: ${JSON.stringify(res.json.error).slice(0, 300)}`, { code: 'E_AUTH' });
      const cookie = sessionCookie(res.headers['set-cookie']);
      // a server that keeps no session for us (session-unaware) gets Basic on every request
      return cookie ? { cookie } : { authorization: basic };
    };
    const auth = sessionAuth(login);
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
    const session = new OpsiRpc(http, rpc, gate, c);
    try {
      await auth.headers(); // logs in now (one request): pin and credentials proven before the engine relies on us
    } catch (e) {
      await session.close(false);
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

  /** Ends the server-side session (backend_exit) and frees the slot. Never throws. */
  async close(exit = true): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (exit) await this.rpc.call('backend_exit').catch(() => undefined);
    } finally {
      this.http.close();
      this.gate.release();
    }
  }

  counters() {
    return this.http.counters();
  }
}
