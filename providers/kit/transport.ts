/**
 * One HTTPS origin (host:port) as a pool of keep-alive connections, with the
 * server's certificate checked before the HTTP layer gets the socket.
 *
 * Why node:https and not fetch/undici: Node's built-in fetch does not expose
 * undici's connector, so the only way to see the certificate before a byte of
 * the request is written would be the `undici` npm package. `https.Agent`
 * lets us create the TLS socket ourselves (createConnection) and hand it to
 * the HTTP layer only after the pin matched; that is the same technique the
 * WinRM and AOS-CX clients already use, and it needs no dependency.
 *
 * Guarantees of `send`:
 * - with `tlsFingerprint`, a connection whose certificate does not match is
 *   destroyed right after the handshake: no request line, header or body (so
 *   no credential) is written. Error E_TLS_FINGERPRINT names both fingerprints.
 *   Without it the system CAs and the host name decide (E_TLS on failure).
 * - the whole exchange (connect, send, full response) finishes within
 *   `timeoutMs` or fails with E_TIMEOUT;
 * - a response larger than `maxResponseBytes` is cut off and fails with
 *   E_RESPONSE_TOO_LARGE (by Content-Length up front, else while reading);
 * - a body that ends before its Content-Length / final chunk fails with
 *   E_TRUNCATED_RESPONSE;
 * - errors raised before the request could reach the server (refused
 *   connection, failed handshake, connect timeout) carry `notSent: true`, the
 *   only case where retrying a non-idempotent request is safe;
 * - at most `maxSockets` requests are in flight (more wait for a free slot,
 *   the timeout starts when a request gets one), so at most `maxSockets`
 *   connections are opened. The Agent alone cannot promise that: it counts a
 *   socket only once createConnection has called back, i.e. after our pinned
 *   handshake, so a burst of requests would each open a connection.
 */
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { ApiError, describeRequest } from './errors.js';
import { parseCertFingerprint, presentedCertFingerprint } from './pinning.js';

export interface TransportOptions {
  host: string;
  port: number;
  /** Pinned SHA-256 of the server certificate (any notation parseCertFingerprint accepts). */
  tlsFingerprint?: string;
  /** Whole exchange, connect to last response byte. */
  timeoutMs: number;
  maxResponseBytes: number;
  /** Connections kept to this origin (session limits of small appliances: use 1). */
  maxSockets: number;
  /**
   * Close a kept-alive connection after this long unused (default 4 s), before
   * the server does: servers drop idle connections after about 5 s (Node,
   * Apache, uvicorn under opsiconfd), and a request written into a connection
   * the server is closing fails in a way that cannot be retried safely.
   * A server's `Keep-Alive: timeout=N` hint shortens it further (Node's Agent).
   */
  idleTimeoutMs?: number;
  /** Prefix of messages; empty when the engine adds the target address itself. */
  label?: string;
}

export interface RawRequest {
  method: string;
  /** Path and query, starting with '/'. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Node's socket errors that mean "the server cut the connection". */
function isDrop(e: NodeJS.ErrnoException): boolean {
  return e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.message === 'socket hang up';
}

export class HttpsTransport {
  readonly origin: string;
  /** TLS connections established (pinned ones only after the pin matched), requests written. */
  readonly stats = { connections: 0, requests: 0 };
  private readonly agent: https.Agent;
  private readonly pin?: string;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly o: TransportOptions) {
    this.origin = `https://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`;
    if (o.tlsFingerprint !== undefined) {
      const p = parseCertFingerprint(o.tlsFingerprint);
      if (!p.ok) throw new ApiError(`${this.where()}: ${p.reason}`, 'E_TLS_FINGERPRINT', { notSent: true });
      this.pin = p.fingerprint;
    }
    const self = this;
    const PinningAgent = class extends https.Agent {
      override createConnection(_opts: unknown, cb?: (err: Error | null, s: Duplex) => void): undefined {
        self.connect((err, s) => cb?.(err, s as Duplex));
        return undefined;
      }
    };
    this.agent = new PinningAgent({ keepAlive: true, maxSockets: o.maxSockets, maxFreeSockets: o.maxSockets, timeout: o.idleTimeoutMs ?? 4000 });
  }

  private where(): string {
    return (this.o.label ? `${this.o.label} ` : '') + `(${this.origin})`;
  }

  /** Opens a TLS connection and passes it on only when the certificate is acceptable. */
  private connect(cb: (err: Error | null, s?: tls.TLSSocket) => void): void {
    let done = false;
    const finish = (err: Error | null, s?: tls.TLSSocket) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cb(err, s);
    };
    const sock = tls.connect({
      host: this.o.host,
      port: this.o.port,
      servername: net.isIP(this.o.host) ? undefined : this.o.host,
      // With a pin the pin is the trust anchor (lab and appliance certificates are self-signed).
      rejectUnauthorized: !this.pin,
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => {
      sock.destroy();
      finish(new ApiError(`${this.where()}: no TLS connection within ${this.o.timeoutMs} ms`, 'E_TIMEOUT', { notSent: true }));
    }, this.o.timeoutMs);
    sock.once('secureConnect', () => {
      if (this.pin) {
        const got = presentedCertFingerprint(sock.getPeerCertificate(false)) ?? '(no certificate)';
        if (got !== this.pin) {
          sock.destroy();
          finish(
            new ApiError(
              `${this.where()}: TLS certificate fingerprint mismatch: expected ${this.pin}, the server presented ${got}. ` +
                'Nothing was sent (no credentials). If the certificate was renewed, update connection.tlsFingerprint.',
              'E_TLS_FINGERPRINT',
              { notSent: true },
            ),
          );
          return;
        }
      }
      this.stats.connections++;
      finish(null, sock);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => finish(this.connectError(e)));
  }

  private connectError(e: NodeJS.ErrnoException): ApiError {
    const code = e.code ?? '';
    if (code === 'ECONNREFUSED') return new ApiError(`${this.where()}: connection refused`, 'E_CONNECT', { notSent: true });
    if (/CERT|SELF_SIGNED|HOSTNAME|ERR_TLS/.test(code) || /certificate/i.test(e.message))
      return new ApiError(`${this.where()}: TLS certificate not trusted (${e.message}); pin it with connection.tlsFingerprint`, 'E_TLS', { notSent: true });
    // Any other failure before the handshake completed: the request was not written.
    return new ApiError(`${this.where()}: cannot connect: ${e.message}`, 'E_CONNECT', { notSent: true });
  }

  /** One request/response exchange; see the module comment for what it guarantees. Rejects only with ApiError. */
  async send(r: RawRequest): Promise<RawResponse> {
    if (this.active >= this.o.maxSockets) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await this.exchange(r);
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  private exchange(r: RawRequest): Promise<RawResponse> {
    const timeoutMs = r.timeoutMs ?? this.o.timeoutMs;
    const what = `${this.where()}: ${describeRequest(r.method, r.path)}`;
    const max = this.o.maxResponseBytes;
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const fail = (e: ApiError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(e);
      };
      const headers: Record<string, string | number> = { connection: 'keep-alive', 'accept-encoding': 'identity', ...r.headers };
      if (r.body) headers['content-length'] = r.body.length;
      const req = https.request({ host: this.o.host, port: this.o.port, method: r.method, path: r.path, headers, agent: this.agent });
      const timer = setTimeout(() => fail(new ApiError(`${what}: no complete answer within ${timeoutMs} ms`, 'E_TIMEOUT')), timeoutMs);
      req.on('socket', () => this.stats.requests++);
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof ApiError) return fail(e);
        if (isDrop(e)) return fail(new ApiError(`${what}: the server dropped the connection before answering`, 'E_CONNECTION_DROPPED'));
        fail(new ApiError(`${what}: ${e.message}`, 'E_CONNECT'));
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const declared = Number(res.headers['content-length'] ?? NaN);
        const tooLarge = (n: number) => new ApiError(`${what}: response larger than the ${max} bytes this client accepts (${n} bytes)`, 'E_RESPONSE_TOO_LARGE', { status });
        if (declared > max) return fail(tooLarge(declared));
        const enc = res.headers['content-encoding'];
        if (enc && enc !== 'identity') return fail(new ApiError(`${what}: unrequested Content-Encoding ${enc}`, 'E_BAD_RESPONSE', { status }));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > max) return fail(tooLarge(size));
          chunks.push(c);
        });
        const truncated = () =>
          fail(
            new ApiError(
              `${what}: response body truncated: the connection closed after ${size}${Number.isFinite(declared) ? ` of ${declared}` : ''} bytes`,
              'E_TRUNCATED_RESPONSE',
              { status },
            ),
          );
        res.on('error', truncated);
        res.on('close', () => {
          if (!res.complete) truncated();
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      req.end(r.body);
    });
  }

  /** Closes every connection of the pool. */
  close(): void {
    this.agent.destroy();
  }
}
