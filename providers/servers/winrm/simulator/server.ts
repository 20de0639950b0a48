/**
 * A WinRM endpoint on loopback for `einklang lab` and the tests: HTTP(S) on
 * /wsman speaking WS-Management as Windows does (Create shell, Command, Send,
 * Receive with base64 streams and CommandState, Signal, Delete; SOAP faults
 * for unknown shells), Basic and NTLM authentication (401 + SOAP fault on bad
 * credentials), over a WindowsModel.
 *
 * It runs exactly the driver's scripts: a command must be the PowerShell
 * bootstrap (script on stdin) or `powershell -EncodedCommand <script>`, and
 * the script must be byte for byte one of the constant scripts of
 * ../scripts.ts with only its base64 payload line differing. The payload is
 * decoded as JSON and handed to the model. Anything else is refused with a
 * SOAP fault. (`hostname` is answered, for protocol checks.)
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { labCertificate } from '../../../lab/identity.js';
import { BOOTSTRAP, formatResult, recogniseScript } from '../scripts.js';
import { challengeMessage, parseAuthenticate, tokenFromHeader, verifyAuthenticate, splitUser } from '../ntlm.js';
import {
  ACTION,
  FAULT_CODE,
  NS,
  RESOURCE_CMD,
  commandResponse,
  createShellResponse,
  deleteShellResponse,
  faultResponse,
  parseRequest,
  receiveResponse,
  sendResponse,
  signalResponse,
  type ParsedRequest,
} from '../wsman.js';
import { attr, child, childrenOf } from '../xml.js';
import { WindowsModel } from './model.js';

export interface WinrmFaults {
  /** Delay before every answer, ms. */
  latencyMs?: number;
  /** The next N requests get their connection destroyed without an answer. */
  dropConnections?: number;
  /** The next N apply operations fail (exit 1) without changing the model. */
  failApply?: number;
  /** The next N read operations fail. */
  failRead?: number;
}

export interface WinrmSimulatorOptions {
  host?: string;
  port: number;
  https: boolean;
  /** Account WinRM accepts. */
  user: string;
  password: string;
  /** Seed of the TLS certificate (the target's address), so pinned fingerprints stay valid. */
  certSeed?: string;
  hostname?: string;
  /** Authentication schemes the endpoint offers (default both). */
  auth?: ('basic' | 'ntlm')[];
  faults?: WinrmFaults;
  model?: WindowsModel;
}

interface Command {
  id: string;
  command: string;
  args: string[];
  stdin: Buffer[];
  stdinEnded: boolean;
  out: { stdout: Buffer; stderr: Buffer; exitCode: number } | null;
  sent: { stdout: number; stderr: number };
}

interface Shell {
  id: string;
  commands: Map<string, Command>;
}

/** Bytes per stream and Receive response; larger outputs span several Receives. */
const RECEIVE_CHUNK = 48 * 1024;

export class WinrmSimulator {
  readonly model: WindowsModel;
  faults: WinrmFaults;
  readonly shells = new Map<string, Shell>();
  /** Requests answered, by action (short name), for tests and benchmarks. */
  readonly stats: Record<string, number> = {};
  fingerprint: string | null = null;
  port = 0;
  private server: http.Server | https.Server | null = null;
  private sockets = new Set<net.Socket>();
  private ntlm = new WeakMap<net.Socket, { challenge?: Buffer; authed?: boolean }>();

  constructor(private readonly o: WinrmSimulatorOptions) {
    this.model = o.model ?? new WindowsModel(o.hostname);
    this.faults = o.faults ?? {};
  }

  get url(): string {
    return `${this.o.https ? 'https' : 'http'}://${this.o.host ?? '127.0.0.1'}:${this.port}/wsman`;
  }

  async start(): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((e) => {
        if (!res.headersSent) this.soap(res, 500, this.fault('', 'Receiver', 'w:InternalError', `simulator error: ${(e as Error).message}`, FAULT_CODE.internal));
      });
    };
    if (this.o.https) {
      const cert = labCertificate(this.o.certSeed ?? `winrm:${this.o.port}`, this.o.hostname ?? 'win-lab');
      this.fingerprint = cert.fingerprint256;
      this.server = https.createServer({ cert: cert.certPem, key: cert.keyPem, keepAlive: true }, handler);
    } else {
      this.server = http.createServer({ keepAlive: true }, handler);
    }
    this.server.keepAliveTimeout = 30000;
    this.server.on(this.o.https ? 'secureConnection' : 'connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.port, this.o.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = null;
  }

  // ---------------------------------------------------------------- http

  private soap(res: http.ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/soap+xml;charset=UTF-8', 'Content-Length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }

  private fault(relatesTo: string, code: 'Sender' | 'Receiver', subcode: string, reason: string, wsmanCode: number): string {
    return faultResponse(relatesTo, { code, subcode, reason, wsmanCode, machine: this.model.hostname.toLowerCase() });
  }

  private unauthorized(res: http.ServerResponse, challenge?: Buffer): void {
    const offers = this.o.auth ?? ['basic', 'ntlm'];
    const www: string[] = [];
    if (challenge) www.push('Negotiate ' + challenge.toString('base64'));
    else {
      if (offers.includes('ntlm')) www.push('Negotiate');
      if (offers.includes('basic')) www.push('Basic realm="WSMAN"');
    }
    this.soap(res, 401, challenge ? '' : this.fault('', 'Sender', 'w:AccessDenied', 'Access is denied.', FAULT_CODE.accessDenied), {
      'WWW-Authenticate': www,
    });
  }

  /** True if the request may proceed; otherwise it has been answered. */
  private authenticate(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const offers = this.o.auth ?? ['basic', 'ntlm'];
    const sock = req.socket;
    const h = req.headers.authorization;
    const state = this.ntlm.get(sock) ?? {};
    if (!h) {
      if (state.authed) return true;
      this.unauthorized(res);
      return false;
    }
    if (/^Basic /i.test(h) && offers.includes('basic')) {
      const [user, ...rest] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
      if (this.userMatches(user) && rest.join(':') === this.o.password) return true;
      this.unauthorized(res);
      return false;
    }
    const token = offers.includes('ntlm') ? tokenFromHeader(h) : null;
    if (token && token.length >= 12) {
      const type = token.readUInt32LE(8);
      if (type === 1) {
        state.challenge = randomBytes(8);
        state.authed = false;
        this.ntlm.set(sock, state);
        this.unauthorized(res, challengeMessage(state.challenge, this.model.hostname));
        return false;
      }
      if (type === 3 && state.challenge) {
        try {
          const auth = parseAuthenticate(token);
          const ok = this.userMatches(auth.domain ? `${auth.domain}\\${auth.user}` : auth.user) && verifyAuthenticate(auth, state.challenge, this.o.password);
          state.challenge = undefined;
          if (ok) {
            state.authed = true;
            return true;
          }
        } catch {
          /* malformed: deny */
        }
      }
    }
    this.ntlm.set(sock, {});
    this.unauthorized(res);
    return false;
  }

  private userMatches(given: string): boolean {
    const a = splitUser(given);
    const b = splitUser(this.o.user);
    const localDomain = (d: string) => d === '' || d === '.' || d.toUpperCase() === this.model.hostname;
    return a.user.toLowerCase() === b.user.toLowerCase() && (a.domain.toLowerCase() === b.domain.toLowerCase() || (localDomain(a.domain) && localDomain(b.domain)));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (this.faults.dropConnections && this.faults.dropConnections > 0) {
      this.faults.dropConnections--;
      req.socket.destroy();
      return;
    }
    if (this.faults.latencyMs) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0].toLowerCase() !== '/wsman') {
      res.writeHead(404).end();
      return;
    }
    if (!this.authenticate(req, res)) return;
    if (body.length === 0) {
      res.writeHead(200, { 'Content-Length': 0 }).end();
      return;
    }
    let r: ParsedRequest;
    try {
      r = parseRequest(body);
    } catch (e) {
      this.soap(res, 500, this.fault('', 'Sender', 'w:SchemaValidationError', `The SOAP XML in the message does not match the corresponding XML schema definition: ${(e as Error).message}`, 2150858817));
      return;
    }
    const short = r.action.slice(r.action.lastIndexOf('/') + 1);
    this.stats[short] = (this.stats[short] ?? 0) + 1;
    const out = this.dispatch(r);
    this.soap(res, out.fault ? 500 : 200, out.xml);
  }

  // ------------------------------------------------------------ ws-man

  private dispatch(r: ParsedRequest): { xml: string; fault?: boolean } {
    const fault = (code: 'Sender' | 'Receiver', sub: string, reason: string, wcode: number) => ({ xml: this.fault(r.messageId, code, sub, reason, wcode), fault: true });
    if (r.resourceUri !== RESOURCE_CMD) {
      return fault('Sender', 'w:DestinationUnreachable', `The WS-Management service cannot process the request because the resource URI ${r.resourceUri} is not supported.`, 2150858770);
    }
    if (r.action === ACTION.create) {
      const id = randomUUID().toUpperCase();
      this.shells.set(id, { id, commands: new Map() });
      return { xml: createShellResponse(r.messageId, this.url, id) };
    }
    const shell = r.shellId ? this.shells.get(r.shellId) : undefined;
    if (!shell) {
      return fault(
        'Sender',
        'w:InvalidSelectors',
        `The request for the Windows Remote Shell with ShellId ${r.shellId ?? ''} failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation.`,
        FAULT_CODE.shellNotFound,
      );
    }
    switch (r.action) {
      case ACTION.delete:
        this.shells.delete(shell.id);
        return { xml: deleteShellResponse(r.messageId) };
      case ACTION.command: {
        const cl = child(r.body, NS.rsp, 'CommandLine');
        const command = child(cl, NS.rsp, 'Command')?.text.trim() ?? '';
        const args = childrenOf(cl, NS.rsp, 'Arguments').map((a) => a.text);
        const id = randomUUID().toUpperCase();
        shell.commands.set(id, { id, command, args, stdin: [], stdinEnded: false, out: null, sent: { stdout: 0, stderr: 0 } });
        return { xml: commandResponse(r.messageId, id) };
      }
      case ACTION.send: {
        for (const s of childrenOf(child(r.body, NS.rsp, 'Send'), NS.rsp, 'Stream')) {
          const cmd = shell.commands.get(attr(s, 'CommandId') ?? '');
          if (!cmd) return fault('Sender', 'w:InvalidParameter', 'The command id is not valid for this shell.', 2150858843);
          cmd.stdin.push(Buffer.from(s.text.trim(), 'base64'));
          if (attr(s, 'End') === 'true') cmd.stdinEnded = true;
        }
        return { xml: sendResponse(r.messageId) };
      }
      case ACTION.receive: {
        const ds = child(child(r.body, NS.rsp, 'Receive'), NS.rsp, 'DesiredStream');
        const cmd = shell.commands.get(attr(ds ?? { attrs: [] } as any, 'CommandId') ?? '');
        if (!cmd) return fault('Sender', 'w:InvalidParameter', 'The command id is not valid for this shell.', 2150858843);
        if (!cmd.out) {
          const run = this.run(cmd);
          if ('refused' in run) return fault('Receiver', 'w:InternalError', run.refused, FAULT_CODE.internal);
          if ('wait' in run) return fault('Receiver', 'w:TimedOut', 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.', FAULT_CODE.timedOut);
          cmd.out = run;
        }
        const streams: { name: 'stdout' | 'stderr'; data: Buffer }[] = [];
        for (const name of ['stdout', 'stderr'] as const) {
          const buf = cmd.out[name];
          if (cmd.sent[name] < buf.length) {
            streams.push({ name, data: buf.subarray(cmd.sent[name], cmd.sent[name] + RECEIVE_CHUNK) });
            cmd.sent[name] = Math.min(buf.length, cmd.sent[name] + RECEIVE_CHUNK);
          }
        }
        const done = cmd.sent.stdout >= cmd.out.stdout.length && cmd.sent.stderr >= cmd.out.stderr.length;
        return { xml: receiveResponse(r.messageId, cmd.id, streams, done ? { exitCode: cmd.out.exitCode } : null) };
      }
      case ACTION.signal: {
        const cid = attr(child(r.body, NS.rsp, 'Signal') ?? ({ attrs: [] } as any), 'CommandId');
        if (cid) shell.commands.delete(cid);
        return { xml: signalResponse(r.messageId) };
      }
      default:
        return fault('Sender', 'a:ActionNotSupported', `The action ${r.action} is not supported by the service.`, 2150858760);
    }
  }

  /** Runs a command: the driver's scripts only. */
  private run(cmd: Command): { stdout: Buffer; stderr: Buffer; exitCode: number } | { refused: string } | { wait: true } {
    const exe = cmd.command.split(/\s+/)[0].toLowerCase().replace(/^.*\\/, '');
    const words = [...cmd.command.split(/\s+/).slice(1), ...cmd.args.flatMap((a) => a.split(/\s+/))].filter(Boolean);
    if (exe === 'hostname' && words.length === 0) return { stdout: Buffer.from(this.model.hostname + '\r\n'), stderr: Buffer.alloc(0), exitCode: 0 };
    if (exe !== 'powershell.exe' && exe !== 'powershell') return { refused: `einklang simulator: command refused (only the einklang driver's scripts run here): ${cmd.command.slice(0, 80)}` };
    const i = words.findIndex((w) => /^-(e|ec|enc|encodedcommand)$/i.test(w));
    if (i < 0 || !words[i + 1]) return { refused: 'einklang simulator: only -EncodedCommand scripts are run' };
    const encoded = Buffer.from(words[i + 1], 'base64').toString('utf16le');
    let script: string;
    if (encoded === BOOTSTRAP) {
      if (!cmd.stdinEnded) return { wait: true };
      script = Buffer.from(Buffer.concat(cmd.stdin).toString('ascii').replace(/\s+/g, ''), 'base64').toString('utf8');
    } else {
      script = encoded;
    }
    const rec = recogniseScript(script);
    if (!rec) return { refused: 'einklang simulator: script refused: it is not one of the einklang driver\'s scripts' };
    const isApply = rec.op !== 'read';
    if (isApply && this.faults.failApply && this.faults.failApply > 0) {
      this.faults.failApply--;
      return this.scriptOut({ ok: false, error: 'injected failure (failApply)' }, 1);
    }
    if (!isApply && this.faults.failRead && this.faults.failRead > 0) {
      this.faults.failRead--;
      return this.scriptOut({ ok: false, error: 'injected failure (failRead)' }, 1);
    }
    const result = this.model.execute(rec.op, rec.payload);
    return this.scriptOut(result, result.ok ? 0 : 1);
  }

  private scriptOut(result: unknown, exitCode: number) {
    return { stdout: Buffer.from(formatResult(result), 'utf8'), stderr: Buffer.alloc(0), exitCode };
  }
}
