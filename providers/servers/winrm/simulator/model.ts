/**
 * The in-memory Windows host behind the WinRM simulator: files and
 * directories, local users and groups, services, features and the registry.
 * Names and paths are case-insensitive as on Windows (stored with the case
 * they were created with).
 *
 * `execute(op, payload)` performs one of the driver's script operations with
 * the same meaning as the PowerShell in ../scripts.ts, all-or-nothing: every
 * check runs before the first change, so a failed operation changes nothing.
 */
import { createHash } from 'node:crypto';
import type { Op } from '../scripts.js';

export class CiMap<V> {
  private m = new Map<string, { key: string; value: V }>();
  get(k: string): V | undefined {
    return this.m.get(k.toLowerCase())?.value;
  }
  /** The key as stored (original case). */
  keyOf(k: string): string | undefined {
    return this.m.get(k.toLowerCase())?.key;
  }
  has(k: string): boolean {
    return this.m.has(k.toLowerCase());
  }
  set(k: string, v: V): void {
    const cur = this.m.get(k.toLowerCase());
    this.m.set(k.toLowerCase(), { key: cur?.key ?? k, value: v });
  }
  delete(k: string): boolean {
    return this.m.delete(k.toLowerCase());
  }
  keys(): string[] {
    return [...this.m.values()].map((e) => e.key);
  }
  values(): V[] {
    return [...this.m.values()].map((e) => e.value);
  }
  get size(): number {
    return this.m.size;
  }
}

export interface WinFile {
  path: string;
  content: Buffer;
  owner: string;
  group: string;
}
export interface WinDirectory {
  path: string;
  owner: string;
  group: string;
}
export interface WinUser {
  name: string;
  fullName: string;
  sid: string;
  enabled: boolean;
}
export interface WinGroup {
  name: string;
  sid: string;
  /** Member account names as stored (canonical case). */
  members: string[];
}
export interface WinService {
  name: string;
  startType: 'Automatic' | 'Manual' | 'Disabled';
  status: 'Running' | 'Stopped';
}
export interface WinFeature {
  name: string;
  installed: boolean;
  /** Services the feature brings along. */
  services?: string[];
}
export type RegType = 'String' | 'ExpandString' | 'DWord' | 'QWord' | 'MultiString' | 'Binary';
export interface RegValue {
  name: string;
  type: RegType;
  /** As the read script reports it: string, number (DWord), decimal string (QWord), string[], hex string (Binary). */
  data: unknown;
}
export interface RegKey {
  path: string;
  values: CiMap<RegValue>;
}

export interface OpResult {
  ok: boolean;
  error?: string;
  [k: string]: unknown;
}

export class OpError extends Error {}

const WELL_KNOWN = ['SYSTEM', 'Everyone', 'None', 'NETWORK SERVICE', 'LOCAL SERVICE', 'TrustedInstaller'];

function parentOf(p: string): string | null {
  const i = p.lastIndexOf('\\');
  if (i < 2) return null;
  return i === 2 ? p.slice(0, 3) : p.slice(0, i);
}

function regSplit(p: string): { hive: string; sub: string } {
  const i = p.indexOf(':\\');
  if (i < 1) throw new OpError(`bad registry path ${p}`);
  const hive = p.slice(0, i).toUpperCase();
  if (!['HKLM', 'HKCU', 'HKCR', 'HKU', 'HKCC'].includes(hive)) throw new OpError(`unknown registry hive ${hive}`);
  return { hive, sub: p.slice(i + 2) };
}

export class WindowsModel {
  hostname: string;
  files = new CiMap<WinFile>();
  directories = new CiMap<WinDirectory>();
  users = new CiMap<WinUser>();
  groups = new CiMap<WinGroup>();
  services = new CiMap<WinService>();
  features = new CiMap<WinFeature>();
  registry = new CiMap<RegKey>();
  /** Every operation the simulator executed, with its decoded payload (for tests). */
  log: { op: Op; payload: any; ok: boolean }[] = [];
  private rid = 1000;

  constructor(hostname = 'WIN-LAB') {
    this.hostname = hostname.toUpperCase();
    for (const d of ['C:\\', 'C:\\Windows', 'C:\\Windows\\System32', 'C:\\Users', 'C:\\ProgramData', 'C:\\Program Files', 'C:\\inetpub']) {
      this.directories.set(d, { path: d, owner: 'TrustedInstaller', group: 'TrustedInstaller' });
    }
    this.files.set('C:\\Windows\\System32\\drivers.txt', { path: 'C:\\Windows\\System32\\drivers.txt', content: Buffer.from('lab\r\n'), owner: 'TrustedInstaller', group: 'TrustedInstaller' });
    this.addUser('Administrator', 'Built-in account for administering the computer/domain', 500);
    this.addUser('Guest', '', 501).enabled = false;
    for (const [g, rid] of [['Administrators', 544], ['Users', 545], ['Guests', 546], ['Remote Desktop Users', 555], ['Remote Management Users', 580], ['Backup Operators', 551]] as const) {
      this.groups.set(g, { name: g, sid: `S-1-5-32-${rid}`, members: [] });
    }
    this.groups.get('Administrators')!.members.push('Administrator');
    this.groups.get('Guests')!.members.push('Guest');
    const svc = (name: string, startType: WinService['startType'], status: WinService['status']) => this.services.set(name, { name, startType, status });
    svc('WinRM', 'Automatic', 'Running');
    svc('LanmanServer', 'Automatic', 'Running');
    svc('Spooler', 'Automatic', 'Running');
    svc('W32Time', 'Manual', 'Stopped');
    svc('wuauserv', 'Manual', 'Stopped');
    svc('BITS', 'Manual', 'Stopped');
    svc('RemoteRegistry', 'Disabled', 'Stopped');
    svc('SNMPTRAP', 'Manual', 'Stopped');
    const feat = (name: string, installed: boolean, services?: string[]) => this.features.set(name, { name, installed, services });
    feat('FS-FileServer', true);
    feat('NET-Framework-45-Core', true);
    feat('Windows-Defender', true);
    feat('Web-Server', false, ['W3SVC']);
    feat('Web-Mgmt-Console', false);
    feat('FS-DFS-Namespace', false, ['Dfs']);
    feat('FS-Resource-Manager', false, ['SrmSvc']);
    feat('RSAT-AD-Tools', false);
    feat('SNMP-Service', false, ['SNMP']);
    feat('Telnet-Client', false);
    feat('Print-Services', false);
    feat('DHCP', false, ['DHCPServer']);
    feat('DNS', false, ['DNS']);
    feat('WDS', false, ['WDSServer']);
    const key = (p: string, values: RegValue[] = []) => {
      const k: RegKey = { path: p, values: new CiMap() };
      for (const v of values) k.values.set(v.name, v);
      this.registry.set(p, k);
    };
    key('HKLM:\\SOFTWARE');
    key('HKLM:\\SOFTWARE\\Microsoft');
    key('HKLM:\\SOFTWARE\\Microsoft\\Windows NT');
    key('HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', [
      { name: 'ProductName', type: 'String', data: 'Windows Server 2022 Standard' },
      { name: 'CurrentBuild', type: 'String', data: '20348' },
    ]);
    key('HKLM:\\SOFTWARE\\Policies');
    key('HKLM:\\SYSTEM');
    key('HKLM:\\SYSTEM\\CurrentControlSet');
    key('HKLM:\\SYSTEM\\CurrentControlSet\\Services');
    key('HKLM:\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer');
    key('HKLM:\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters', [{ name: 'SMB1', type: 'DWord', data: 1 }]);
    key('HKCU:\\Software');
  }

  private sid(rid: number): string {
    const h = createHash('sha256').update(this.hostname).digest();
    return `S-1-5-21-${h.readUInt32LE(0)}-${h.readUInt32LE(4)}-${h.readUInt32LE(8)}-${rid}`;
  }

  private addUser(name: string, fullName: string, rid = ++this.rid): WinUser {
    const u: WinUser = { name, fullName, sid: this.sid(rid), enabled: true };
    this.users.set(name, u);
    return u;
  }

  /** Canonical name of a local account (user, group or well-known), or throws like NTAccount.Translate. */
  private account(name: string): string {
    let n = name;
    const bs = n.indexOf('\\');
    if (bs >= 0) {
      const dom = n.slice(0, bs).toUpperCase();
      if (dom !== this.hostname && dom !== 'BUILTIN' && dom !== '.' && dom !== 'NT AUTHORITY') throw new OpError(`account ${name} does not exist`);
      n = n.slice(bs + 1);
    }
    const k = this.users.keyOf(n) ?? this.groups.keyOf(n) ?? WELL_KNOWN.find((w) => w.toLowerCase() === n.toLowerCase());
    if (!k) throw new OpError(`account ${name} does not exist`);
    return k;
  }

  // ---------------------------------------------------------------- ops

  execute(op: Op, payload: any): OpResult {
    try {
      const r = this.dispatch(op, payload ?? {});
      this.log.push({ op, payload, ok: true });
      return r;
    } catch (e) {
      this.log.push({ op, payload, ok: false });
      if (e instanceof OpError) return { ok: false, error: e.message };
      throw e;
    }
  }

  private dispatch(op: Op, p: any): OpResult {
    switch (op) {
      case 'read':
        return { ok: true, objects: (Array.isArray(p.objects) ? p.objects : []).map((o: any) => ({ kind: o.kind, id: o.id, state: this.readOne(o) })) };
      case 'apply-file':
        return this.applyFile(p);
      case 'apply-directory':
        return this.applyDirectory(p);
      case 'apply-user':
        return this.applyUser(p);
      case 'apply-group':
        return this.applyGroup(p);
      case 'apply-service':
        return this.applyService(p);
      case 'apply-feature':
        return this.applyFeature(p);
      case 'apply-registry':
        return this.applyRegistry(p);
    }
  }

  private readOne(o: any): Record<string, unknown> | null {
    const id = String(o.id);
    switch (o.kind) {
      case 'File': {
        const f = this.files.get(id);
        return f ? { contentBase64: f.content.toString('base64'), owner: f.owner, group: f.group } : null;
      }
      case 'Directory': {
        const d = this.directories.get(id);
        return d ? { owner: d.owner, group: d.group } : null;
      }
      case 'User': {
        const u = this.users.get(id);
        if (!u) return null;
        const groups = this.groups
          .values()
          .filter((g) => g.members.some((m) => m.toLowerCase() === u.name.toLowerCase()))
          .map((g) => g.name)
          .sort((a, b) => a.localeCompare(b));
        return { comment: u.fullName, groups };
      }
      case 'Group': {
        const g = this.groups.get(id);
        return g ? { members: [...g.members].sort((a, b) => a.localeCompare(b)) } : null;
      }
      case 'Service': {
        const s = this.services.get(id);
        if (!s || s.startType === 'Disabled') return null;
        return { enabled: s.startType === 'Automatic', state: s.status === 'Running' ? 'running' : 'stopped' };
      }
      case 'WindowsFeature': {
        const f = this.features.get(id);
        return f && f.installed ? { name: f.name } : null;
      }
      case 'RegistryValue': {
        regSplit(String(o.path));
        const k = this.registry.get(String(o.path));
        const v = k?.values.get(String(o.name ?? ''));
        if (!k || !v) return null;
        return { path: String(o.path), name: String(o.name ?? ''), type: v.type, data: structuredClone(v.data) };
      }
      default:
        throw new OpError(`unsupported kind ${o.kind}`);
    }
  }

  private checkOwner(p: any): { owner?: string; group?: string } {
    return {
      owner: p.owner != null ? this.account(String(p.owner)) : undefined,
      group: p.group != null ? this.account(String(p.group)) : undefined,
    };
  }

  private applyFile(p: any): OpResult {
    const path = String(p.path);
    if (p.action === 'delete') {
      this.files.delete(path);
      return { ok: true };
    }
    const dir = parentOf(path);
    if (!dir || !this.directories.has(dir)) throw new OpError(`parent directory ${dir} does not exist`);
    if (this.directories.has(path)) throw new OpError(`Access to the path '${path}' is denied.`);
    const acct = this.checkOwner(p);
    const cur = this.files.get(path);
    const content = p.contentBase64 != null ? Buffer.from(String(p.contentBase64), 'base64') : (cur?.content ?? Buffer.alloc(0));
    this.files.set(path, {
      path: this.files.keyOf(path) ?? path,
      content,
      owner: acct.owner ?? cur?.owner ?? 'Administrators',
      group: acct.group ?? cur?.group ?? 'None',
    });
    return { ok: true };
  }

  private applyDirectory(p: any): OpResult {
    const path = String(p.path);
    if (p.action === 'delete') {
      if (!this.directories.has(path)) return { ok: true };
      const prefix = path.toLowerCase() + '\\';
      const nonEmpty = [...this.files.keys(), ...this.directories.keys()].some((k) => k.toLowerCase().startsWith(prefix));
      if (nonEmpty) throw new OpError(`directory ${path} is not empty`);
      this.directories.delete(path);
      return { ok: true };
    }
    if (this.files.has(path)) throw new OpError(`Cannot create "${path}" because a file with the same name already exists.`);
    if (!/^[A-Za-z]:\\/.test(path) || !this.directories.has(path.slice(0, 3))) throw new OpError(`Could not find a part of the path '${path}'.`);
    const acct = this.checkOwner(p);
    const chain: string[] = [];
    for (let d: string | null = path; d && !this.directories.has(d); d = parentOf(d)) chain.unshift(d);
    for (const d of chain) this.directories.set(d, { path: d, owner: 'Administrators', group: 'None' });
    const cur = this.directories.get(path)!;
    if (acct.owner) cur.owner = acct.owner;
    if (acct.group) cur.group = acct.group;
    return { ok: true };
  }

  private applyUser(p: any): OpResult {
    const name = String(p.name);
    if (p.action === 'delete') {
      const u = this.users.get(name);
      if (u) {
        this.users.delete(name);
        for (const g of this.groups.values()) g.members = g.members.filter((m) => m.toLowerCase() !== u.name.toLowerCase());
      }
      return { ok: true };
    }
    let want: WinGroup[] | null = null;
    if (p.groups != null) {
      want = (p.groups as unknown[]).map((gn) => {
        const g = this.groups.get(String(gn));
        if (!g) throw new OpError(`group ${gn} does not exist`);
        return g;
      });
    }
    if (!this.users.has(name) && (name.length > 20 || /["/\\[\]:;|=,+*?<>@]/.test(name))) throw new OpError(`The name ${name} is not valid.`);
    const u = this.users.get(name) ?? this.addUser(name, '');
    if (p.comment != null) u.fullName = String(p.comment);
    if (want) {
      for (const g of this.groups.values()) {
        const isMember = g.members.some((m) => m.toLowerCase() === u.name.toLowerCase());
        const wanted = want.includes(g);
        if (wanted && !isMember) g.members.push(u.name);
        if (isMember && !wanted) g.members = g.members.filter((m) => m.toLowerCase() !== u.name.toLowerCase());
      }
    }
    return { ok: true };
  }

  private applyGroup(p: any): OpResult {
    const name = String(p.name);
    if (p.action === 'delete') {
      this.groups.delete(name);
      for (const g of this.groups.values()) g.members = g.members.filter((m) => m.toLowerCase() !== name.toLowerCase());
      return { ok: true };
    }
    const want = p.members != null ? (p.members as unknown[]).map((m) => this.account(String(m))) : null;
    let g = this.groups.get(name);
    if (!g) {
      if (name.length > 256 || /["/\\[\]:;|=,+*?<>@]/.test(name)) throw new OpError(`The name ${name} is not valid.`);
      g = { name, sid: this.sid(++this.rid), members: [] };
      this.groups.set(name, g);
    }
    if (want) g.members = [...new Set(want)];
    return { ok: true };
  }

  private applyService(p: any): OpResult {
    const name = String(p.name);
    const s = this.services.get(name);
    if (!s) throw new OpError(`service ${name} is not installed`);
    if (p.action === 'delete') {
      s.status = 'Stopped';
      s.startType = 'Disabled';
      return { ok: true };
    }
    let start: WinService['startType'] | null = null;
    if (p.enabled === true) start = 'Automatic';
    else if (p.enabled === false || s.startType === 'Disabled') start = 'Manual';
    if (start) s.startType = start;
    if (p.state === 'running') s.status = 'Running';
    if (p.state === 'stopped') s.status = 'Stopped';
    return { ok: true };
  }

  private applyFeature(p: any): OpResult {
    const name = String(p.name);
    const f = this.features.get(name);
    if (!f) throw new OpError(`Windows feature ${name} is not available on this server`);
    const install = p.action !== 'delete';
    if (f.installed !== install) {
      f.installed = install;
      for (const s of f.services ?? []) {
        if (install) this.services.set(s, { name: s, startType: 'Automatic', status: 'Running' });
        else this.services.delete(s);
      }
    }
    return { ok: true, restartNeeded: 'No' };
  }

  private applyRegistry(p: any): OpResult {
    const path = String(p.path);
    const { sub } = regSplit(path);
    const name = String(p.name ?? '');
    if (p.action === 'delete') {
      this.registry.get(path)?.values.delete(name);
      return { ok: true };
    }
    const type = String(p.type) as RegType;
    let data: unknown;
    const d = p.data;
    switch (type) {
      case 'String':
      case 'ExpandString':
        data = String(d);
        break;
      case 'DWord': {
        const n = Number(d);
        if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new OpError(`Cannot convert value "${d}" to type "System.UInt32".`);
        data = n;
        break;
      }
      case 'QWord': {
        if (!/^[0-9]+$/.test(String(d)) || BigInt(String(d)) > 0xffffffffffffffffn) throw new OpError(`Cannot convert value "${d}" to type "System.UInt64".`);
        data = BigInt(String(d)).toString();
        break;
      }
      case 'MultiString':
        data = (Array.isArray(d) ? d : [d]).map(String);
        break;
      case 'Binary':
        if (typeof d !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(d)) throw new OpError('bad binary data');
        data = d.toLowerCase();
        break;
      default:
        throw new OpError(`unsupported registry type ${type}`);
    }
    if (!sub) throw new OpError('cannot write values at the hive root');
    // CreateSubKey: the key with its missing parents
    const segs = path.split('\\');
    for (let i = 2; i <= segs.length; i++) {
      const k = segs.slice(0, i).join('\\');
      if (!this.registry.has(k)) this.registry.set(k, { path: k, values: new CiMap() });
    }
    const key = this.registry.get(path)!;
    key.values.set(name, { name: key.values.keyOf(name) ?? name, type, data });
    return { ok: true };
  }
}
