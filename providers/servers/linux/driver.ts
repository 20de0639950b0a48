/**
 * The `ssh` driver: Linux servers over SSH (ssh2).
 *
 * - One SSH connection per session, reused for read and apply; calls on one
 *   session run one after another.
 * - The host key is pinned: the SHA256 fingerprint of the key the server
 *   offers must equal `connection.hostKeyFingerprint`, checked during key
 *   exchange, before authentication, so on a mismatch nothing is sent.
 * - `read` is one round trip per server (protocol.ts READ_SCRIPT).
 * - Writes: file content over SFTP into a temporary file in the target's
 *   directory, then one APPLY_SCRIPT run that sets mode/owner and renames it
 *   into place (atomic); on any failure the temporary file is removed and the
 *   old file is untouched. Everything else is one APPLY_SCRIPT run with the
 *   operation's fields on stdin.
 *
 * The connection user must be root (or have equivalent rights): the driver
 * does not use sudo.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import ssh2 from 'ssh2';
import type { Client as SshClient, ConnectConfig, SFTPWrapper } from 'ssh2';
import type { Change, Driver, ReadResult, SessionOptions, TargetReader, TargetSpec, TargetWriter } from '../../../engine/types.js';
import { DriverError } from '../../../engine/types.js';
import { canonicalJson } from '../../../engine/hash.js';
import { MAX_KEY_FILE_BYTES, readRegularFile } from '../../../engine/local-files.js';
import { sshFingerprintOfBlob } from '../../lab/identity.js';
import { contentBytes, linuxNameProblem, linuxPathProblem, normalizeMode, serverKindDef, unsafeReason, DEBIAN_PACKAGE, DEBIAN_VERSION, SYSTEMD_UNIT } from '../kinds.js';
import { readOverSftp, SftpFallback } from './sftp-read.js';
import { APPLY_COMMAND, READ_COMMAND, encodeApplyFields, encodeReadRequest, parseReadOutput, type ApplyFields } from './protocol.js';

const { Client } = ssh2;
const DEFAULT_TIMEOUT_MS = 30_000;
const PACKAGE_TIMEOUT_MS = 600_000;
const MANAGED_KINDS = ['File', 'Directory', 'User', 'Group', 'Package', 'Service'];

/** `SHA256:abc` with or without base64 padding, compared without it. */
function canonicalFingerprint(fp: string): string {
  return fp.trim().replace(/=+$/, '');
}

interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Refuses an object id that could never be safe on a Linux host (kinds' validate refused it already). */
export function checkLinuxId(kind: string, id: string): void {
  let problem: string | null;
  switch (kind) {
    case 'File':
    case 'Directory':
      problem = linuxPathProblem(id);
      break;
    case 'User':
    case 'Group':
      problem = linuxNameProblem(id);
      break;
    case 'Package':
      problem = unsafeReason(id) ?? (DEBIAN_PACKAGE.test(id) ? null : 'is not a Debian package name');
      break;
    case 'Service':
      problem = unsafeReason(id) ?? (SYSTEMD_UNIT.test(id) && !id.startsWith('-') ? null : 'is not a systemd unit name');
      break;
    default:
      problem = 'is of a kind the ssh driver does not manage';
  }
  if (problem) throw new DriverError(`${kind} ${JSON.stringify(id)} ${problem}; refused`, { code: 'E_UNSAFE_VALUE' });
}

/** Values of an operation, checked again before they reach the host. */
function checkValues(state: Record<string, unknown>): void {
  const fail = (what: string, v: unknown, why: string) => {
    throw new DriverError(`${what} ${JSON.stringify(v)} ${why}; refused`, { code: 'E_UNSAFE_VALUE' });
  };
  for (const f of ['owner', 'group']) {
    const v = state[f];
    if (v !== undefined && (typeof v !== 'string' || (linuxNameProblem(v) && !/^[0-9]+$/.test(v)))) fail(f, v, 'is not a valid name');
  }
  for (const f of ['groups', 'members']) {
    const v = state[f];
    if (v === undefined) continue;
    if (!Array.isArray(v)) fail(f, v, 'is not a list');
    for (const n of v as unknown[]) if (typeof n !== 'string' || linuxNameProblem(n)) fail(f, n, 'is not a valid name');
  }
  for (const f of ['shell', 'home']) {
    const v = state[f];
    if (v !== undefined && (typeof v !== 'string' || linuxPathProblem(v))) fail(f, v, 'is not a safe absolute path');
  }
  if (state.mode !== undefined && !/^[0-7]{3,4}$/.test(String(state.mode))) fail('mode', state.mode, 'is not an octal mode');
  for (const f of ['uid', 'gid']) {
    const v = state[f];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 0)) fail(f, v, 'is not a non-negative integer');
  }
  if (state.comment !== undefined && (typeof state.comment !== 'string' || unsafeReason(state.comment) || /[:,]/.test(state.comment))) fail('comment', state.comment, 'is not safe');
  if (state.version !== undefined && (typeof state.version !== 'string' || !DEBIAN_VERSION.test(state.version))) fail('version', state.version, 'is not a valid version');
}

/** Fields of `after` that differ from `before` (both normalised by the kind). */
function changedFields(kind: string, after: Record<string, unknown>, before: Record<string, unknown> | null): Set<string> {
  const def = serverKindDef(kind);
  const a = def?.normalize ? def.normalize({ ...after }) : after;
  const b = before && def?.normalize ? def.normalize({ ...before }) : before ?? {};
  const out = new Set<string>();
  for (const k of Object.keys(a)) if (canonicalJson(a[k]) !== canonicalJson(b[k])) out.add(k);
  return out;
}

function mode(v: unknown): string | undefined {
  return v === undefined ? undefined : String(normalizeMode(v));
}

export class SshSession {
  private chain: Promise<unknown> = Promise.resolve();
  private sftpP?: Promise<SFTPWrapper>;
  private closed = false;
  private lostReason?: string;

  private constructor(
    private readonly client: SshClient,
    private readonly target: TargetSpec,
    private readonly opts: SessionOptions,
  ) {
    client.on('error', (e) => (this.lostReason = e.message));
    client.on('close', () => {
      this.lostReason ??= 'connection closed';
      this.closed = true;
    });
  }

  static async open(target: TargetSpec, opts: SessionOptions = {}): Promise<SshSession> {
    const conn = target.connection ?? {};
    const where = `${target.address} (${conn.host}:${conn.port ?? 22})`;
    const pinned = typeof conn.hostKeyFingerprint === 'string' ? canonicalFingerprint(conn.hostKeyFingerprint) : '';
    if (!pinned) throw new DriverError(`${where}: no hostKeyFingerprint pinned in spec.connection; refusing to connect`, { code: 'E_HOST_KEY' });
    const cfg: ConnectConfig = {
      host: conn.host,
      port: conn.port ?? 22,
      username: conn.user ?? 'root',
      readyTimeout: opts.timeoutMs ?? (conn.timeoutSeconds ? conn.timeoutSeconds * 1000 : DEFAULT_TIMEOUT_MS),
      keepaliveInterval: 0,
    };
    if (conn.privateKeyFile) {
      try {
        cfg.privateKey = readRegularFile(conn.privateKeyFile, MAX_KEY_FILE_BYTES);
      } catch (e) {
        throw new DriverError(`${where}: cannot read privateKeyFile ${conn.privateKeyFile}: ${(e as Error).message}`, { code: 'E_AUTH' });
      }
    }
    if (conn.password !== undefined) cfg.password = String(conn.password);
    if (!cfg.privateKey && cfg.password === undefined) throw new DriverError(`${where}: spec.connection needs privateKeyFile or password`, { code: 'E_AUTH' });
    let offered: string | undefined;
    cfg.hostVerifier = (key: Buffer) => {
      offered = sshFingerprintOfBlob(key);
      return canonicalFingerprint(offered) === pinned;
    };
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => {
        client.removeListener('ready', onReady);
        client.end();
        if (offered !== undefined && canonicalFingerprint(offered) !== pinned) {
          reject(new DriverError(`${where}: host key mismatch: expected ${conn.hostKeyFingerprint}, server offered ${offered}; nothing was sent`, { code: 'E_HOST_KEY' }));
        } else {
          reject(new DriverError(`${where}: cannot connect: ${e.message}`, { code: 'E_CONNECT' }));
        }
      };
      const onReady = () => {
        client.removeListener('error', onError);
        resolve();
      };
      client.once('error', onError);
      client.once('ready', onReady);
      client.connect(cfg);
      client.setNoDelay(true); // small request/response exchanges: no Nagle delay
    });
    opts.log?.(`${target.address}: connected`);
    return new SshSession(client, target, opts);
  }

  /** Run calls of this session one after another. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private get timeoutMs(): number {
    const s = this.target.connection?.timeoutSeconds;
    return this.opts.timeoutMs ?? (s ? s * 1000 : DEFAULT_TIMEOUT_MS);
  }

  private fail(message: string, code = 'E_DRIVER'): DriverError {
    return new DriverError(`${this.target.address}: ${message}`, { code });
  }

  private exec(command: string, stdin: string, timeoutMs = this.timeoutMs): Promise<ExecResult> {
    if (this.closed) return Promise.reject(this.fail(`connection lost (${this.lostReason})`, 'E_CONNECT'));
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, stream) => {
        if (err) return reject(this.fail(`cannot run command: ${err.message}`, 'E_CONNECT'));
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let code: number | null = null;
        let done = false;
        const timer = setTimeout(() => {
          done = true;
          stream.close();
          reject(this.fail(`command timed out after ${timeoutMs} ms`, 'E_TIMEOUT'));
        }, timeoutMs);
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => errOut.push(d));
        stream.on('exit', (c: number | null) => (code = c));
        stream.on('close', () => {
          clearTimeout(timer);
          if (done) return;
          done = true;
          if (code === null) return reject(this.fail(`connection lost during a command (${this.lostReason ?? 'no exit status'})`, 'E_CONNECT'));
          resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') });
        });
        stream.end(stdin);
      });
    });
  }

  read(objects: { kind: string; id: string; state: Record<string, unknown> }[]): Promise<ReadResult> {
    return this.serial(async () => {
      if (objects.length === 0) return { objects: {} };
      for (const o of objects) checkLinuxId(o.kind, o.id);
      // Files and directories need no command (and so no login shell): SFTP, else the read script.
      this.sftpReads ??= this.target.connection?.sftpReads !== false;
      if (this.sftpReads && objects.every((o) => o.kind === 'File' || o.kind === 'Directory')) {
        try {
          return await readOverSftp(await this.sftp(), objects);
        } catch (e) {
          if (e instanceof DriverError && e.opts.code === 'E_SYMLINK') throw new DriverError(`${this.target.address}: ${e.message}`, e.opts);
          if (!(e instanceof SftpFallback)) this.sftpReads = false; // no usable SFTP here: the script from now on
          this.opts.log?.(`${this.target.address}: reading with the read script (${(e as Error).message})`);
        }
      }
      const r = await this.exec(READ_COMMAND, encodeReadRequest(objects));
      if (r.code !== 0) throw this.fail(`read failed (exit ${r.code}): ${r.stderr.trim().slice(0, 500)}`);
      try {
        return parseReadOutput(objects, r.stdout);
      } catch (e) {
        if (e instanceof DriverError) throw new DriverError(`${this.target.address}: ${e.message}`, e.opts);
        throw this.fail(`cannot parse read output: ${(e as Error).message}`);
      }
    });
  }

  private async runApply(fields: ApplyFields): Promise<void> {
    // apt-get may download for minutes; everything else is quick
    const timeout = String(fields.op).startsWith('pkg-') ? Math.max(this.timeoutMs, PACKAGE_TIMEOUT_MS) : this.timeoutMs;
    const r = await this.exec(APPLY_COMMAND, encodeApplyFields(fields), timeout);
    if (r.code !== 0) throw this.fail(`${fields.op} ${fields.path ?? fields.name} failed: ${r.stderr.trim().slice(0, 500) || `exit ${r.code}`}`);
  }

  /** Whether File/Directory reads try SFTP first (connection.sftpReads, default true; off once the host's SFTP failed). */
  private sftpReads: boolean | undefined;

  private sftp(): Promise<SFTPWrapper> {
    this.sftpP ??= new Promise((resolve, reject) => {
      this.client.sftp((err, sftp) => (err ? reject(this.fail(`cannot open SFTP: ${err.message}`, 'E_CONNECT')) : resolve(sftp)));
    });
    this.sftpP.catch(() => (this.sftpP = undefined));
    return this.sftpP;
  }

  /** SFTP-write `data` to a new file `path` (exclusive create, mode 0600). */
  private async sftpWrite(path: string, data: Buffer): Promise<void> {
    const sftp = await this.sftp();
    const handle = await new Promise<Buffer>((res, rej) => sftp.open(path, 'wx', { mode: 0o600 }, (e, h) => (e ? rej(e) : res(h))));
    let error: Error | undefined;
    try {
      const chunk = 32 * 1024;
      for (let off = 0; off < data.length; off += chunk) {
        const len = Math.min(chunk, data.length - off);
        await new Promise<void>((res, rej) => sftp.write(handle, data, off, len, off, (e) => (e ? rej(e) : res())));
      }
    } catch (e) {
      error = e as Error;
    }
    await new Promise<void>((res, rej) => sftp.close(handle, (e) => (e && !error ? rej(e) : res())));
    if (error) throw error;
  }

  private async sftpUnlink(path: string): Promise<void> {
    try {
      const sftp = await this.sftp();
      await new Promise<void>((res) => sftp.unlink(path, () => res()));
    } catch {
      /* best effort: the connection may be gone */
    }
  }

  /** Atomic write: temp file in the same directory, then mode/owner and rename in one script run. */
  private async writeFile(path: string, data: Buffer, attrs: ApplyFields): Promise<void> {
    const dir = posix.dirname(path);
    const tmp = posix.join(dir, `.${posix.basename(path).slice(0, 100)}.einklang-${randomBytes(6).toString('hex')}`);
    try {
      await this.sftpWrite(tmp, data);
    } catch (e) {
      await this.sftpUnlink(tmp);
      if (e instanceof DriverError) throw e;
      throw this.fail(`writing ${path} failed: ${(e as Error).message}; the old file is unchanged`, 'E_WRITE');
    }
    try {
      await this.runApply({ op: 'file-commit', path, tmp, ...attrs });
    } catch (e) {
      await this.sftpUnlink(tmp);
      throw e;
    }
  }

  applyChange(change: Change): Promise<void> {
    return this.serial(() => this.apply(change));
  }

  private async apply(change: Change): Promise<void> {
    const { kind, id } = change;
    if (!MANAGED_KINDS.includes(kind)) throw this.fail(`the ssh driver does not manage kind ${kind}`);
    checkLinuxId(kind, id);
    const after = change.after ?? {};
    checkValues(after);
    const del = change.actions.includes('delete');
    const create = change.actions.includes('create');
    const update = change.actions.includes('update');
    if (del) await this.remove(kind, id);
    if (create || update) await this.put(kind, id, after, create ? null : change.before, create);
    this.opts.log?.(`${this.target.address}: ${change.actions.join('+')} ${kind} ${id}`);
  }

  private async remove(kind: string, id: string): Promise<void> {
    const ops: Record<string, ApplyFields> = {
      File: { op: 'file-delete', path: id },
      Directory: { op: 'dir-delete', path: id },
      User: { op: 'user-delete', name: id },
      Group: { op: 'group-delete', name: id },
      Package: { op: 'pkg-remove', name: id },
      Service: { op: 'svc-mask', name: id },
    };
    await this.runApply(ops[kind]);
  }

  private async put(kind: string, id: string, after: Record<string, unknown>, before: Record<string, unknown> | null, create: boolean): Promise<void> {
    const str = (v: unknown) => (v === undefined ? undefined : String(v));
    const attrs: ApplyFields = { mode: mode(after.mode), owner: str(after.owner), group: str(after.group) };
    switch (kind) {
      case 'File': {
        let data = contentBytes(after);
        const old = before ? contentBytes(before) : undefined;
        if (create && data === undefined) data = Buffer.alloc(0);
        if (data !== undefined && (create || old === undefined || !data.equals(old))) return this.writeFile(id, data, attrs);
        if (attrs.mode !== undefined || attrs.owner !== undefined || attrs.group !== undefined) return this.runApply({ op: 'file-attrs', path: id, ...attrs });
        return;
      }
      case 'Directory':
        return this.runApply({ op: 'dir-create', path: id, ...attrs });
      case 'User': {
        const ch = create ? new Set(Object.keys(after)) : changedFields(kind, after, before);
        const f: ApplyFields = { op: create ? 'user-create' : 'user-update', name: id };
        if (ch.has('uid')) f.uid = str(after.uid);
        if (ch.has('group')) f.group = str(after.group);
        if (ch.has('groups')) f.groups = (after.groups as string[]).join(',');
        if (ch.has('shell')) f.shell = str(after.shell);
        if (ch.has('home')) f.home = str(after.home);
        if (ch.has('comment')) f.comment = str(after.comment);
        return this.runApply(f);
      }
      case 'Group': {
        const ch = create ? new Set(Object.keys(after)) : changedFields(kind, after, before);
        const f: ApplyFields = { op: create ? 'group-create' : 'group-update', name: id };
        if (ch.has('gid')) f.gid = str(after.gid);
        if (ch.has('members')) f.members = (after.members as string[]).join(',');
        return this.runApply(f);
      }
      case 'Package':
        return this.runApply({ op: 'pkg-install', name: id, version: str(after.version) });
      case 'Service':
        return this.runApply({ op: 'svc-apply', name: id, enabled: str(after.enabled), state: str(after.state) });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.client.once('close', () => resolve());
      this.client.end();
      setTimeout(resolve, 2000).unref();
    });
  }
}

export const sshDriver: Driver = {
  name: 'ssh',
  // The read protocol compares file content by hash on the host (protocol v2), so it needs the content a manifest
  // wants, secrets included; only its sha256 leaves this process during a read.
  readsResolvedSecrets: true,
  async connectReader(target: TargetSpec, opts?: SessionOptions): Promise<TargetReader> {
    const s = await SshSession.open(target, opts);
    return { read: (objects) => s.read(objects), close: () => s.close() };
  },
  async connectWriter(target: TargetSpec, opts?: SessionOptions): Promise<TargetWriter> {
    const s = await SshSession.open(target, opts);
    return { mode: 'change', read: (objects) => s.read(objects), applyChange: (c) => s.applyChange(c), close: () => s.close() };
  },
};
