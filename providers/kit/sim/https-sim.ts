/**
 * The HTTPS server under every API simulator (lab and tests): 127.0.0.1 only,
 * the deterministic lab certificate of the target (so manifests can pin it),
 * a Router, a request log, counters and fault injection.
 *
 * What it guarantees to tests:
 * - `log` lists every HTTP request that reached it (method, path, status,
 *   auth scheme, write or not, injected fault) and `counters.requests` counts
 *   them; a client that refuses the certificate leaves both untouched (only
 *   `counters.tlsHandshakes` moves), which is how tests prove no credential
 *   was sent;
 * - `counters.writes` counts requests to write routes (or marked as writes by
 *   their handler), whatever their outcome: "read never writes" means this
 *   stays put;
 * - a request body larger than `maxBodyBytes` is refused with 413;
 * - handler exceptions become 500 (HttpError: its own status and body), never
 *   a crash of the simulator.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { labCertificate } from '../../lab/identity.js';
import { FaultInjector, type Fault } from './faults.js';
import type { Router } from './router.js';
import { HttpError, type SimAuth, type SimRequest, type SimResponse } from './types.js';

export interface HttpsSimOptions {
  /** Seed of the lab certificate: the target's address. */
  certSeed: string;
  /** Certificate common name (default: the seed). */
  commonName?: string;
  /** Listen port; 0 (default) picks a free one. */
  port?: number;
  router: Router;
  /**
   * Runs before routing, after faults: return a response to refuse the request
   * (401 for bad credentials, 429 from a rate limiter), undefined to go on.
   */
  gate?: (req: SimRequest) => SimResponse | undefined | Promise<SimResponse | undefined>;
  /** Answers for unknown paths (404) and wrong methods (405), in the real system's shape. */
  notFound?: (req: SimRequest) => SimResponse;
  methodNotAllowed?: (req: SimRequest) => SimResponse;
  /** Default 1 MiB. */
  maxBodyBytes?: number;
  /** Entries kept in `log` (oldest dropped). Default 10 000. */
  maxLog?: number;
  /**
   * A packet filter in front of the server, asked for every new TCP
   * connection before TLS: `accept`, `drop` (never answered: the client
   * runs into its timeout, as with a firewall that drops), or `reset`
   * (refused with a TCP reset). Connections accepted earlier are not asked
   * again (a stateful firewall keeps established connections).
   */
  admit?: () => 'accept' | 'drop' | 'reset';
}

export interface SimLogEntry {
  method: string;
  path: string;
  query: string;
  status: number;
  authScheme?: SimAuth['scheme'];
  write: boolean;
  fault?: Fault['kind'];
}

export interface SimCounters {
  /** TCP connections accepted, TLS handshakes completed, HTTP requests received, write requests. */
  connections: number;
  /** Connections `admit` dropped or reset. */
  refusedConnections: number;
  tlsHandshakes: number;
  requests: number;
  writes: number;
}

export interface RunningHttpsSim {
  port: number;
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** SHA-256 fingerprint of the certificate, `AB:CD:..`. */
  fingerprint: string;
  log: SimLogEntry[];
  counters: SimCounters;
  faults: FaultInjector;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function parseAuth(h: string | undefined): SimAuth | undefined {
  if (!h) return undefined;
  const m = /^(\S+)\s+(.*)$/.exec(h.trim());
  if (m && m[1].toLowerCase() === 'bearer') return { scheme: 'bearer', token: m[2] };
  if (m && m[1].toLowerCase() === 'basic') {
    const text = Buffer.from(m[2], 'base64').toString('utf8');
    const i = text.indexOf(':');
    if (i >= 0) return { scheme: 'basic', user: text.slice(0, i), password: text.slice(i + 1) };
  }
  return { scheme: 'other', value: h };
}

function render(r: SimResponse): { status: number; headers: Record<string, string>; body: Buffer } {
  const json = r.json !== undefined;
  const body = Buffer.from(json ? JSON.stringify(r.json) : (r.text ?? ''), 'utf8');
  const headers: Record<string, string> = { ...(json ? { 'content-type': 'application/json; charset=utf-8' } : {}), ...r.headers, 'content-length': String(body.length) };
  return { status: r.status, headers, body };
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Starts the simulator; see the module comment for its guarantees. */
export async function startHttpsSim(o: HttpsSimOptions): Promise<RunningHttpsSim> {
  const cert = labCertificate(o.certSeed, o.commonName ?? o.certSeed);
  const counters: SimCounters = { connections: 0, refusedConnections: 0, tlsHandshakes: 0, requests: 0, writes: 0 };
  const log: SimLogEntry[] = [];
  const faults = new FaultInjector();
  const sockets = new Set<Socket>();
  const maxBody = o.maxBodyBytes ?? 1024 * 1024;
  const maxLog = o.maxLog ?? 10_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.requests++;
    const url = new URL(req.url ?? '/', 'https://sim');
    const method = (req.method ?? 'GET').toUpperCase();
    const entry: SimLogEntry = { method, path: url.pathname, query: url.search, status: 0, write: false };
    log.push(entry);
    if (log.length > maxLog) log.shift();
    const raw = await readBody(req, maxBody);
    const body = raw ?? Buffer.alloc(0);
    const auth = parseAuth(req.headers.authorization);
    entry.authScheme = auth?.scheme;
    const sreq: SimRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      params: {},
      body,
      auth,
      json: () => {
        try {
          return JSON.parse(body.toString('utf8'));
        } catch {
          throw new HttpError(400, { error: 'malformed JSON' });
        }
      },
      form: () => new URLSearchParams(body.toString('utf8')),
      markWrite: () => {
        if (!entry.write) counters.writes++;
        entry.write = true;
      },
    };
    const send = (r: SimResponse, fault?: Fault) => {
      const out = render(r);
      entry.status = out.status;
      if (fault?.kind === 'truncate') {
        res.writeHead(out.status, out.headers);
        res.write(out.body.subarray(0, Math.floor(out.body.length / 2)));
        setImmediate(() => res.socket?.destroy());
        return;
      }
      res.writeHead(out.status, out.headers);
      res.end(out.body);
    };
    const drop = () => {
      entry.status = -1;
      req.socket.destroy();
    };

    const fault = faults.take(method, url.pathname);
    if (fault) entry.fault = fault.kind;
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'latency') await sleep(fault.ms);
    if (fault?.kind === 'status') {
      return send({ status: fault.status, json: fault.body ?? { error: `injected HTTP ${fault.status}` }, headers: fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {} });
    }
    if ((fault?.kind === 'drop' || fault?.kind === 'truncate') && fault.when === 'before') return drop();
    if (raw === undefined) return send({ status: 413, json: { error: 'request body too large' } });

    let answer: SimResponse;
    try {
      answer = (await o.gate?.(sreq)) ?? (await route(sreq));
    } catch (e) {
      answer = e instanceof HttpError ? { status: e.status, json: e.body, headers: e.headers } : { status: 500, json: { error: `simulator error: ${(e as Error).message}` } };
    }
    if (fault?.kind === 'drop') return drop();
    send(answer, fault);
  }

  async function route(sreq: SimRequest): Promise<SimResponse> {
    const m = o.router.match(sreq.method, sreq.path);
    if ('status' in m) {
      if (m.status === 405) return o.methodNotAllowed?.(sreq) ?? { status: 405, json: { error: 'method not allowed' } };
      return o.notFound?.(sreq) ?? { status: 404, json: { error: 'not found' } };
    }
    sreq.params = m.params;
    if (m.write) sreq.markWrite();
    return m.handler(sreq);
  }

  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`simulator error: ${(e as Error).message}`);
    });
  });
  server.on('connection', (s: Socket) => {
    counters.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', () => counters.tlsHandshakes++);
  // A client that rejects the certificate closes the socket mid-handshake: not the simulator's problem.
  server.on('tlsClientError', () => undefined);
  // With a packet filter, a plain TCP listener decides and hands accepted sockets to the HTTPS server.
  const front = o.admit
    ? createNetServer((s: Socket) => {
        const verdict = o.admit!();
        if (verdict === 'accept') return server.emit('connection', s);
        counters.refusedConnections++;
        if (verdict === 'reset') return s.resetAndDestroy();
        sockets.add(s); // dropped: held open without an answer until the client gives up or the simulator stops
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      })
    : server;
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (front.address() as { port: number }).port;
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    fingerprint: cert.fingerprint256,
    log,
    counters,
    faults,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (front !== server) server.close();
        front.close(() => resolve());
      }),
  };
}
