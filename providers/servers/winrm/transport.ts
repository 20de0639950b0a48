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
 * How a default Windows host is reached (Enable-PSRemoting / Group Policy:
 * HTTP listener on 5985, Service\AllowUnencrypted=false, Basic off):
 * - NTLM authenticates the connection with an empty POST first (NEGOTIATE,
 *   CHALLENGE, AUTHENTICATE; the host answers 200), as pywinrm 0.3.0 does
 *   (`Transport.setup_encryption`: "sending blank message to initialise
 *   context"). Over HTTP every message is then sealed with the NTLM session
 *   key (./ntlm-seal.ts) in the MS-WSMV 2.2.9.1 framing
 *   (./message-encryption.ts), and so is every answer.
 * - Over HTTPS the AUTHENTICATE carries the RFC 5929 channel binding of the
 *   certificate the connection presented (./channel-binding.ts), which a host
 *   with CbtHardeningLevel=Strict requires; the body is not sealed (TLS
 *   protects it), as pywinrm's message_encryption=auto does.
 * - A host refuses unencrypted messages on HTTP with 401 when AllowUnencrypted
 *   is false (the Ansible WinRM guide, windows_setup.rst, lists it under
 *   "HTTP 401/Credentials Rejected"). That 401 is told apart from a wrong
 *   password by asking again with an empty body: a host that accepts the
 *   credentials for that refused only the unencrypted message. Errors say
 *   which (E_ENCRYPTION_REQUIRED, E_AUTH_METHOD, E_AUTH) instead of
 *   "credentials rejected".
 * - The WS-Man OperationTimeout is strictly below the HTTP timeout (pywinrm
 *   refuses the other way round: "read_timeout_sec must exceed
 *   operation_timeout_sec"): a Receive that Windows holds for OperationTimeout
 *   and then answers with w:TimedOut must not race the client's own timeout.
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
import { channelBindingsHash, tlsServerEndPoint, type EndPointBinding } from './channel-binding.js';
import { decryptMessage, encryptMessage, FramingError, isEncryptedContentType } from './message-encryption.js';
import { authenticateMessage, negotiateMessage, parseChallenge, tokenFromHeader, type ChallengeMessage } from './ntlm.js';
import { missingSealingFlags, NtlmSealError, NtlmSealing } from './ntlm-seal.js';
import { parseXml, type XmlElement } from './xml.js';
import { responseBody, type WsmanEndpoint } from './wsman.js';

export interface WsmanTransport extends WsmanEndpoint {
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

/**
 * w:OperationTimeout for an HTTP timeout: a quarter of it below, at most 10 s
 * below (60 s -> PT50S, 5 s -> PT3.75S), so the answer to a held Receive
 * always arrives before the client gives up.
 */
export function operationTimeoutMs(httpTimeoutMs: number): number {
  return httpTimeoutMs - Math.min(10_000, httpTimeoutMs / 4);
}

export function isoSeconds(ms: number): string {
  return `PT${(Math.round(ms) / 1000).toFixed(3).replace(/\.?0+$/, '')}S`;
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  socket: net.Socket | null;
}

/** Per connection: what NTLM established on it. */
interface ConnectionState {
  /** tls-server-end-point binding of the certificate this connection presented (https). */
  binding?: EndPointBinding;
  authed?: boolean;
  /** NTLM session security (http). */
  sealing?: NtlmSealing;
}

const EMPTY = Buffer.alloc(0);
const SOAP_CONTENT_TYPE = 'application/soap+xml;charset=UTF-8';

/** Scheme names a 401 offers (`Negotiate`, `Basic`, ...). */
function offeredSchemes(h: string | string[] | undefined): string[] {
  const list = Array.isArray(h) ? h : h ? [h] : [];
  return list.flatMap((v) => v.split(',').map((p) => p.trim().split(/\s+/)[0])).filter((s) => /^[A-Za-z][\w-]*$/.test(s));
}

export class HttpTransport implements WsmanTransport {
  readonly url: string;
  readonly operationTimeout: string;
  private agent: http.Agent;
  private socket: net.Socket | null = null;
  private readonly connections = new WeakMap<net.Socket, ConnectionState>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly o: HttpTransportOptions) {
    this.url = `${o.https ? 'https' : 'http'}://${o.host}:${o.port}/wsman`;
    this.operationTimeout = isoSeconds(operationTimeoutMs(o.timeoutMs));
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

  private state(s: net.Socket | null): ConnectionState {
    if (!s) return {};
    let st = this.connections.get(s);
    if (!st) this.connections.set(s, (st = {}));
    return st;
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
        const cert = t.getPeerCertificate(false);
        if (pin) {
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
        this.state(t).binding = this.bindingOf(cert?.raw);
        finish(null, t);
      });
    }
    sock.once('error', (e: NodeJS.ErrnoException) => finish(this.netError(e)));
  }

  private bindingOf(der: Buffer | undefined): EndPointBinding {
    if (!der) return { undefinedFor: 'a connection without certificate' };
    try {
      return tlsServerEndPoint(der);
    } catch (e) {
      return { undefinedFor: `an unreadable certificate (${(e as Error).message})` };
    }
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

  private request(body: Buffer, o: { authorization?: string; contentType?: string } = {}): Promise<Response> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = {
        'Content-Type': o.contentType ?? SOAP_CONTENT_TYPE,
        'Content-Length': body.length,
        'User-Agent': 'einklang WinRM client',
        Connection: 'keep-alive',
      };
      if (o.authorization) headers.Authorization = o.authorization;
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
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), socket: sock }));
      });
      req.end(body);
    });
  }

  private fail(code: string, detail: string): DriverError {
    return new DriverError(`${this.where()}: ${detail}`, { code });
  }

  private authFailed(detail: string): DriverError {
    return this.fail('E_AUTH', `authentication failed for user ${JSON.stringify(this.o.user)} (${this.o.auth}): ${detail}.`);
  }

  private methodRefused(offers: string[]): DriverError {
    const what = this.o.auth === 'basic' ? 'Basic' : 'NTLM (Negotiate)';
    const hint = this.o.auth === 'basic' ? ' Windows turns Basic off by default (WinRM Service\\Auth\\Basic=false); use auth: ntlm.' : '';
    return this.fail('E_AUTH_METHOD', `the host does not accept ${what} authentication (it offers: ${offers.join(', ') || 'nothing'}).${hint}`);
  }

  // ------------------------------------------------------------- Basic

  private async basicExchange(body: Buffer): Promise<Response> {
    const authorization = 'Basic ' + Buffer.from(`${this.o.user}:${this.o.password}`, 'utf8').toString('base64');
    const r = await this.request(body, { authorization });
    if (r.status !== 401) return r;
    const offers = offeredSchemes(r.headers['www-authenticate']);
    if (!offers.some((s) => s.toLowerCase() === 'basic')) throw this.methodRefused(offers);
    if (!this.o.https && body.length) {
      // same credentials, nothing unencrypted: if that passes, only the unencrypted body was refused
      const probe = await this.request(EMPTY, { authorization });
      if (probe.status === 200) {
        throw this.fail(
          'E_ENCRYPTION_REQUIRED',
          'the host accepted the credentials but refuses unencrypted messages (WinRM Service\\AllowUnencrypted=false, the Windows default). ' +
            'Basic over HTTP cannot be encrypted: use auth: ntlm (einklang then encrypts every message) or transport: https.',
        );
      }
    }
    throw this.authFailed('the host rejected the user name or password (HTTP 401). Check connection.user and the password secret');
  }

  // -------------------------------------------------------------- NTLM

  /** NEGOTIATE / CHALLENGE / AUTHENTICATE with empty bodies on one connection; afterwards that connection is authenticated. */
  private async ntlmHandshake(): Promise<void> {
    const negotiate = negotiateMessage();
    const r1 = await this.request(EMPTY, { authorization: 'Negotiate ' + negotiate.toString('base64') });
    const token = r1.status === 401 ? tokenFromHeader(r1.headers['www-authenticate']) : null;
    if (!token) {
      if (r1.status === 401) throw this.methodRefused(offeredSchemes(r1.headers['www-authenticate']));
      throw this.authFailed(`unexpected HTTP ${r1.status} to the NTLM negotiate message`);
    }
    let challenge: ChallengeMessage;
    try {
      challenge = parseChallenge(token);
    } catch (e) {
      throw this.authFailed(`bad NTLM challenge: ${(e as Error).message}`);
    }
    const conn = this.state(r1.socket);
    const sealingMissing = this.o.https ? '' : missingSealingFlags(challenge.flags);
    if (sealingMissing) {
      throw this.fail('E_ENCRYPTION_UNAVAILABLE', `the host does not offer NTLM message encryption (negotiate flags ${sealingMissing} missing), so nothing can be sent over HTTP safely; use transport: https`);
    }
    const binding = this.o.https ? conn.binding : undefined;
    const auth = authenticateMessage(challenge, this.o.user, this.o.password, {
      negotiate,
      channelBindings: binding && 'applicationData' in binding ? channelBindingsHash(binding.applicationData) : undefined,
    });
    const r2 = await this.request(EMPTY, { authorization: 'Negotiate ' + auth.message.toString('base64') });
    if (r2.socket !== r1.socket) throw this.fail('E_CONNECTION_DROPPED', 'the connection closed during NTLM authentication (NTLM authenticates one connection)');
    if (r2.status === 401) throw this.ntlmRejected(binding);
    if (r2.status !== 200) throw this.authFailed(`unexpected HTTP ${r2.status} to the NTLM authenticate message`);
    conn.authed = true;
    conn.sealing = this.o.https ? undefined : new NtlmSealing(auth.flags, auth.exportedSessionKey, 'client');
  }

  /** A 401 to AUTHENTICATE: the credentials, or (https) a channel binding the host does not accept. */
  private ntlmRejected(binding: EndPointBinding | undefined): DriverError {
    const base = 'the host rejected the NTLM authentication (HTTP 401). Check connection.user and the password secret';
    if (!binding) return this.authFailed(`${base}, and that the account may log on remotely`);
    if ('undefinedFor' in binding) {
      return this.fail(
        'E_CHANNEL_BINDING',
        `authentication failed for user ${JSON.stringify(this.o.user)} (ntlm): ${base}. If they are right, channel binding is the cause: ` +
          `RFC 5929 defines no tls-server-end-point binding for ${binding.undefinedFor}, so einklang could send none, and a host with CbtHardeningLevel=Strict refuses that. ` +
          'Give the WinRM listener an RSA or ECDSA certificate.',
      );
    }
    return this.authFailed(
      `${base}. If they are right, channel binding is the cause: einklang bound the authentication to the certificate this connection presented ` +
        `(tls-server-end-point, ${binding.hash.toUpperCase()}), and a host with CbtHardeningLevel=Strict refuses when that is not its listener's own certificate ` +
        '(a TLS-terminating proxy or load balancer in between)',
    );
  }

  /** Sends on an authenticated connection: sealed over http. Null when the connection turned out not to be authenticated (401). */
  private async ntlmSend(body: Buffer): Promise<Response | null> {
    const conn = this.state(this.socket);
    if (!conn.authed) return null;
    const sealing = conn.sealing;
    const framed = sealing ? encryptMessage(body, (p) => sealing.wrap(p)) : null;
    const r = framed ? await this.request(framed.body, { contentType: framed.contentType }) : await this.request(body);
    if (r.status === 401) {
      this.state(r.socket).authed = false;
      return null;
    }
    if (isEncryptedContentType(r.headers['content-type'] as string | undefined)) {
      if (!sealing) throw this.fail('E_PROTOCOL', 'the host answered with an encrypted message on a connection without NTLM session security');
      try {
        return { ...r, body: decryptMessage(r.body, (s, sig) => sealing.unwrap(s, sig)) };
      } catch (e) {
        if (e instanceof FramingError || e instanceof NtlmSealError) throw this.fail('E_PROTOCOL', `cannot decrypt the host's answer: ${e.message}`);
        throw e;
      }
    }
    if (sealing && r.body.length) throw this.fail('E_PROTOCOL', `the host answered an encrypted request unencrypted (HTTP ${r.status}, ${r.headers['content-type'] ?? 'no Content-Type'})`);
    return r;
  }

  private async ntlmExchange(body: Buffer): Promise<Response> {
    const reused = await this.ntlmSend(body);
    if (reused) return reused;
    await this.ntlmHandshake();
    const fresh = await this.ntlmSend(body);
    if (fresh) return fresh;
    // authenticated a moment ago, and still 401: the message itself was refused
    throw this.fail(
      this.o.https ? 'E_AUTH' : 'E_ENCRYPTION_UNAVAILABLE',
      this.o.https
        ? 'the host accepted the NTLM authentication but refused the message (HTTP 401)'
        : 'the host accepted the NTLM authentication but refused the encrypted message (HTTP 401); it may not accept NTLM message encryption',
    );
  }

  post(envelope: string): Promise<XmlElement> {
    const run = async () => {
      if (this.closed) throw new DriverError(`${this.where()}: session is closed`, { code: 'E_CLOSED' });
      const body = Buffer.from(envelope, 'utf8');
      const r = this.o.auth === 'basic' ? await this.basicExchange(body) : await this.ntlmExchange(body);
      const text = r.body.toString('utf8');
      if (r.status !== 200 && r.status !== 500) {
        throw new DriverError(`${this.where()}: HTTP ${r.status}${text ? ': ' + text.slice(0, 200) : ''}`, { code: 'E_HTTP' });
      }
      let env: XmlElement;
      try {
        env = parseXml(text);
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
