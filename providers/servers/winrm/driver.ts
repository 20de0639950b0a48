/**
 * The `winrm` driver: Windows servers (Server with os: windows) over
 * WS-Management. Kinds File, Directory, User, Group, Service (shared with
 * the Linux ssh driver, same state fields and meaning) plus WindowsFeature
 * and RegistryValue. Not transactional: one change at a time (applyChange).
 *
 * One HTTP(S) connection and one remote shell per session, reused. Reading a
 * target is ONE PowerShell script for all requested objects. Values from
 * manifests travel as base64 JSON data, never as PowerShell source.
 *
 * Transport security (./transport.ts): `transport: http, auth: ntlm` (how
 * Windows servers are set up by default) seals every message with the NTLM
 * session key; HTTPS pins the certificate and binds NTLM to it. Only Basic
 * over HTTP is unencrypted, and only with `allowUnencrypted: true`.
 */
import type { Change, Driver, ReadResult, SessionOptions, TargetSpec } from '../../../engine/types.js';
import { DriverError, objectKey } from '../../../engine/types.js';
import { contentBytes, contentState, windowsNameProblem, windowsPathProblem, windowsServiceNameProblem } from '../kinds.js';
import { FEATURE_NAME, canonicalRegistryPath, normalizeRegistryData, registryPathProblem } from './kinds.js';
import { HttpTransport, type WsmanTransport } from './transport.js';
import { WinrmSession } from './session.js';
import { POWERSHELL, POWERSHELL_ARGS, buildScript, parseResult, scriptStdin, type Op } from './scripts.js';
import { clixmlToText } from './wsman.js';
import { winrmConnection } from './connection.js';

export const WINRM_KINDS = ['File', 'Directory', 'User', 'Group', 'Service', 'WindowsFeature', 'RegistryValue'];

// ------------------------------------------------------------- session

function sameCi(a: unknown, b: unknown): boolean {
  return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
}

/**
 * The name the read script reports for an account: it drops the local
 * qualifiers (`BUILTIN\`, the computer name; `.\` means the computer too), so
 * `BUILTIN\Administrators` reads back as `Administrators`. Domain accounts keep theirs.
 */
export function shortAccountName(name: string, hostname?: string): string {
  const i = name.indexOf('\\');
  if (i < 0) return name;
  const domain = name.slice(0, i);
  return domain === '.' || sameCi(domain, 'BUILTIN') || (hostname !== undefined && sameCi(domain, hostname)) ? name.slice(i + 1) : name;
}

/** Windows names are case-insensitive and may be qualified: report the manifest's spelling when the live name is the same account. */
function reconcileCase(live: unknown, wanted: unknown, hostname?: string): unknown {
  const same = (l: unknown, w: unknown) => sameCi(l, w) || (typeof w === 'string' && sameCi(l, shortAccountName(w, hostname)));
  if (typeof live === 'string') return same(live, wanted) ? wanted : live;
  if (Array.isArray(live) && Array.isArray(wanted)) return live.map((x) => wanted.find((w) => same(x, w)) ?? x);
  return live;
}

const CASE_FIELDS: Record<string, string[]> = {
  File: ['owner', 'group'],
  Directory: ['owner', 'group'],
  User: ['groups'],
  Group: ['members'],
  WindowsFeature: ['name'],
  RegistryValue: ['path', 'name'],
};

const LINUX_ONLY: Record<string, string[]> = {
  File: ['mode'],
  Directory: ['mode'],
  User: ['uid', 'group', 'shell', 'home'],
  Group: ['gid'],
};

function registryTarget(id: string, state: Record<string, unknown>): { path: string; name: string } {
  if (typeof state.path === 'string' && typeof state.name === 'string') return { path: canonicalRegistryPath(state.path) ?? state.path, name: state.name };
  const i = id.lastIndexOf('\\');
  return { path: id.slice(0, i), name: id.slice(i + 1) };
}

/**
 * Ids are checked again at the driver. They only ever travel as data, so this
 * is not what keeps PowerShell safe; it keeps nonsense (relative paths, '..',
 * control characters) away from a real host even when validation was skipped.
 */
function checkId(label: string, kind: string, id: string, state: Record<string, unknown>): void {
  let problem: string | null;
  switch (kind) {
    case 'File':
    case 'Directory':
      problem = windowsPathProblem(id);
      break;
    case 'User':
      problem = windowsNameProblem(id, 20);
      break;
    case 'Group':
      problem = windowsNameProblem(id, 256);
      break;
    case 'WindowsFeature':
      problem = FEATURE_NAME.test(id) ? null : 'is not a feature name';
      break;
    case 'RegistryValue':
      problem = registryPathProblem(registryTarget(id, state).path);
      break;
    case 'Service':
      problem = windowsServiceNameProblem(id);
      break;
    default:
      throw new DriverError(`${label}: the winrm driver does not manage kind ${kind}`, { code: 'E_UNSUPPORTED_KIND' });
  }
  if (problem) throw new DriverError(`${label}: ${kind} ${JSON.stringify(id)} ${problem}; refused`, { code: 'E_UNSAFE_VALUE' });
}

class WinrmTarget {
  constructor(
    private readonly session: WinrmSession,
    private readonly label: string,
    private readonly log: (m: string) => void,
    /** The computer name, if the Server says (spec.hostname): `<hostname>\x` is the local account x. */
    private readonly hostname?: string,
  ) {}

  async run(op: Op, payload: unknown): Promise<Record<string, unknown>> {
    const r = await this.session.run(POWERSHELL, POWERSHELL_ARGS, scriptStdin(buildScript(op, payload)));
    const result = parseResult(r.stdout.toString('utf8'));
    if (!result) {
      const err = clixmlToText(r.stderr.toString('utf8')) || `exit code ${r.exitCode}, no result`;
      throw new DriverError(`${this.label}: ${op} failed: ${err}`, { code: 'E_SCRIPT' });
    }
    if (!result.ok) throw new DriverError(`${this.label}: ${op} failed: ${result.error ?? 'unknown error'}`, { code: op === 'read' ? 'E_READ' : 'E_APPLY' });
    return result;
  }

  async read(objects: { kind: string; id: string; state: Record<string, unknown> }[]): Promise<ReadResult> {
    const result: ReadResult = { objects: {} };
    if (!objects.length) return result;
    for (const o of objects) checkId(this.label, o.kind, o.id, o.state ?? {});
    const request = objects.map((o) => (o.kind === 'RegistryValue' ? { kind: o.kind, id: o.id, ...registryTarget(o.id, o.state ?? {}) } : { kind: o.kind, id: o.id }));
    const r = await this.run('read', { objects: request });
    const live = (r.objects as { kind: string; id: string; state: Record<string, unknown> | null }[]) ?? [];
    objects.forEach((o, i) => {
      const got = live[i];
      if (!got || got.kind !== o.kind || got.id !== o.id) throw new DriverError(`${this.label}: read answered out of order`, { code: 'E_PROTOCOL' });
      result.objects[objectKey(o.kind, o.id)] = got.state ? { kind: o.kind, id: o.id, state: this.liveState(o.kind, got.state, o.state ?? {}) } : null;
    });
    return result;
  }

  private liveState(kind: string, raw: Record<string, unknown>, wanted: Record<string, unknown>): Record<string, unknown> {
    const s: Record<string, unknown> = { ...raw };
    if (kind === 'File' && typeof s.contentBase64 === 'string') {
      const bytes = Buffer.from(s.contentBase64, 'base64');
      delete s.contentBase64;
      Object.assign(s, contentState(bytes));
    }
    for (const f of CASE_FIELDS[kind] ?? []) if (s[f] !== undefined) s[f] = reconcileCase(s[f], wanted[f], this.hostname);
    return s;
  }

  async applyChange(change: Change): Promise<void> {
    const after = change.after ?? {};
    checkId(this.label, change.kind, change.id, after);
    for (const f of LINUX_ONLY[change.kind] ?? []) {
      if (after[f] !== undefined) throw new DriverError(`${this.label}: ${change.address}: ${f} is not supported on Windows`, { code: 'E_UNSUPPORTED_FIELD' });
    }
    const action = change.actions.includes('create') ? 'create' : change.actions.includes('delete') ? 'delete' : 'update';
    const pick = (...fields: string[]) => Object.fromEntries(fields.filter((f) => after[f] !== undefined).map((f) => [f, after[f]]));
    let op: Op;
    let payload: Record<string, unknown>;
    switch (change.kind) {
      case 'File': {
        const bytes = contentBytes(after);
        op = 'apply-file';
        payload = { action, path: change.id, ...pick('owner', 'group'), ...(bytes ? { contentBase64: bytes.toString('base64') } : {}) };
        break;
      }
      case 'Directory':
        op = 'apply-directory';
        payload = { action, path: change.id, ...pick('owner', 'group') };
        break;
      case 'User':
        op = 'apply-user';
        payload = { action, name: change.id, ...pick('comment', 'groups') };
        // a local user joins local groups, which the script finds by their short name
        if (Array.isArray(payload.groups)) payload.groups = payload.groups.map((g) => shortAccountName(String(g), this.hostname));
        break;
      case 'Group':
        op = 'apply-group';
        payload = { action, name: change.id, ...pick('members') };
        break;
      case 'Service':
        op = 'apply-service';
        payload = { action, name: change.id, ...pick('enabled', 'state') };
        break;
      case 'WindowsFeature':
        op = 'apply-feature';
        payload = { action, name: change.id };
        break;
      default: {
        const t = registryTarget(change.id, after);
        op = 'apply-registry';
        payload = { action, ...t, ...pick('type'), ...(after.data !== undefined ? { data: normalizeRegistryData(after.type, after.data) } : {}) };
        if (action !== 'delete' && (payload.type === undefined || payload.data === undefined)) {
          throw new DriverError(`${this.label}: ${change.address}: RegistryValue needs type and data`, { code: 'E_APPLY' });
        }
      }
    }
    const r = await this.run(op, payload);
    if (typeof r.restartNeeded === 'string' && r.restartNeeded !== 'No') this.log(`${this.label}: ${change.address}: a restart is needed (${r.restartNeeded})`);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

export interface WinrmConnectOptions extends SessionOptions {
  /** Replace the HTTP transport (tests, other transports). */
  transport?: WsmanTransport;
}

async function connect(target: TargetSpec, opts: WinrmConnectOptions = {}): Promise<WinrmTarget> {
  const c = winrmConnection(target, opts);
  // messages start with the endpoint; the engine prefixes the target's address itself
  const label = `${c.https ? 'https' : 'http'}://${c.host}:${c.port}/wsman`;
  if (!c.https && c.auth === 'basic' && !c.allowUnencrypted) {
    throw new DriverError(`${label}: Basic authentication over plain HTTP is refused without connection.allowUnencrypted: true (the password and the data would travel in clear text; auth: ntlm encrypts them)`, {
      code: 'E_UNENCRYPTED',
    });
  }
  if (!c.user) throw new DriverError(`${label}: connection.user is required`, { code: 'E_CONFIG' });
  const transport =
    opts.transport ?? new HttpTransport(c);
  const session = new WinrmSession(transport, label);
  try {
    await session.open();
  } catch (e) {
    transport.close();
    throw e instanceof DriverError ? e : new DriverError(`${label}: ${(e as Error).message}`, { code: 'E_CONNECT' });
  }
  opts.log?.(`${label}: WinRM shell open (${c.auth})`);
  const hostname = typeof target.spec?.hostname === 'string' ? target.spec.hostname : undefined;
  return new WinrmTarget(session, label, opts.log ?? (() => undefined), hostname);
}

export const winrmDriver: Driver = {
  name: 'winrm',
  async connectReader(target, opts) {
    const t = await connect(target, opts);
    return { read: (objects) => t.read(objects), close: () => t.close() };
  },
  async connectWriter(target, opts) {
    const t = await connect(target, opts);
    return { mode: 'change', read: (objects) => t.read(objects), applyChange: (c) => t.applyChange(c), close: () => t.close() };
  },
};
