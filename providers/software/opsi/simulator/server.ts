/**
 * The opsi simulator's front: opsiconfd's `/rpc` over HTTPS (providers/kit/sim),
 * with what opsiconfd 4.3.24.1 does around the backend (application/jsonrpc.py,
 * session.py):
 *
 * - `/rpc` and `/rpc/<anything>`: POST with a JSON body (opsiconfd also takes
 *   GET with the request in the query string; einklang never sends that, so
 *   the simulator does not offer it); a JSON array is a batch, answered in order, except
 *   that a batch of ONE is answered with the bare object
 *   (`results[0] if len(results) == 1 else results`);
 * - envelopes: 1.0 `{"id","result","error":null}` / `{"id","result":null,
 *   "error":{"message","class","details"}}`; 2.0 (`"jsonrpc":"2.0"` in the
 *   request) `{"id","result","jsonrpc"}` / `{"id","error":{"message","code":0,
 *   "data":{"class","details"}},"jsonrpc"}`; method errors with HTTP 200;
 *   a missing id answers 0; a body that is not JSON: HTTP 400;
 * - sessions: a request without a valid `opsiconfd-session` cookie opens a new
 *   session (Set-Cookie `opsiconfd-session=<id>; SameSite=Strict; Secure;
 *   path=/; Max-Age=120`); more than 30 live sessions from one address are
 *   refused with 403 "Too many sessions from <addr> / <user agent>, maximum
 *   is: 30" (`--max-session-per-ip`); `backend_exit` ends the session;
 * - auth: an unauthenticated session needs HTTP Basic. No Authorization
 *   header: 401 "Authorization header missing" (not counted). Wrong
 *   credentials: 401 "Authentication error" after 0.2 s, counted; with 10
 *   failures in 120 s the next authentication marks the address blocked for
 *   120 s and every later one gets 403 "Client '<addr>' is blocked" (the
 *   check runs before the credentials are looked at). 401/403 bodies are
 *   `{"id":null,"result":null,"error":"<text>"}` (never 2.0-style: nothing
 *   sets scope["jsonrpc20"]), with `WWW-Authenticate: Basic realm="opsi",
 *   charset="UTF-8"` on 401 and `x-opsi-error` on both.
 * - errors in the envelope carry `details` (the traceback) only for admins;
 *   the simulator has no traceback to give and sends null.
 *
 * Fault injection for tests: `failNthWrite(n)` refuses the n-th write *call*
 * from now inside HTTP 200 (class BackendIOError), changing nothing; the HTTP
 * level faults of the kit sim (latency, drops, 503) are there too.
 */
import { randomBytes } from 'node:crypto';
import { Router } from '../../../kit/sim/router.js';
import { startHttpsSim, type RunningHttpsSim } from '../../../kit/sim/https-sim.js';
import { jsonResponse, type SimRequest, type SimResponse } from '../../../kit/sim/types.js';
import { OpsiBackend } from './backend.js';
import { RpcFault } from './objects.js';

export interface OpsiSimOptions {
  /** Seed of the lab certificate (the target address). */
  certSeed: string;
  port?: number;
  /** The admin account the server accepts. */
  user: string;
  password: string;
  /** Id of the config server (also the default depot). */
  configServerId?: string;
  /** opsiconfd defaults: 10 failures in 120 s block for 120 s; 30 sessions per address; sessions live 120 s. */
  maxAuthFailures?: number;
  authFailuresIntervalMs?: number;
  clientBlockTimeMs?: number;
  maxSessionsPerIp?: number;
  sessionLifetimeMs?: number;
  /** opsiconfd sleeps 0.2 s after a failed login; tests may set 0. */
  authFailureDelayMs?: number;
  /** Time source (tests move it forward). */
  now?: () => number;
  /**
   * The clients run their pending action requests this long after a request
   * was set (as opsiclientd does at the client's next event), and report back.
   * Default: never by themselves (tests call backend.runPendingActions()).
   */
  installAfterMs?: number;
}

export interface RunningOpsiSim {
  sim: RunningHttpsSim;
  backend: OpsiBackend;
  port: number;
  fingerprint: string;
  /** JSON-RPC calls answered (a batch counts each call), by method. */
  calls: Map<string, number>;
  /** Sessions currently alive. */
  sessions(): number;
  /** Every session expires now (as after 120 s without a request). */
  expireSessions(): void;
  /** Makes the n-th write call from now (1 = the next) fail inside HTTP 200, changing nothing. */
  failNthWrite(n: number): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

interface Session {
  id: string;
  addr: string;
  authenticated: boolean;
  lastUsed: number;
}

type Envelope = { id?: unknown; method?: unknown; params?: unknown; jsonrpc?: unknown };

const AUTH_HEADERS = { 'www-authenticate': 'Basic realm="opsi", charset="UTF-8"' };
const COOKIE = 'opsiconfd-session';

function errorBody(text: string): SimResponse['json'] {
  return { id: null, result: null, error: text };
}

function refuse(status: 401 | 403, text: string, extra: Record<string, string> = {}): SimResponse {
  return jsonResponse(status, errorBody(text), { ...(status === 401 ? AUTH_HEADERS : {}), 'x-opsi-error': text.slice(0, 64), ...extra });
}

function cookieSession(req: SimRequest): string | undefined {
  const header = req.headers.cookie;
  const text = Array.isArray(header) ? header.join(';') : header;
  for (const part of (text ?? '').split(';')) {
    const [k, v] = part.trim().split('=', 2);
    if (k?.trim().toLowerCase() === COOKIE && v) return v.trim().toLowerCase();
  }
  return undefined;
}

function cookieHeader(id: string, maxAgeMs: number): Record<string, string> {
  return { 'set-cookie': `${COOKIE}=${id}; SameSite=Strict; Secure; path=/; Max-Age=${Math.round(maxAgeMs / 1000)}` };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startOpsiSimulator(o: OpsiSimOptions): Promise<RunningOpsiSim> {
  const backend = new OpsiBackend(o.configServerId ?? 'opsi.lab.invalid');
  const now = o.now ?? Date.now;
  const maxFailures = o.maxAuthFailures ?? 10;
  const failureWindow = o.authFailuresIntervalMs ?? 120_000;
  const blockTime = o.clientBlockTimeMs ?? 120_000;
  const maxSessions = o.maxSessionsPerIp ?? 30;
  const lifetime = o.sessionLifetimeMs ?? 120_000;
  const failDelay = o.authFailureDelayMs ?? 200;
  const sessions = new Map<string, Session>();
  const failures: number[] = [];
  let blockedUntil = 0;
  const calls = new Map<string, number>();
  /** The session each request was admitted with (set by the gate, read by the handler). */
  const sessionOf = new WeakMap<SimRequest, Session>();
  let writeCalls = 0;
  const failAt = new Set<number>();

  const installs = new Set<NodeJS.Timeout>();
  /** After a write that may have set action requests, the clients act on them later (installAfterMs). */
  const clientsActLater = (method: string) => {
    if (o.installAfterMs === undefined || !/^(productOnClient_(update|create)Objects|setProductActionRequest)/.test(method)) return;
    const t = setTimeout(() => {
      installs.delete(t);
      backend.runPendingActions();
    }, o.installAfterMs);
    installs.add(t);
  };

  backend.beforeWrite = (method) => {
    writeCalls++;
    if (failAt.delete(writeCalls)) throw new RpcFault('BackendIOError', `injected failure: the server refused ${method}`);
  };

  const alive = (s: Session) => now() - s.lastUsed < lifetime;

  /** opsiconfd's check_blocked, run before credentials are checked. */
  function checkBlocked(addr: string): SimResponse | undefined {
    if (now() < blockedUntil) return refuse(403, `Client '${addr}' is blocked`);
    while (failures.length && failures[0] <= now() - failureWindow) failures.shift();
    if (failures.length >= maxFailures) blockedUntil = now() + blockTime; // this request still goes on
    return undefined;
  }

  /** Finds or opens the request's session and authenticates it; a response when refused. */
  async function gate(req: SimRequest): Promise<SimResponse | undefined> {
    const addr = '127.0.0.1';
    const userAgent = String(req.headers['user-agent'] ?? '');
    const sid = cookieSession(req);
    let s = sid ? sessions.get(sid) : undefined;
    if (s && !alive(s)) {
      sessions.delete(s.id);
      s = undefined;
    }
    if (!s) {
      for (const [k, x] of sessions) if (!alive(x)) sessions.delete(k);
      const count = [...sessions.values()].filter((x) => x.addr === addr).length;
      if (count + 1 > maxSessions) return refuse(403, `Too many sessions from ${addr} / ${userAgent}, maximum is: ${maxSessions}`);
      s = { id: randomBytes(16).toString('hex'), addr, authenticated: false, lastUsed: now() };
      sessions.set(s.id, s);
    }
    s.lastUsed = now();
    const setCookie = cookieHeader(s.id, lifetime);
    sessionOf.set(req, s);
    if (s.authenticated) return undefined;
    if (req.auth?.scheme !== 'basic') return refuse(401, 'Authorization header missing', setCookie);
    const blocked = checkBlocked(addr);
    if (blocked) return { ...blocked, headers: { ...blocked.headers, ...setCookie } };
    if (req.auth.user !== o.user || req.auth.password !== o.password) {
      failures.push(now());
      if (failDelay) await sleep(failDelay);
      return refuse(401, 'Authentication error', setCookie);
    }
    s.authenticated = true;
    return undefined;
  }

  function answer(env: Envelope, session: Session | undefined): unknown {
    const v2 = env?.jsonrpc === '2.0';
    const id = env?.id || 0;
    try {
      if (!env || typeof env !== 'object' || typeof env.method !== 'string') throw new RpcFault('KeyError', "'method'");
      calls.set(env.method, (calls.get(env.method) ?? 0) + 1);
      const result = backend.call(env.method, env.params ?? []);
      clientsActLater(env.method);
      if (env.method === 'backend_exit' && session) sessions.delete(session.id);
      return v2 ? { id, result, jsonrpc: '2.0' } : { id, result, error: null };
    } catch (e) {
      const cls = e instanceof RpcFault ? e.cls : 'Exception';
      const message = (e as Error).message;
      return v2 ? { id, error: { message, code: 0, data: { class: cls, details: null } }, jsonrpc: '2.0' } : { id, result: null, error: { message, class: cls, details: null } };
    }
  }

  function handle(req: SimRequest): SimResponse {
    const session = sessionOf.get(req);
    const text = req.body.toString('utf8');
    let data: unknown;
    try {
      if (!text) throw new RpcFault('ValueError', 'Request data empty');
      try {
        data = JSON.parse(text);
      } catch (e) {
        throw new RpcFault('DecodeError', `JSON is malformed: ${(e as Error).message}`);
      }
    } catch (e) {
      const f = e as RpcFault;
      return jsonResponse(400, { id: 0, result: null, error: { message: f.message, class: f.cls, details: null } });
    }
    const list = (Array.isArray(data) ? data : [data]) as Envelope[];
    if (list.some((c) => typeof c?.method === 'string' && backend.isWrite(c.method))) req.markWrite();
    const results = list.map((c) => answer(c, session));
    // an ended session (backend_exit) is expired in the browser sense: Max-Age=0 (session.py get_cookie)
    const cookie = session ? cookieHeader(session.id, sessions.has(session.id) ? lifetime : 0) : {};
    return jsonResponse(200, results.length === 1 ? results[0] : results, { ...cookie, accept: 'application/msgpack,application/json' });
  }

  const router = new Router();
  for (const path of ['/rpc', '/rpc/*rest']) router.post(path, handle, { write: false });
  const sim = await startHttpsSim({
    certSeed: o.certSeed,
    port: o.port,
    router,
    gate,
    notFound: () => jsonResponse(404, { detail: 'Not Found' }),
    methodNotAllowed: () => jsonResponse(405, { detail: 'Method Not Allowed' }),
    maxBodyBytes: 16 * 1024 * 1024,
  });
  return {
    sim,
    backend,
    port: sim.port,
    fingerprint: sim.fingerprint,
    calls,
    sessions: () => [...sessions.values()].filter(alive).length,
    expireSessions: () => sessions.clear(),
    failNthWrite: (n) => failAt.add(writeCalls + n),
    clearFaults: () => {
      failAt.clear();
      sim.faults.clear();
    },
    stop: () => {
      for (const t of installs) clearTimeout(t);
      return sim.stop();
    },
  };
}
