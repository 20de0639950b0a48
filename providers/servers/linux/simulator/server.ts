/**
 * The lab's simulated Linux host: an ssh2 SSH server on loopback with a
 * deterministic host key (derived from the target's address, so a manifest
 * can pin its fingerprint), public-key or password authentication, an SFTP
 * subsystem and exec of exactly the ssh driver's two command lines, all over
 * a LinuxHostModel. Any other command exits 127.
 */
import { posix } from 'node:path';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ParsedKey, ServerChannel, SFTPWrapper } from 'ssh2';
import type { RunningSimulator, TargetSpec } from '../../../../engine/types.js';
import { ed25519FromSeed, openSshPrivateKey, sshFingerprint } from '../../../lab/identity.js';
import { MAX_KEY_FILE_BYTES, readRegularFile } from '../../../../engine/local-files.js';
import { APPLY_COMMAND, READ_COMMAND } from '../protocol.js';
import { LinuxHostModel, type SimFaults, type SimNode } from './model.js';

const { Server, utils } = ssh2;
const { STATUS_CODE, OPEN_MODE } = utils.sftp;

/** SHA256 fingerprint of the lab host key for a target address (what its manifest pins). */
export function labHostKeyFingerprint(address: string): string {
  return sshFingerprint(ed25519FromSeed(address));
}

export interface LinuxSimulatorOptions {
  faults?: Record<string, unknown>;
  /** Use this model instead of a fresh one (tests). */
  model?: LinuxHostModel;
  /** Override the listen port (0 = any free port); default connection.port. */
  port?: number;
}

export interface RunningLinuxSimulator extends RunningSimulator {
  model: LinuxHostModel;
}

function delay(ms: number | undefined): Promise<void> {
  return ms && ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

export async function startLinuxSimulator(target: TargetSpec, opts: LinuxSimulatorOptions = {}): Promise<RunningLinuxSimulator> {
  const conn = target.connection ?? {};
  const model = opts.model ?? new LinuxHostModel();
  Object.assign(model.faults, (opts.faults ?? {}) as SimFaults);
  const username = conn.user ?? 'root';
  let allowedKey: ParsedKey | undefined;
  if (conn.privateKeyFile) {
    const parsed = utils.parseKey(readRegularFile(conn.privateKeyFile, MAX_KEY_FILE_BYTES));
    if (parsed instanceof Error) throw new Error(`lab: cannot parse ${conn.privateKeyFile}: ${parsed.message}`);
    allowedKey = Array.isArray(parsed) ? parsed[0] : parsed;
  }
  const password: string | undefined = conn.password !== undefined ? String(conn.password) : undefined;
  const hostKey = openSshPrivateKey(ed25519FromSeed(target.address), 'einklang-lab-host');
  const clients = new Set<Connection>();

  /** Counts a request; true if the connection was dropped by fault injection. */
  const countRequest = (client: Connection): boolean => {
    model.requests++;
    const limit = model.faults.dropAfterRequests;
    if (limit !== undefined && model.requests > limit) {
      client.end();
      return true;
    }
    return false;
  };

  const authenticate = (ctx: AuthContext) => {
    if (ctx.method !== 'none') model.authAttempts++;
    if (ctx.username !== username) return ctx.reject();
    if (ctx.method === 'publickey' && allowedKey) {
      const pub = allowedKey.getPublicSSH();
      if (ctx.key.algo !== allowedKey.type || !Buffer.from(ctx.key.data).equals(pub)) return ctx.reject();
      if (!ctx.signature) return ctx.accept(); // the client asks whether this key would do
      return allowedKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true ? ctx.accept() : ctx.reject();
    }
    if (ctx.method === 'password' && password !== undefined && ctx.password === password) return ctx.accept();
    return ctx.reject(allowedKey && password !== undefined ? ['publickey', 'password'] : allowedKey ? ['publickey'] : ['password']);
  };

  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    clients.add(client);
    (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', authenticate);
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (accept, _reject, info) => {
          const stream = accept();
          if (countRequest(client)) return;
          model.commands++;
          const input: Buffer[] = [];
          stream.on('data', (d: Buffer) => input.push(d));
          const run = async () => {
            await delay(model.faults.latencyMs);
            const stdin = Buffer.concat(input).toString('utf8');
            const r =
              info.command === READ_COMMAND
                ? model.runRead(stdin)
                : info.command === APPLY_COMMAND
                  ? model.runApply(stdin)
                  : { code: 127, stdout: '', stderr: `sh: 1: ${info.command.split(/\s/)[0].slice(0, 40)}: not found (the lab runs only einklang's own scripts)\n` };
            finish(stream, r.code, r.stdout, r.stderr);
          };
          if (info.command !== READ_COMMAND && info.command !== APPLY_COMMAND) void run();
          else stream.on('end', () => void run());
        });
        session.on('sftp', (acceptSftp) => serveSftp(acceptSftp(), model, () => countRequest(client)));
        session.on('pty', (accept) => accept?.());
        session.on('shell', (_accept, reject) => reject?.());
      });
    });
  });

  const port = opts.port ?? conn.port ?? 22;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as { port: number }).port;
  return {
    description: `ssh://127.0.0.1:${actual} (lab linux host for ${target.address})`,
    port: actual,
    fingerprint: labHostKeyFingerprint(target.address),
    model,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        server.close(() => resolve());
      }),
  };
}

function finish(stream: ServerChannel, code: number, stdout: string, stderr: string): void {
  if (stdout) stream.write(stdout);
  if (stderr) stream.stderr.write(stderr);
  stream.exit(code);
  stream.end();
}

/** Enough of SFTP v3 for the driver (and for poking at the lab with sftp): open/read/write/close, stat, setstat, remove, mkdir, rmdir, rename, realpath. */
function serveSftp(sftp: SFTPWrapper, model: LinuxHostModel, dropped: () => boolean): void {
  const handles = new Map<number, { path: string; node: SimNode; write: boolean }>();
  let nextHandle = 1;
  const handleBuf = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const lookup = (h: Buffer) => (h.length === 4 ? handles.get(h.readUInt32BE(0)) : undefined);
  const attrsOf = (n: SimNode) => ({
    mode: (n.type === 'dir' ? 0o040000 : n.type === 'link' ? 0o120000 : 0o100000) | n.mode,
    uid: n.uid,
    gid: n.gid,
    size: n.data.length,
    atime: 0,
    mtime: 0,
  });
  const on = (event: string, fn: (reqid: number, ...args: any[]) => void) =>
    (sftp as any).on(event, (reqid: number, ...args: any[]) => {
      if (dropped()) return;
      void delay(model.faults.latencyMs).then(() => fn(reqid, ...args));
    });

  /** /etc/passwd and /etc/group follow the model's users and groups, as on a real host. */
  const syncAccounts = (path: string) => {
    if ((path === '/etc/passwd' || path === '/etc/group') && model.files.has('/etc')) {
      const data = model.accountFile(path);
      const n = model.files.get(path);
      if (n?.type === 'file') n.data = data;
      else if (!n) model.files.set(path, { type: 'file', data, mode: 0o644, uid: 0, gid: 0 });
    }
  };
  on('OPEN', (reqid, requested: string, flags: number, attrs: { mode?: number }) => {
    syncAccounts(requested);
    // sftp-server's open(2) has no O_NOFOLLOW: a link is followed, except that O_CREAT|O_EXCL fails on any existing name
    if (model.files.has(requested) && flags & OPEN_MODE.CREAT && flags & OPEN_MODE.EXCL) return sftp.status(reqid, STATUS_CODE.FAILURE, 'file exists');
    const filename = model.followLinks(requested);
    if (filename === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE, 'too many levels of symbolic links');
    const existing = model.files.get(filename);
    if (flags & OPEN_MODE.CREAT) {
      if (existing && flags & OPEN_MODE.EXCL) return sftp.status(reqid, STATUS_CODE.FAILURE, 'file exists');
      if (!model.parentExists(filename)) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    } else if (!existing) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    if (existing?.type === 'dir') return sftp.status(reqid, STATUS_CODE.FAILURE, 'is a directory');
    let node = existing;
    if (!node) {
      node = { type: 'file', data: Buffer.alloc(0), mode: (attrs?.mode ?? 0o644) & 0o7777, uid: 0, gid: 0 };
      model.files.set(filename, node);
    } else if (flags & OPEN_MODE.TRUNC) node.data = Buffer.alloc(0);
    const h = nextHandle++;
    handles.set(h, { path: filename, node, write: (flags & OPEN_MODE.WRITE) !== 0 });
    sftp.handle(reqid, handleBuf(h));
  });
  on('WRITE', (reqid, handle: Buffer, offset: number, data: Buffer) => {
    const h = lookup(handle);
    if (!h || !h.write) return sftp.status(reqid, STATUS_CODE.FAILURE);
    if (model.faults.failWrites) return sftp.status(reqid, STATUS_CODE.FAILURE, 'No space left on device (injected fault)');
    const end = offset + data.length;
    if (h.node.data.length < end) h.node.data = Buffer.concat([h.node.data, Buffer.alloc(end - h.node.data.length)]);
    data.copy(h.node.data, offset);
    model.journal.push(`sftp-write ${h.path}`);
    sftp.status(reqid, STATUS_CODE.OK);
  });
  on('READ', (reqid, handle: Buffer, offset: number, length: number) => {
    const h = lookup(handle);
    if (!h) return sftp.status(reqid, STATUS_CODE.FAILURE);
    if (offset >= h.node.data.length) return sftp.status(reqid, STATUS_CODE.EOF);
    sftp.data(reqid, h.node.data.subarray(offset, Math.min(offset + length, h.node.data.length)));
  });
  on('CLOSE', (reqid, handle: Buffer) => {
    if (!lookup(handle)) return sftp.status(reqid, STATUS_CODE.FAILURE);
    handles.delete(handle.readUInt32BE(0));
    sftp.status(reqid, STATUS_CODE.OK);
  });
  on('FSTAT', (reqid, handle: Buffer) => {
    const h = lookup(handle);
    return h ? sftp.attrs(reqid, attrsOf(h.node)) : sftp.status(reqid, STATUS_CODE.FAILURE);
  });
  const stat = (reqid: number, path: string | undefined) => {
    const n = path === undefined ? undefined : model.files.get(path);
    return n ? sftp.attrs(reqid, attrsOf(n)) : sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
  };
  on('STAT', (reqid, path: string) => (syncAccounts(path), stat(reqid, model.followLinks(path))));
  on('LSTAT', (reqid, path: string) => (syncAccounts(path), stat(reqid, path)));
  const setstat = (reqid: number, n: SimNode | undefined, attrs: { mode?: number; uid?: number; gid?: number }) => {
    if (!n) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    if (attrs.mode !== undefined) n.mode = attrs.mode & 0o7777;
    if (attrs.uid !== undefined) n.uid = attrs.uid;
    if (attrs.gid !== undefined) n.gid = attrs.gid;
    sftp.status(reqid, STATUS_CODE.OK);
  };
  on('SETSTAT', (reqid, path: string, attrs) => setstat(reqid, model.files.get(model.followLinks(path) ?? path), attrs));
  on('FSETSTAT', (reqid, handle: Buffer, attrs) => setstat(reqid, lookup(handle)?.node, attrs));
  on('REMOVE', (reqid, path: string) => {
    const n = model.files.get(path);
    if (!n) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    if (n.type === 'dir') return sftp.status(reqid, STATUS_CODE.FAILURE);
    model.files.delete(path);
    sftp.status(reqid, STATUS_CODE.OK);
  });
  on('MKDIR', (reqid, path: string, attrs: { mode?: number }) => {
    if (model.files.has(path)) return sftp.status(reqid, STATUS_CODE.FAILURE);
    if (!model.parentExists(path)) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    model.files.set(path, { type: 'dir', data: Buffer.alloc(0), mode: (attrs?.mode ?? 0o755) & 0o7777, uid: 0, gid: 0 });
    sftp.status(reqid, STATUS_CODE.OK);
  });
  on('RMDIR', (reqid, path: string) => {
    const n = model.files.get(path);
    if (!n || n.type !== 'dir') return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    if (model.hasChildren(path)) return sftp.status(reqid, STATUS_CODE.FAILURE);
    model.files.delete(path);
    sftp.status(reqid, STATUS_CODE.OK);
  });
  on('RENAME', (reqid, from: string, to: string) => {
    const n = model.files.get(from);
    if (!n || n.type === 'dir') return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    if (model.files.has(to) || !model.parentExists(to)) return sftp.status(reqid, STATUS_CODE.FAILURE);
    model.files.set(to, n);
    model.files.delete(from);
    sftp.status(reqid, STATUS_CODE.OK);
  });
  on('REALPATH', (reqid, path: string) => {
    const p = posix.resolve('/root', path);
    sftp.name(reqid, [{ filename: p, longname: p, attrs: {} as any }]);
  });
}
