/**
 * The in-memory Linux host behind the lab simulator: files, users, groups,
 * Debian packages and systemd services, plus an emulation of the ssh
 * driver's two scripts (protocol.ts) that answers exactly like the real
 * commands would (stat, sha256sum, base64, getent, dpkg-query, systemctl;
 * useradd, chown, mv -T, ...), including their failure modes.
 *
 * Symbolic links are modelled at the last path component (`symlink()`):
 * the read script reports them as links (stat without -L) and reads no
 * content through them; every apply operation refuses a managed path that is
 * a link, as the real script does (nofollow.ts); SFTP follows them where
 * OpenSSH's sftp-server does (open, stat, setstat) and not where it does not
 * (lstat, remove, rename).
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';

export interface SimNode {
  /** A link's `data` is its target path. */
  type: 'file' | 'dir' | 'link';
  data: Buffer;
  mode: number;
  uid: number;
  gid: number;
}
export interface SimUser {
  uid: number;
  gid: number;
  comment: string;
  home: string;
  shell: string;
}
export interface SimGroup {
  gid: number;
  members: string[];
}
export interface SimService {
  enabled: boolean;
  active: boolean;
  masked: boolean;
}

/** Fault injection; may be changed while the simulator runs. */
export interface SimFaults {
  /** Delay every exec and SFTP request by this many ms. */
  latencyMs?: number;
  /** Close the connection when a request arrives after this many requests (exec + SFTP, counted per simulator). */
  dropAfterRequests?: number;
  /** SFTP WRITE requests fail. */
  failWrites?: boolean;
  /** Apply-script operations that fail (e.g. ["user-create", "file-commit"]). */
  failOps?: string[];
}

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

class OpFailed extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

export class LinuxHostModel {
  files = new Map<string, SimNode>();
  users = new Map<string, SimUser>();
  groups = new Map<string, SimGroup>();
  /** Installed Debian packages: name -> version. */
  packages = new Map<string, string>();
  /** What apt-get can install: name -> versions (last is the candidate) and the units it ships. */
  catalog = new Map<string, { versions: string[]; services?: string[] }>();
  /** Loaded systemd units by full name (`nginx.service`). */
  services = new Map<string, SimService>();
  faults: SimFaults = {};
  /** Exec + SFTP requests served so far. */
  requests = 0;
  /** Commands run (exec requests; SFTP packets are not commands). */
  commands = 0;
  /** Authentication attempts (each carries credentials), for "nothing was sent" checks. */
  authAttempts = 0;
  /** Mutating operations performed (apply ops and SFTP writes), for tests. */
  journal: string[] = [];

  constructor() {
    for (const d of ['/', '/etc', '/home', '/root', '/srv', '/tmp', '/usr', '/usr/bin', '/bin', '/var', '/var/lib']) this.mkdirNode(d, 0o755);
    this.files.get('/tmp')!.mode = 0o1777;
    this.files.get('/root')!.mode = 0o700;
    this.users.set('root', { uid: 0, gid: 0, comment: 'root', home: '/root', shell: '/bin/bash' });
    this.users.set('daemon', { uid: 1, gid: 1, comment: 'daemon', home: '/usr/sbin', shell: '/usr/sbin/nologin' });
    this.users.set('www-data', { uid: 33, gid: 33, comment: 'www-data', home: '/var/www', shell: '/usr/sbin/nologin' });
    this.users.set('nobody', { uid: 65534, gid: 65534, comment: 'nobody', home: '/nonexistent', shell: '/usr/sbin/nologin' });
    this.groups.set('root', { gid: 0, members: [] });
    this.groups.set('daemon', { gid: 1, members: [] });
    this.groups.set('adm', { gid: 4, members: [] });
    this.groups.set('sudo', { gid: 27, members: [] });
    this.groups.set('www-data', { gid: 33, members: [] });
    this.groups.set('users', { gid: 100, members: [] });
    this.groups.set('nogroup', { gid: 65534, members: [] });
    this.files.set('/etc/hostname', { type: 'file', data: Buffer.from('lab\n'), mode: 0o644, uid: 0, gid: 0 });
    for (const [name, version] of [
      ['base-files', '12.4+deb12u5'],
      ['coreutils', '9.1-1'],
      ['openssh-server', '1:9.2p1-2+deb12u3'],
      ['cron', '3.0pl1-162'],
    ])
      this.packages.set(name, version);
    for (const [name, versions, services] of [
      ['nginx', ['1.22.1-9'], ['nginx.service']],
      ['chrony', ['4.3-2+deb12u1'], ['chrony.service']],
      ['curl', ['7.88.1-10+deb12u5', '7.88.1-10+deb12u8'], []],
      ['htop', ['3.2.2-2'], []],
      ['vim', ['2:9.0.1378-2'], []],
      ['cron', ['3.0pl1-162'], ['cron.service']],
      ['openssh-server', ['1:9.2p1-2+deb12u3'], ['ssh.service']],
    ] as [string, string[], string[]][])
      this.catalog.set(name, { versions, services });
    this.services.set('ssh.service', { enabled: true, active: true, masked: false });
    this.services.set('cron.service', { enabled: true, active: true, masked: false });
  }

  // ------------------------------------------------------------ files

  private mkdirNode(path: string, mode: number, uid = 0, gid = 0): void {
    this.files.set(path, { type: 'dir', data: Buffer.alloc(0), mode, uid, gid });
  }

  parentExists(path: string): boolean {
    return this.files.get(posix.dirname(path))?.type === 'dir';
  }

  /** Test helper: write a file (parents must exist). */
  writeFile(path: string, data: string | Buffer, opts: { mode?: number; uid?: number; gid?: number } = {}): void {
    if (!this.parentExists(path)) throw new Error(`no directory ${posix.dirname(path)}`);
    this.files.set(path, { type: 'file', data: Buffer.from(data), mode: opts.mode ?? 0o644, uid: opts.uid ?? 0, gid: opts.gid ?? 0 });
  }

  /** Test helper: a symbolic link at `path` pointing to `target` (the parent must exist). */
  symlink(target: string, path: string): void {
    if (!this.parentExists(path)) throw new Error(`no directory ${posix.dirname(path)}`);
    if (this.files.has(path)) throw new Error(`${path} exists`);
    this.files.set(path, { type: 'link', data: Buffer.from(target), mode: 0o777, uid: 0, gid: 0 });
  }

  /** Where `path` leads when its last component's links are followed (as open(2) without O_NOFOLLOW does); undefined for a loop. */
  followLinks(path: string): string | undefined {
    let p = path;
    for (let hops = 0; hops < 40; hops++) {
      const n = this.files.get(p);
      if (n?.type !== 'link') return p;
      p = posix.resolve(posix.dirname(p), n.data.toString());
    }
    return undefined; // ELOOP
  }

  /** /etc/passwd or /etc/group as the host's users and groups are now (what SFTP reads of them see). */
  accountFile(path: '/etc/passwd' | '/etc/group'): Buffer {
    const lines =
      path === '/etc/passwd'
        ? [...this.users].map(([name, u]) => `${name}:x:${u.uid}:${u.gid}:${u.comment ?? ''}:${u.home ?? ''}:${u.shell ?? ''}`)
        : [...this.groups].map(([name, g]) => `${name}:x:${g.gid}:${g.members.join(',')}`);
    return Buffer.from(lines.join('\n') + '\n');
  }

  readFile(path: string): Buffer | undefined {
    const n = this.files.get(path);
    return n?.type === 'file' ? n.data : undefined;
  }

  hasChildren(path: string): boolean {
    const prefix = path === '/' ? '/' : path + '/';
    for (const p of this.files.keys()) if (p !== path && p.startsWith(prefix)) return true;
    return false;
  }

  userName(uid: number): string {
    for (const [n, u] of this.users) if (u.uid === uid) return n;
    return 'UNKNOWN';
  }
  groupName(gid: number): string {
    for (const [n, g] of this.groups) if (g.gid === gid) return n;
    return 'UNKNOWN';
  }
  private uidOf(name: string): number | undefined {
    if (/^[0-9]+$/.test(name)) return Number(name);
    return this.users.get(name)?.uid;
  }
  private gidOf(name: string): number | undefined {
    if (/^[0-9]+$/.test(name)) return Number(name);
    return this.groups.get(name)?.gid;
  }

  // ------------------------------------------------------- read script

  /**
   * Emulates READ_SCRIPT (v2) for the request lines on stdin: what its one
   * stat, sha256sum -c, base64, getent, dpkg-query and systemctl calls print.
   */
  runRead(stdin: string): ScriptResult {
    const lines = stdin.split('\n');
    if (lines[lines.length - 1] === '') lines.pop(); // `read` drops an unterminated last line, like sh
    else lines.pop();
    const fd: string[] = [];
    /** File requests: CONTENT_READER opens only regular files (lstat), without following a link. */
    const files: { hash: string; path: string }[] = [];
    const users: string[] = [];
    const groups: string[] = [];
    const pkgs: string[] = [];
    const units: string[] = [];
    for (const line of lines) {
      const k = line.slice(0, 1);
      let id = line.slice(1);
      switch (k) {
        case 'F': {
          const sp = id.indexOf(' ');
          const h = sp < 0 ? id : id.slice(0, sp);
          id = sp < 0 ? id : id.slice(sp + 1);
          fd.push(id);
          if (this.files.get(id)?.type === 'file') files.push({ hash: h, path: id });
          break;
        }
        case 'D':
          fd.push(id);
          break;
        case 'U':
          users.push(id);
          break;
        case 'G':
          groups.push(id);
          break;
        case 'P':
          pkgs.push(id);
          break;
        case 'S':
          units.push(id);
          break;
        default:
          return { code: 2, stdout: '', stderr: 'einklang: unknown request\n' };
      }
    }
    const out: string[] = ['@@einklang-read-begin v3', '@@stat'];
    for (const p of fd) {
      const n = this.files.get(p);
      if (!n) continue;
      const ftype = n.type === 'dir' ? 'directory' : n.type === 'link' ? 'symbolic link' : n.data.length === 0 ? 'regular empty file' : 'regular file';
      out.push(`${ftype}|${n.mode.toString(8)}|${n.uid}|${n.gid}|${this.userName(n.uid)}|${this.groupName(n.gid)}|${n.data.length}|${p}`);
    }
    if (fd.some((p) => !this.files.has(p))) for (const p of fd) if (!this.files.has(p)) out.push(`- ${p}`);
    out.push('@@content');
    for (const { hash, path } of files) {
      const data = this.files.get(path)!.data;
      if (createHash('sha256').update(data).digest('hex') === hash) out.push(`= ${path}`);
      else out.push(`c ${path}`, data.toString('base64'));
    }
    out.push('@@passwd');
    for (const name of users) {
      const u = this.users.get(name);
      if (u) out.push(`${name}:x:${u.uid}:${u.gid}:${u.comment}:${u.home}:${u.shell}`);
    }
    out.push('@@group');
    const groupLine = (name: string, g: SimGroup) => `${name}:x:${g.gid}:${g.members.join(',')}`;
    if (users.length) for (const [name, g] of this.groups) out.push(groupLine(name, g));
    else for (const name of groups) if (this.groups.has(name)) out.push(groupLine(name, this.groups.get(name)!));
    out.push('@@dpkg');
    for (const name of pkgs) {
      const v = this.packages.get(name);
      if (v) out.push(`${name}|install ok installed|${v}`);
    }
    out.push('@@systemd');
    const svc = units.map((u) => this.services.get(unitName(u)));
    for (const s of svc) out.push(s ? (s.masked ? 'masked' : s.enabled ? 'enabled' : 'disabled') : '');
    for (const s of svc) out.push(s?.active ? 'active' : 'inactive');
    out.push('@@einklang-read-end');
    return { code: 0, stdout: out.join('\n') + '\n', stderr: '' };
  }

  // ------------------------------------------------------ apply script

  /** The apply script's `nolink`: a managed path that is a symbolic link is refused before anything happens. */
  private noLink(path: string): void {
    if (this.files.get(path)?.type === 'link') throw new OpFailed(`${path} is a symbolic link; einklang never follows links at managed paths (nothing was changed)`);
  }

  /** Emulates APPLY_SCRIPT: one operation with key=value fields on stdin. */
  runApply(stdin: string): ScriptResult {
    const f: Record<string, string> = {};
    const lines = stdin.split('\n');
    lines.pop();
    const known = ['op', 'path', 'tmp', 'mode', 'owner', 'group', 'name', 'uid', 'gid', 'shell', 'home', 'comment', 'groups', 'members', 'version', 'enabled', 'state'];
    for (const line of lines) {
      const eq = line.indexOf('=');
      const k = eq < 0 ? line : line.slice(0, eq);
      if (!known.includes(k)) return { code: 2, stdout: '', stderr: 'einklang: unknown field\n' };
      f[k] = eq < 0 ? line : line.slice(eq + 1);
    }
    try {
      if (this.faults.failOps?.includes(f.op)) throw new OpFailed(`${f.op} failed (injected fault)`);
      this.applyOp(f);
      this.journal.push(`${f.op} ${f.path ?? f.name ?? ''}`);
      return { code: 0, stdout: '', stderr: '' };
    } catch (e) {
      if (!(e instanceof OpFailed)) throw e;
      if (f.tmp) this.files.delete(f.tmp);
      return { code: e.code, stdout: '', stderr: `einklang: ${e.message}\n` };
    }
  }

  private attrs(f: Record<string, string>, n: SimNode): void {
    if (f.mode) n.mode = parseInt(f.mode, 8);
    if (f.owner) {
      const uid = this.uidOf(f.owner);
      if (uid === undefined) throw new OpFailed(`chown: invalid user: '${f.owner}'`);
      n.uid = uid;
    }
    if (f.group) {
      const gid = this.gidOf(f.group);
      if (gid === undefined) throw new OpFailed(`chgrp: invalid group: '${f.group}'`);
      n.gid = gid;
    }
  }

  private applyOp(f: Record<string, string>): void {
    const has = (k: string) => k in f;
    switch (f.op) {
      case 'file-commit': {
        const tmp = f.tmp ? this.files.get(f.tmp) : undefined;
        if (!tmp || tmp.type !== 'file') throw new OpFailed('temporary file missing');
        this.noLink(f.path);
        const old = this.files.get(f.path);
        if (old?.type === 'dir') throw new OpFailed(`${f.path} is a directory`);
        if (old) Object.assign(tmp, { mode: old.mode, uid: old.uid, gid: old.gid });
        else tmp.mode = 0o644;
        this.attrs(f, tmp);
        if (!this.parentExists(f.path)) throw new OpFailed(`rename to ${f.path} failed`);
        this.files.set(f.path, tmp);
        this.files.delete(f.tmp);
        return;
      }
      case 'file-attrs': {
        this.noLink(f.path);
        const n = this.files.get(f.path);
        if (!n) throw new OpFailed(`${f.path} does not exist`);
        if (n.type !== 'file' && (f.mode || f.owner || f.group)) throw new OpFailed(`${f.path} is not a regular file`);
        const copy = { ...n };
        this.attrs(f, copy); // all or nothing
        Object.assign(n, copy);
        return;
      }
      case 'file-delete': {
        this.noLink(f.path);
        if (this.files.get(f.path)?.type === 'dir') throw new OpFailed(`${f.path} is a directory`);
        this.files.delete(f.path);
        return;
      }
      case 'dir-create': {
        this.noLink(f.path);
        const n = this.files.get(f.path);
        if (n && n.type !== 'dir') throw new OpFailed(`${f.path} exists and is not a directory`);
        const created: string[] = [];
        if (!n) {
          const parts = f.path.split('/').filter(Boolean);
          let p = '';
          for (const part of parts) {
            p += '/' + part;
            const e = this.files.get(p);
            if (e && e.type !== 'dir') throw new OpFailed(`mkdir ${f.path} failed`);
            if (!e) {
              this.mkdirNode(p, 0o755);
              created.push(p);
            }
          }
        }
        try {
          const node = this.files.get(f.path)!;
          const copy = { ...node };
          this.attrs(f, copy);
          Object.assign(node, copy);
        } catch (e) {
          if (created.length) this.files.delete(f.path); // the script removes only the last one (rmdir "$newdir")
          throw e;
        }
        return;
      }
      case 'dir-delete': {
        this.noLink(f.path);
        const n = this.files.get(f.path);
        if (!n) return;
        if (n.type !== 'dir' || this.hasChildren(f.path)) throw new OpFailed(`cannot remove ${f.path} (not empty?)`);
        this.files.delete(f.path);
        return;
      }
      case 'user-create':
      case 'user-update':
        return this.userOp(f, f.op === 'user-create');
      case 'user-delete': {
        const u = this.users.get(f.name);
        if (!u) throw new OpFailed(`userdel: user '${f.name}' does not exist`, 6);
        this.users.delete(f.name);
        for (const g of this.groups.values()) g.members = g.members.filter((m) => m !== f.name);
        const own = this.groups.get(f.name);
        if (own && own.gid === u.gid && ![...this.users.values()].some((x) => x.gid === own.gid)) this.groups.delete(f.name);
        return;
      }
      case 'group-create': {
        if (this.groups.has(f.name)) throw new OpFailed(`groupadd: group '${f.name}' already exists`, 9);
        const gid = f.gid ? Number(f.gid) : this.freeId([...this.groups.values()].map((g) => g.gid));
        if ([...this.groups.values()].some((g) => g.gid === gid)) throw new OpFailed(`groupadd: GID '${gid}' already exists`, 4);
        const members = has('members') ? this.memberList(f.members) : [];
        this.groups.set(f.name, { gid, members });
        return;
      }
      case 'group-update': {
        const g = this.groups.get(f.name);
        if (!g) throw new OpFailed(`groupmod: group '${f.name}' does not exist`, 6);
        const gid = f.gid ? Number(f.gid) : g.gid;
        if (gid !== g.gid && [...this.groups.values()].some((x) => x.gid === gid)) throw new OpFailed(`groupmod: GID '${gid}' already exists`, 4);
        const members = has('members') ? this.memberList(f.members) : g.members;
        for (const u of this.users.values()) if (u.gid === g.gid) u.gid = gid;
        g.gid = gid;
        g.members = members;
        return;
      }
      case 'group-delete': {
        const g = this.groups.get(f.name);
        if (!g) throw new OpFailed(`groupdel: group '${f.name}' does not exist`, 6);
        if ([...this.users.values()].some((u) => u.gid === g.gid)) throw new OpFailed(`groupdel: cannot remove the primary group of a user`, 8);
        this.groups.delete(f.name);
        return;
      }
      case 'pkg-install': {
        const c = this.catalog.get(f.name);
        if (!c) throw new OpFailed(`E: Unable to locate package ${f.name}`, 100);
        const version = f.version || c.versions[c.versions.length - 1];
        if (!c.versions.includes(version)) throw new OpFailed(`E: Version '${version}' for '${f.name}' was not found`, 100);
        this.packages.set(f.name, version);
        for (const s of c.services ?? []) if (!this.services.has(s)) this.services.set(s, { enabled: true, active: true, masked: false });
        return;
      }
      case 'pkg-remove':
        this.packages.delete(f.name);
        return;
      case 'svc-apply': {
        const s = this.services.get(unitName(f.name));
        if (!s) throw new OpFailed(`Unit ${unitName(f.name)} not found.`, 5);
        s.masked = false;
        if (f.enabled === 'true') s.enabled = true;
        if (f.enabled === 'false') s.enabled = false;
        if (f.state === 'running') s.active = true;
        if (f.state === 'stopped') s.active = false;
        return;
      }
      case 'svc-mask': {
        const s = this.services.get(unitName(f.name)) ?? { enabled: false, active: false, masked: false };
        Object.assign(s, { active: false, masked: true });
        this.services.set(unitName(f.name), s);
        return;
      }
      default:
        throw new OpFailed('unknown operation');
    }
  }

  private freeId(taken: number[]): number {
    let id = 1000;
    const set = new Set(taken);
    while (set.has(id)) id++;
    return id;
  }

  private memberList(csv: string): string[] {
    const names = csv ? csv.split(',') : [];
    for (const n of names) if (!this.users.has(n)) throw new OpFailed(`gpasswd: user '${n}' does not exist`, 3);
    return [...new Set(names)];
  }

  private userOp(f: Record<string, string>, create: boolean): void {
    const existing = this.users.get(f.name);
    if (create && existing) throw new OpFailed(`useradd: user '${f.name}' already exists`, 9);
    if (!create && !existing) throw new OpFailed(`usermod: user '${f.name}' does not exist`, 6);
    const uids = [...this.users].filter(([n]) => n !== f.name).map(([, u]) => u.uid);
    const uid = f.uid ? Number(f.uid) : existing?.uid ?? this.freeId(uids);
    if (uids.includes(uid)) throw new OpFailed(`${create ? 'useradd' : 'usermod'}: UID ${uid} is not unique`, 4);
    let gid = existing?.gid;
    let ownGroup = false;
    if (f.group) {
      gid = this.gidOf(f.group);
      if (gid === undefined) throw new OpFailed(`group '${f.group}' does not exist`, 6);
    } else if (create) {
      if (this.groups.has(f.name)) throw new OpFailed(`useradd: group ${f.name} exists - if you want to add this user to that group, use -g.`, 9);
      const gids = [...this.groups.values()].map((g) => g.gid);
      gid = gids.includes(uid) ? this.freeId(gids) : uid;
      ownGroup = true;
    }
    let sup: string[] | undefined;
    if ('groups' in f) {
      sup = f.groups ? f.groups.split(',') : [];
      for (const g of sup) if (!this.groups.has(g)) throw new OpFailed(`group '${g}' does not exist`, 6);
    }
    // all checks passed: change the model
    if (ownGroup) this.groups.set(f.name, { gid: gid!, members: [] });
    const u: SimUser = existing ?? { uid, gid: gid!, comment: '', home: `/home/${f.name}`, shell: '/bin/sh' };
    u.uid = uid;
    u.gid = gid!;
    if ('shell' in f && f.shell) u.shell = f.shell;
    if ('home' in f && f.home) u.home = f.home;
    if ('comment' in f) u.comment = f.comment;
    this.users.set(f.name, u);
    if (sup) {
      for (const [n, g] of this.groups) {
        const member = g.members.includes(f.name);
        if (sup.includes(n) && !member) g.members.push(f.name);
        if (!sup.includes(n) && member) g.members = g.members.filter((m) => m !== f.name);
      }
    }
  }
}

export function unitName(name: string): string {
  return /\.(service|socket|timer|target|mount|path)$/.test(name) ? name : `${name}.service`;
}
