/**
 * A WinRM endpoint on loopback for `einklang lab` and the tests: HTTP(S) on
 * /wsman speaking WS-Management as Windows does (Create shell, Command, Send,
 * Receive with base64 streams and CommandState, Signal, Delete; SOAP faults
 * for unknown shells), over a WindowsModel.
 *
 * It behaves like a Windows host left as Enable-PSRemoting / Group Policy
 * leave it (./host-auth.ts has the authentication side):
 * - HTTP: Service\AllowUnencrypted=false. A message must come NTLM-sealed in
 *   the MS-WSMV 2.2.9.1 framing (../message-encryption.ts) and is answered
 *   sealed; an unencrypted SOAP body is refused with HTTP 401 (what Windows
 *   answers, per the Ansible WinRM guide's "HTTP 401/Credentials Rejected":
 *   "If running over HTTP and not HTTPS, use ntlm ... with message
 *   encryption"), and the connection must authenticate again. An empty POST
 *   that authenticates (pywinrm's context set-up) is answered 200.
 * - HTTPS: a deterministic ECDSA P-256 certificate (../../../lab/tls-certificate.ts);
 *   the NTLM channel binding is checked per CbtHardeningLevel.
 * - Basic only when the lab turns Service\Auth\Basic on.
 * - Receive holds a running command for the request's w:OperationTimeout and
 *   then answers the w:TimedOut fault (MS-WSMV 3.1.4.14: the client asks
 *   again), which `faults.commandDurationMs` makes observable.
 * - Quotas: MaxShellsPerUser (30) and MaxConcurrentOperationsPerUser (1500),
 *   the latter counting every Command of a shell until the shell is deleted:
 *   MS-WSMV product behavior note <118> says Windows does not decrement it on
 *   a Terminate signal to a text shell (as ansible/ansible PR 83656 found).
 *   The faults carry Windows' WSManFault codes and messages; the subcode
 *   w:QuotaLimit is DSP0226's and UNVERIFIED for Windows.
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
import { X509Certificate, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { labCertificate } from '../../../lab/identity.js';
import { BOOTSTRAP, formatResult, recogniseScript } from '../scripts.js';
import { channelBindingsHash, tlsServerEndPoint } from '../channel-binding.js';
import { decryptMessage, encryptMessage, isEncryptedContentType } from '../message-encryption.js';
import type { NtlmSealing } from '../ntlm-seal.js';
import { DEFAULT_SERVICE_CONFIG, HostAuthenticator, type WinrmServiceConfig } from './host-auth.js';
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
  /** Every command runs this long (ms) before its output is there; Receive holds it for OperationTimeout, then w:TimedOut. */
  commandDurationMs?: number;
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
  /** The WinRM service settings (default: as Windows leaves them, DEFAULT_SERVICE_CONFIG). */
  service?: Partial<WinrmServiceConfig>;
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
  /** When the command's output is there (commandDurationMs after Command). */
  readyAt: number;
}

interface Shell {
  id: string;
  commands: Map<string, Command>;
  /** Commands started in this shell: Windows counts them against MaxConcurrentOperationsPerUser until the shell is deleted. */
  operations: number;
}

/** Bytes per stream and Receive response; larger outputs span several Receives. */
const RECEIVE_CHUNK = 48 * 1024;
/** Windows' MaxTimeoutms default: the longest a request may be held. */
const MAX_TIMEOUT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a request to /wsman carries, once authenticated and (if sealed) decrypted. */
interface Incoming {
  body: string;
  /** The connection's NTLM sealing when the request came encrypted: the answer is sealed too. */
  sealing?: NtlmSealing;
}

export class WinrmSimulator {
  readonly model: WindowsModel;
  faults: WinrmFaults;
  readonly shells = new Map<string, Shell>();
  /** Requests answered, by action (short name), for tests and benchmarks. */
  readonly stats: Record<string, number> = {};
  /** How messages came: NTLM-sealed, plain, and plain ones refused (AllowUnencrypted=false). */
  readonly messages = { sealed: 0, plain: 0, refusedUnencrypted: 0 };
  /** Receives held for their OperationTimeout and answered w:TimedOut. */
  timedOutReceives = 0;
  readonly service: WinrmServiceConfig;
  fingerprint: string | null = null;
  port = 0;
  private auth: HostAuthenticator | null = null;
  private server: http.Server | https.Server | null = null;
  private sockets = new Set<net.Socket>();

  constructor(private readonly o: WinrmSimulatorOptions) {
    this.model = o.model ?? new WindowsModel(o.hostname);
    this.faults = o.faults ?? {};
    this.service = { ...DEFAULT_SERVICE_CONFIG, ...o.service };
  }

  /** Authentication counters (NTLM, Basic, channel bindings, refusals). */
  get authStats() {
    return this.auth!.stats;
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
    let channelBindings: Buffer | null = null;
    if (this.o.https) {
      const cert = labCertificate(this.o.certSeed ?? `winrm:${this.o.port}`, this.o.hostname ?? 'win-lab');
      this.fingerprint = cert.fingerprint256;
      const binding = tlsServerEndPoint(new X509Certificate(cert.certPem).raw);
      if ('applicationData' in binding) channelBindings = channelBindingsHash(binding.applicationData);
      this.server = https.createServer({ cert: cert.certPem, key: cert.keyPem, keepAlive: true }, handler);
    } else {
      this.server = http.createServer({ keepAlive: true }, handler);
    }
    this.auth = new HostAuthenticator({ user: this.o.user, password: this.o.password, hostname: this.model.hostname, config: this.service, channelBindings });
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

  private soap(res: http.ServerResponse, status: number, body: string, o: { headers?: Record<string, string | string[]>; sealing?: NtlmSealing } = {}): void {
    let payload: Buffer = Buffer.from(body, 'utf8');
    let contentType = 'application/soap+xml;charset=UTF-8';
    if (o.sealing && payload.length) {
      const sealing = o.sealing;
      const framed = encryptMessage(payload, (p) => sealing.wrap(p));
      payload = framed.body;
      contentType = framed.contentType;
    }
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': payload.length, ...o.headers });
    res.end(payload);
  }

  private fault(relatesTo: string, code: 'Sender' | 'Receiver', subcode: string, reason: string, wsmanCode: number): string {
    return faultResponse(relatesTo, { code, subcode, reason, wsmanCode, machine: this.model.hostname.toLowerCase() });
  }

  /** 401: a challenge (no body) or the offers with an AccessDenied fault. */
  private unauthorized(res: http.ServerResponse, wwwAuthenticate: string[], challenge: boolean): void {
    const body = challenge ? '' : this.fault('', 'Sender', 'w:AccessDenied', 'Access is denied.', FAULT_CODE.accessDenied);
    this.soap(res, 401, body, { headers: { 'WWW-Authenticate': wwwAuthenticate } });
  }

  /** Authenticates, applies the encryption policy and unseals; null when the request has been answered already. */
  private admit(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): Incoming | null {
    const auth = this.auth!.authenticate(req);
    if (!auth.ok) {
      this.unauthorized(res, auth.wwwAuthenticate, auth.challenge);
      return null;
    }
    // A sealed message that cannot be unsealed is answered 400 (Windows' status for it is not documented; the client must not get a 200)
    if (isEncryptedContentType(req.headers['content-type'])) {
      if (!auth.sealing) {
        res.writeHead(400, { 'Content-Length': 0 }).end(); // encrypted, but no NTLM session on this connection to decrypt with
        return null;
      }
      const sealing = auth.sealing;
      try {
        const body = decryptMessage(raw, (sealed, signature) => sealing.unwrap(sealed, signature)).toString('utf8');
        this.messages.sealed++;
        return { body, sealing };
      } catch {
        this.auth!.reset(req.socket);
        res.writeHead(400, { 'Content-Length': 0 }).end();
        return null;
      }
    }
    if (raw.length && !this.o.https && !this.service.allowUnencrypted) {
      this.messages.refusedUnencrypted++;
      this.auth!.reset(req.socket);
      this.unauthorized(res, this.auth!.offers(), false);
      return null;
    }
    if (raw.length) this.messages.plain++;
    return { body: raw.toString('utf8') };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    if (this.faults.dropConnections && this.faults.dropConnections > 0) {
      this.faults.dropConnections--;
      req.socket.destroy();
      return;
    }
    if (this.faults.latencyMs) await sleep(this.faults.latencyMs);
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0].toLowerCase() !== '/wsman') {
      res.writeHead(404).end();
      return;
    }
    const incoming = this.admit(req, res, raw);
    if (!incoming) return;
    if (incoming.body.length === 0) {
      res.writeHead(200, { 'Content-Length': 0 }).end();
      return;
    }
    let r: ParsedRequest;
    try {
      r = parseRequest(incoming.body);
    } catch (e) {
      const f = this.fault('', 'Sender', 'w:SchemaValidationError', `The SOAP XML in the message does not match the corresponding XML schema definition: ${(e as Error).message}`, 2150858817);
      this.soap(res, 500, f, { sealing: incoming.sealing });
      return;
    }
    const short = r.action.slice(r.action.lastIndexOf('/') + 1);
    this.stats[short] = (this.stats[short] ?? 0) + 1;
    const out = await this.dispatch(r);
    this.soap(res, out.fault ? 500 : 200, out.xml, { sealing: incoming.sealing });
  }

  // ------------------------------------------------------------ ws-man

  private async dispatch(r: ParsedRequest): Promise<{ xml: string; fault?: boolean }> {
    const fault = (code: 'Sender' | 'Receiver', sub: string, reason: string, wcode: number) => ({ xml: this.fault(r.messageId, code, sub, reason, wcode), fault: true });
    if (r.resourceUri !== RESOURCE_CMD) {
      return fault('Sender', 'w:DestinationUnreachable', `The WS-Management service cannot process the request because the resource URI ${r.resourceUri} is not supported.`, 2150858770);
    }
    if (r.action === ACTION.create) {
      const max = this.service.maxShellsPerUser;
      if (this.shells.size >= max) {
        return fault('Receiver', 'w:QuotaLimit', `The WS-Management service cannot process the request. This user is allowed a maximum number of ${max} concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.`, FAULT_CODE.quotaMaxShells);
      }
      const id = randomUUID().toUpperCase();
      this.shells.set(id, { id, commands: new Map(), operations: 0 });
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
        // MS-WSMV <118>: Signal Terminate does not give a text shell's operations back; only deleting the shell does
        const max = this.service.maxConcurrentOperationsPerUser;
        if (shell.operations >= max) {
          return fault('Receiver', 'w:QuotaLimit', `The WS-Management service cannot process the request. This user is allowed a maximum number of ${max} concurrent operations, which has been exceeded. Close existing operations for this user, or raise the quota for this user.`, FAULT_CODE.quotaMaxOperations);
        }
        shell.operations++;
        const cl = child(r.body, NS.rsp, 'CommandLine');
        const command = child(cl, NS.rsp, 'Command')?.text.trim() ?? '';
        const args = childrenOf(cl, NS.rsp, 'Arguments').map((a) => a.text);
        const id = randomUUID().toUpperCase();
        shell.commands.set(id, { id, command, args, stdin: [], stdinEnded: false, out: null, sent: { stdout: 0, stderr: 0 }, readyAt: Date.now() + (this.faults.commandDurationMs ?? 0) });
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
          const run = await this.finish(cmd, Math.min(r.operationTimeoutMs ?? MAX_TIMEOUT_MS, MAX_TIMEOUT_MS));
          if ('refused' in run) return fault('Receiver', 'w:InternalError', run.refused, FAULT_CODE.internal);
          if ('wait' in run) {
            this.timedOutReceives++;
            return fault('Receiver', 'w:TimedOut', 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.', FAULT_CODE.timedOut);
          }
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

  /** Runs the command once it can finish (its duration is over, its stdin complete), waiting at most `holdMs` for that. */
  private async finish(cmd: Command, holdMs: number): Promise<ReturnType<WinrmSimulator['run']>> {
    const deadline = Date.now() + holdMs;
    for (;;) {
      const waitFor = cmd.readyAt - Date.now();
      if (waitFor <= 0) {
        const run = this.run(cmd);
        if (!('wait' in run)) return run;
      }
      const left = deadline - Date.now();
      if (left <= 0) return { wait: true };
      await sleep(Math.min(left, waitFor > 0 ? waitFor : 25));
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
