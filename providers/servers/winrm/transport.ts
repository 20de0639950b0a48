/**
 * The WinRM transport: POSTs SOAP envelopes to /wsman over HTTP or HTTPS with
 * Basic or NTLM authentication, on ONE keep-alive connection per target.
 *
 * Why not the `winrm-client` package (see the issue): it decodes command
 * output as ASCII (UTF-8 is lost), reads only one Receive (large outputs are
 * cut off), repeats the whole NTLM handshake on a new connection for every
 * message, sends the same MessageID every time, has no timeout for NTLM, picks
 * Basic or NTLM from the user name's format instead of the connection, and has
 * no hook to pin a certificate fingerprint before credentials are sent. This
 * file is the replacement, behind the small `WsmanTransport` interface.
 *
 * Certificate pinning: with `tlsFingerprint` set, the TLS connection is made
 * here, the peer certificate's SHA-256 is compared with the pin, and only a
 * matching connection is handed to the HTTP layer. On mismatch the socket is
 * destroyed before a single HTTP byte (let alone a credential) is written.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { DriverError } from '../../../engine/types.js';
import { certFingerprint, normaliseCertFingerprint } from '../../lab/identity.js';
import { authenticateMessage, negotiateMessage, parseChallenge, tokenFromHeader } from './ntlm.js';
import { parseXml, type XmlElement } from './xml.js';
import { responseBody } from './wsman.js';

export interface WsmanTransport {
  /** The endpoint URL (`http(s)://host:port/wsman`), used as the envelopes' `To`. */
  readonly url: string;
  /** POST one envelope; resolves with the response Body (throws WsmanFault on a SOAP fault). */
  post(envelope: string): Promise<XmlElement>;
  close(): void;
}

export interface HttpTransportOptions {
  host: string;
  port: number;
  https: boolean;
  auth: 'basic' | 'ntlm';
  user: string;
  password: string;
  /** Required pin for HTTPS (any of the forms normaliseCertFingerprint accepts); without it the system CAs decide. */
  tlsFingerprint?: string;
  timeoutMs: number;
  /** Name for messages; the engine already prefixes the target's address, so the driver leaves it empty. */
  label?: string;
}

export class HttpTransport implements WsmanTransport {
  readonly url: string;
  private agent: http.Agent;
  private socket: net.Socket | null = null;
  private authedSocket: net.Socket | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly o: HttpTransportOptions) {
    this.url = `${o.https ? 'https' : 'http'}://${o.host}:${o.port}/wsman`;
    const self = this;
    const base = o.https ? https.Agent : http.Agent;
    const Agent = class extends (base as typeof http.Agent) {
      override createConnection(_opts: http.ClientRequestArgs, cb?: (err: Error | null, s: Duplex) => void): undefined {
        self.connect((err, s) => cb?.(err, s as Duplex));
        return undefined;
      }
    };
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 }) as http.Agent;
  }

  private where(): string {
    return this.o.label ? `${this.o.label} (${this.url})` : this.url;
  }

  /** Opens the TCP (and TLS, with pin check) connection for the agent. */
  private connect(cb: (err: Error | null, s?: net.Socket) => void): void {
    let done = false;
    const finish = (err: Error | null, s?: net.Socket) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (s) {
        this.socket = s;
        s.once('close', () => {
          if (this.socket === s) this.socket = null;
        });
      }
      cb(err, s);
    };
    const timer = setTimeout(() => {
      sock.destroy();
      finish(new DriverError(`${this.where()}: connection timed out after ${this.o.timeoutMs} ms`, { code: 'E_TIMEOUT' }));
    }, this.o.timeoutMs);
    let sock: net.Socket;
    if (!this.o.https) {
      sock = net.connect({ host: this.o.host, port: this.o.port });
      sock.once('connect', () => finish(null, sock));
    } else {
      const pin = this.o.tlsFingerprint ? normaliseCertFingerprint(this.o.tlsFingerprint) : undefined;
      const t = tls.connect({
        host: this.o.host,
        port: this.o.port,
        servername: net.isIP(this.o.host) ? undefined : this.o.host,
        rejectUnauthorized: !pin,
      });
      sock = t;
      t.once('secureConnect', () => {
        if (pin) {
          const cert = t.getPeerCertificate(false);
          const got = cert?.raw ? certFingerprint(cert.raw) : '(no certificate)';
          if (got !== pin) {
            t.destroy();
            finish(
              new DriverError(
                `${this.where()}: TLS certificate fingerprint mismatch: expected ${pin}, the server presented ${got}. ` +
                  'Nothing was sent (no credentials). If the certificate was renewed, update connection.tlsFingerprint.',
                { code: 'E_TLS_FINGERPRINT' },
              ),
            );
            return;
          }
        }
        finish(null, t);
      });
    }
    sock.once('error', (e: NodeJS.ErrnoException) => finish(this.netError(e)));
  }

  private netError(e: NodeJS.ErrnoException): Error {
    if (e instanceof DriverError) return e;
    if (e.code === 'ECONNREFUSED') return new DriverError(`${this.where()}: connection refused (is WinRM listening?)`, { code: 'E_CONNECT' });
    if (e.code === 'ECONNRESET' || e.message === 'socket hang up')
      return new DriverError(`${this.where()}: connection dropped by the server`, { code: 'E_CONNECTION_DROPPED' });
    if (/certificate|self.signed|CERT_/i.test(e.message) || (e.code ?? '').startsWith('ERR_TLS') || /CERT/.test(e.code ?? ''))
      return new DriverError(`${this.where()}: TLS certificate not trusted (${e.message}); pin it with connection.tlsFingerprint`, {
        code: 'E_TLS',
      });
    return new DriverError(`${this.where()}: ${e.message}`, { code: 'E_CONNECT' });
  }

  private request(body: string, authorization?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string; socket: net.Socket | null }> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = {
        'Content-Type': 'application/soap+xml;charset=UTF-8',
        'Content-Length': Buffer.byteLength(body),
        'User-Agent': 'einklang WinRM client',
        Connection: 'keep-alive',
      };
      if (authorization) headers.Authorization = authorization;
      const mod = this.o.https ? https : http;
      const req = mod.request({ host: this.o.host, port: this.o.port, path: '/wsman', method: 'POST', headers, agent: this.agent });
      let sock: net.Socket | null = null;
      req.on('socket', (s) => (sock = s));
      req.setTimeout(this.o.timeoutMs, () =>
        req.destroy(new DriverError(`${this.where()}: no answer within ${this.o.timeoutMs} ms`, { code: 'E_TIMEOUT' })),
      );
      req.on('error', (e) => reject(this.netError(e)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(this.netError(e)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), socket: sock }));
      });
      req.end(body);
    });
  }

  private authFailed(detail: string): DriverError {
    return new DriverError(
      `${this.where()}: authentication failed for user ${JSON.stringify(this.o.user)} (${this.o.auth}): ${detail}. Check connection.user and the password secret.`,
      { code: 'E_AUTH' },
    );
  }

  private async exchange(body: string): Promise<{ status: number; text: string }> {
    if (this.o.auth === 'basic') {
      const cred = 'Basic ' + Buffer.from(`${this.o.user}:${this.o.password}`, 'utf8').toString('base64');
      const r = await this.request(body, cred);
      if (r.status === 401) throw this.authFailed('the server rejected the user name or password (HTTP 401)');
      return r;
    }
    // NTLM authenticates the connection: reuse it while it is alive.
    if (this.authedSocket && this.authedSocket === this.socket && !this.authedSocket.destroyed) {
      const r = await this.request(body);
      if (r.status !== 401) return r;
      this.authedSocket = null; // server forgot us (new connection): authenticate again
    }
    const r1 = await this.request('', 'Negotiate ' + negotiateMessage().toString('base64'));
    const token = r1.status === 401 ? tokenFromHeader(r1.headers['www-authenticate']) : null;
    if (!token) {
      throw this.authFailed(
        r1.status === 401 ? 'the server offers no NTLM/Negotiate authentication' : `unexpected HTTP ${r1.status} to the NTLM negotiate message`,
      );
    }
    let challenge;
    try {
      challenge = parseChallenge(token);
    } catch (e) {
      throw this.authFailed(`bad NTLM challenge: ${(e as Error).message}`);
    }
    const auth = authenticateMessage(challenge, this.o.user, this.o.password);
    const r2 = await this.request(body, 'Negotiate ' + auth.toString('base64'));
    if (r2.status === 401) throw this.authFailed('the server rejected the NTLM credentials (HTTP 401)');
    this.authedSocket = r2.socket;
    return r2;
  }

  post(envelope: string): Promise<XmlElement> {
    const run = async () => {
      if (this.closed) throw new DriverError(`${this.where()}: session is closed`, { code: 'E_CLOSED' });
      const r = await this.exchange(envelope);
      if (r.status !== 200 && r.status !== 500) {
        throw new DriverError(`${this.where()}: HTTP ${r.status}${r.text ? ': ' + r.text.slice(0, 200) : ''}`, { code: 'E_HTTP' });
      }
      let env: XmlElement;
      try {
        env = parseXml(r.text);
      } catch (e) {
        throw new DriverError(`${this.where()}: unreadable response (HTTP ${r.status}): ${(e as Error).message}`, { code: 'E_PROTOCOL' });
      }
      return responseBody(env);
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
    this.socket?.destroy();
  }
}
