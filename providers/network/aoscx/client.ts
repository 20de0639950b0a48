/**
 * AOS-CX REST client: HTTPS with a pinned certificate fingerprint, one
 * keep-alive connection per session, session cookie from POST /login.
 *
 * The pin is checked on the TLS socket before the socket is handed to the
 * HTTP layer, so on a mismatch not a byte of HTTP (and no password) is sent.
 */
import { Agent, request } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { DriverError } from '../../../engine/types.js';
import { normaliseCertFingerprint } from '../../lab/identity.js';

export interface AoscxConnection {
  host: string;
  port?: number;
  user: string;
  password: string;
  tlsFingerprint: string;
  /** REST version path segment, default `v10.09`. */
  apiVersion?: string;
}

export interface RestResponse {
  status: number;
  json: any;
  text: string;
}

export class AoscxClient {
  readonly base: string;
  private cookie?: string;
  private readonly agent: Agent;

  constructor(
    private readonly conn: AoscxConnection,
    private readonly opts: { timeoutMs: number; label: string },
  ) {
    this.base = `/rest/${conn.apiVersion ?? 'v10.09'}`;
    this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const pinned = normaliseCertFingerprint(conn.tlsFingerprint ?? '');
    // Agent.createConnection may hand the socket over through the callback: only once the pin matched.
    (this.agent as unknown as { createConnection: unknown }).createConnection = (
      o: { host?: string; port?: number },
      cb: (err: Error | null, s?: TLSSocket) => void,
    ) => {
      const sock = tlsConnect({ host: o.host ?? conn.host, port: o.port ?? conn.port ?? 443, rejectUnauthorized: false });
      sock.once('secureConnect', () => {
        const presented = normaliseCertFingerprint(sock.getPeerCertificate().fingerprint256 ?? '');
        if (presented !== pinned) {
          sock.destroy();
          cb(new DriverError(`${opts.label}: TLS certificate mismatch: pinned ${pinned}, switch presented ${presented}; nothing was sent`, { code: 'E_TLS_MISMATCH' }));
        } else cb(null, sock);
      });
      sock.once('error', (e) => cb(e));
      return undefined;
    };
  }

  /** One HTTP request on the session's connection. Rejects on transport errors and timeouts, not on HTTP status. */
  request(method: string, path: string, body?: unknown, o: { timeoutMs?: number; form?: boolean } = {}): Promise<RestResponse> {
    const timeoutMs = o.timeoutMs ?? this.opts.timeoutMs;
    const payload = body === undefined ? undefined : o.form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.conn.host,
          port: this.conn.port ?? 443,
          method,
          path: path.startsWith('/rest/') ? path : this.base + path,
          agent: this.agent,
          headers: {
            accept: 'application/json',
            ...(payload !== undefined ? { 'content-type': o.form ? 'application/x-www-form-urlencoded' : 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
            ...(this.cookie ? { cookie: this.cookie } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            let json: any;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            const sc = res.headers['set-cookie']?.map((c) => /^(id=[^;]+)/.exec(c)?.[1]).find(Boolean);
            if (sc) this.cookie = sc;
            resolve({ status: res.statusCode ?? 0, json, text });
          });
          res.on('error', (e) => reject(e));
        },
      );
      const timer = setTimeout(() => req.destroy(new Error(`no answer from the switch within ${timeoutMs} ms (${method} ${path})`)), timeoutMs);
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e instanceof DriverError ? e : new Error(`${method} ${path}: ${e.message}`));
      });
      req.end(payload);
    });
  }

  /** Request that must succeed (2xx); returns the JSON body. */
  async ok(method: string, path: string, body?: unknown, o: { timeoutMs?: number } = {}): Promise<any> {
    const r = await this.request(method, path, body, o);
    if (r.status < 200 || r.status > 299) {
      throw new Error(`${method} ${path}: HTTP ${r.status} ${r.json?.message ?? r.text.slice(0, 200)}`.trim());
    }
    return r.json;
  }

  async login(timeoutMs?: number): Promise<void> {
    let r: RestResponse;
    try {
      r = await this.request('POST', '/login', { username: this.conn.user, password: this.conn.password }, { form: true, timeoutMs });
    } catch (err) {
      this.agent.destroy();
      if (err instanceof DriverError) throw err;
      throw new DriverError(`${this.opts.label}: cannot connect to ${this.conn.host}:${this.conn.port ?? 443}: ${(err as Error).message}`, { code: 'E_CONNECT' });
    }
    if (r.status !== 200 || !this.cookie) {
      this.agent.destroy();
      const said = String(r.json?.message ?? r.text).slice(0, 200);
      if (/session limit/i.test(said)) {
        throw new DriverError(
          `${this.opts.label}: login refused: session limit reached (AOS-CX allows 6 HTTPS sessions per user; sessions other clients left open end after ` +
            `20 minutes idle, or at once with \`https-server session close all\`)`,
          { code: 'E_NET_SESSION_LIMIT' },
        );
      }
      throw new DriverError(`${this.opts.label}: login failed (HTTP ${r.status}${said ? `: ${said}` : ''})`, { code: 'E_AUTH' });
    }
  }

  /** Log out (so the switch frees the session at once) and close the connection; best effort, bounded by `timeoutMs`. */
  async close(timeoutMs = Math.min(this.opts.timeoutMs, 2000)): Promise<void> {
    if (this.cookie) await this.request('POST', '/logout', undefined, { timeoutMs }).catch(() => undefined);
    this.cookie = undefined;
    this.agent.destroy();
  }
}
