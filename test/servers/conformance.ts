/**
 * Conformance suite for server drivers: File, Directory, User, Group and
 * Service (where the target has them), Package on Linux. ONE suite, run
 * against every target factory: real OpenSSH sshd and the Linux lab
 * simulator (ssh driver), and the WinRM simulator (winrm driver).
 *
 * What differs between the operating systems is described by an OsProfile:
 * how paths are joined, which fields the OS has (capability flags: modes,
 * uid/gid/shell/home, packages, case-insensitive names), its Server
 * resource, how its driver pins the host and how it words a few errors.
 * Linux-only parts run only where the flags say so.
 *
 * Desired objects come from the kinds' own validate/expand, changes are
 * built the way the engine's plan stage builds them (changeFor on the
 * normalised states), and every apply is followed by a read that must show
 * no difference.
 */
import assert from 'node:assert/strict';
import { testResource } from '../support/resource.js';
import type { Change, ChangeWriter, DesiredObject, Driver, ReadResult, Resource, TargetSpec } from '../../engine/types.js';
import { DriverError, objectKey } from '../../engine/types.js';
import { liveFingerprint } from '../../engine/hash.js';
import { changeFor } from '../../engine/plan.js';
import { Secrets } from '../../engine/secrets.js';
import { defaultCatalog } from '../../cli/catalog.js';

export const ENV = 'conf';
export const SERVER = 'host';
export const TARGET_ADDRESS = `${ENV}/Server/${SERVER}`;

/** Out-of-band access to the host, to check results and cause drift by hand. */
export interface HostAccess {
  readFile(path: string): Promise<Buffer | undefined>;
  writeFile(path: string, data: Buffer | string): Promise<void>;
  /** Hosts with file modes (caps.mode) only. */
  chmod?(path: string, mode: number): Promise<void>;
  /** mode as 4 octal digits (hosts with caps.mode only), owner and group names, of the path itself (lstat); undefined if missing. */
  stat(path: string): Promise<{ mode?: string; owner: string; group: string; type: 'file' | 'dir' | 'link' } | undefined>;
  /** Hosts with symbolic links only: a link at `path` to `target`. */
  symlink?(target: string, path: string): Promise<void>;
  listDir(path: string): Promise<string[]>;
  /** uid and shell on hosts with caps.posixAccounts only. */
  user(name: string): Promise<{ uid?: number; shell?: string; comment: string; groups: string[] } | undefined>;
  /** gid on hosts with caps.posixAccounts only. */
  group(name: string): Promise<{ gid?: number; members: string[] } | undefined>;
  /** A service as the driver's kinds mean it; undefined = absent (masked / disabled) and not running. */
  service?(name: string): Promise<{ enabled: boolean; running: boolean } | undefined>;
}

/** What the suite needs to know about the operating system of a target. */
export interface OsProfile {
  os: 'linux' | 'windows';
  /** Joins path segments with the OS's separator (no normalisation, so '..' stays). */
  join(...parts: string[]): string;
  /** The Server resource the objects live on (validation looks up its os). */
  server(): Resource;
  caps: {
    /** File and Directory mode. */
    mode: boolean;
    /** uid/gid numbers, shell and home of users. */
    posixAccounts: boolean;
    /** Debian packages. */
    packages: boolean;
    /** User and group names compare case-insensitively (a differently-cased name is no drift). */
    caseInsensitiveNames: boolean;
  };
  /** A file name with spaces, quotes and other characters the OS allows. */
  oddFileName: string;
  /** An account every host of this OS has (added to a test group). */
  existingUser: string;
  /** A directory every host of this OS has, which executed hostile content would damage. */
  sentinel: string;
  /** The driver's error when a file's owner does not exist (the write must be atomic anyway). */
  unknownOwnerError: RegExp;
  /** The driver's error for a service the host does not have. */
  missingServiceError(name: string): RegExp;
  /** The connection with a wrong pin, and the refusal expected (before anything is sent). */
  wrongPin(connection: Record<string, any>): Record<string, any>;
  isPinMismatch(e: Error): boolean;
  /** The connection without a pin, and the refusal expected. */
  unpinned(connection: Record<string, any>): Record<string, any>;
  isUnpinnedRefusal(e: Error): boolean;
  /** DriverError code of a dropped connection, if the driver has a specific one. */
  droppedCode?: string;
}

export interface TargetFixture {
  driver: Driver;
  target: TargetSpec;
  os: OsProfile;
  /** An existing, empty directory on the host that the suite may fill. */
  base: string;
  /** Prefix for user and group names (`ektest_`, plus a per-run tag where runs may overlap). */
  prefix: string;
  /** First of ten free uid/gid numbers the suite may use (caps.posixAccounts). */
  idBase: number;
  host: HostAccess;
  /** Can install packages (the Linux simulator). */
  packages: boolean;
  /** Two installed services the suite may reconfigure, if the host has services; host.service must be set then. */
  services?: { a: string; b: string };
  /** A pre-existing group the suite may add its user to (and removes it again). */
  existingGroup?: string;
  /** Commands (scripts) the host has run so far, if it can tell (simulators). */
  commandCount?(): number;
  /** Requests of any kind the host has served so far, if it can tell (simulators). */
  requestCount?(): number;
  /** Authentication attempts the host has seen so far, if it can tell (the simulator). */
  authAttempts?(): number;
  /** Operations the host refused or failed so far, if it can tell (simulators). */
  failedOps?(): number;
  /** Make the next SFTP writes fail (simulator fault injection), if supported. */
  setFailWrites?(on: boolean): void;
  /** Drop the connection after N more requests, if supported. */
  dropAfter?(n: number | undefined): void;
  /** Why this connection has no host identity to pin (WinRM over HTTP: no certificate), if so; the pin test is skipped. */
  unpinnable?: string;
  cleanup(): Promise<void>;
}

// ------------------------------------------------------------- helpers

export function resource(kind: string, name: string, spec: Record<string, unknown>): Resource {
  return testResource(ENV, kind, name, spec, { file: `${ENV}/servers.yaml` });
}

export function serverResource(os: 'linux' | 'windows' = 'linux'): Resource {
  return resource('Server', SERVER, { os, connection: { driver: os === 'linux' ? 'ssh' : 'winrm', host: '127.0.0.1' } });
}

/** The Windows Server resource as a manifest would declare it (credentials as a secret reference, pinned certificate). */
export function windowsServer(): Resource {
  const r = serverResource('windows');
  return { ...r, spec: { ...r.spec, connection: { ...r.spec.connection, user: 'Administrator', password: '${secret:WIN_PASSWORD}', tlsFingerprint: 'AB'.repeat(32) } } };
}

export const LINUX: OsProfile = {
  os: 'linux',
  join: (...parts) => parts.join('/'),
  server: () => serverResource('linux'),
  caps: { mode: true, posixAccounts: true, packages: true, caseInsensitiveNames: false },
  oddFileName: `with space's "q".txt`,
  existingUser: 'root',
  sentinel: '/etc',
  unknownOwnerError: /chown/,
  missingServiceError: (name) => new RegExp(`Unit ${name}\\.service not found`),
  wrongPin: (c) => ({ ...c, hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43) }),
  isPinMismatch: (e) => e instanceof DriverError && /host key mismatch/.test(e.message) && /nothing was sent/.test(e.message),
  unpinned: (c) => ({ ...c, hostKeyFingerprint: undefined }),
  isUnpinnedRefusal: (e) => /no hostKeyFingerprint pinned/.test(e.message),
};

export const WINDOWS: OsProfile = {
  os: 'windows',
  join: (...parts) => parts.join('\\'),
  server: windowsServer,
  caps: { mode: false, posixAccounts: false, packages: false, caseInsensitiveNames: true },
  oddFileName: `with space's $x %PATH% (q) [1].txt`,
  existingUser: 'Administrator',
  sentinel: 'C:\\Windows',
  unknownOwnerError: /account .* does not exist/,
  missingServiceError: (name) => new RegExp(`service ${name} is not installed`),
  wrongPin: (c) => ({ ...c, tlsFingerprint: 'sha256:' + '00'.repeat(32) }),
  isPinMismatch: (e) => e instanceof DriverError && e.opts.code === 'E_TLS_FINGERPRINT' && /fingerprint mismatch/.test(e.message) && /Nothing was sent/.test(e.message),
  // without a pin the self-signed lab certificate is not trusted
  unpinned: (c) => ({ ...c, tlsFingerprint: undefined }),
  isUnpinnedRefusal: (e) => e instanceof DriverError && e.opts.code === 'E_TLS',
  droppedCode: 'E_CONNECTION_DROPPED',
};

/** validate (must be clean) + expand a set of object resources, plus their Server, like the engine does. Usable by every server driver's tests. */
export function expand(resources: Resource[], server: Resource = serverResource()): DesiredObject[] {
  const all = [server, ...resources];
  const byAddress = new Map(all.map((r) => [r.address, r]));
  const ctx = { byAddress, resources: all, lookup: (kind: string, name: string) => byAddress.get(`${ENV}/${kind}/${name}`) };
  const out: DesiredObject[] = [];
  for (const r of resources) {
    const def = defaultCatalog().kind(r.kind)!;
    const diags = def.validate?.(r, { byAddress }) ?? [];
    assert.deepEqual(diags, [], `${r.address} should be valid`);
    out.push(...def.expand!(r, ctx));
  }
  return out;
}

const noSecrets = new Secrets({ zone: 'school' });

/** The engine's plan stage for these objects (engine/plan.ts changeFor): one Change per desired object that differs. */
export function planChanges(desired: DesiredObject[], read: ReadResult): Change[] {
  const changes: Change[] = [];
  for (const o of desired) {
    const live = read.objects[objectKey(o.kind, o.id)];
    assert.ok(live !== undefined, `read result lacks ${o.kind} ${o.id}`);
    const c = changeFor(defaultCatalog().kind(o.kind), o, o.state, live, noSecrets);
    if (c) changes.push(c);
  }
  return changes;
}

export function readRequest(desired: DesiredObject[]) {
  return desired.map((o) => ({ kind: o.kind, id: o.id, state: o.state }));
}

/** A driver and one of its targets. */
export type Conn = Pick<TargetFixture, 'driver' | 'target'>;

export async function withWriter<T>(fx: Conn, fn: (w: ChangeWriter) => Promise<T>): Promise<T> {
  const w = await fx.driver.connectWriter(fx.target, { timeoutMs: 20_000 });
  assert.equal(w.mode, 'change', 'server drivers apply one change at a time');
  try {
    return await fn(w);
  } finally {
    await w.close();
  }
}

/** Plan, apply in the given order (deletes first), then re-read: must have converged. Returns the changes applied. */
export async function converge(fx: Conn, desired: DesiredObject[]): Promise<Change[]> {
  return withWriter(fx, async (w) => {
    const changes = planChanges(desired, await w.read(readRequest(desired)));
    const creates = changes.filter((c) => !(c.actions.length === 1 && c.actions[0] === 'delete'));
    const deletes = changes.filter((c) => c.actions.length === 1 && c.actions[0] === 'delete');
    for (const c of [...deletes, ...creates]) await w.applyChange(c);
    const again = planChanges(desired, await w.read(readRequest(desired)));
    assert.deepEqual(
      again.map((c) => ({ address: c.address, actions: c.actions, diff: c.diff })),
      [],
      'a re-plan right after apply shows no changes',
    );
    return changes;
  });
}

export async function planOnly(fx: Conn, desired: DesiredObject[]): Promise<Change[]> {
  const r = await fx.driver.connectReader(fx.target, { timeoutMs: 20_000 });
  try {
    return planChanges(desired, await r.read(readRequest(desired)));
  } finally {
    await r.close();
  }
}

const TRICKY_TEXT = `He said "hi" and 'bye'; echo $HOME \`id\` $(whoami) \${PATH}\n\\n is not a newline, tab:\there\r\nümlaut 😀\nlast line without newline`;
const BINARY = Buffer.from([0, 1, 2, 0xff, 0xfe, 0, 10, 0x24, 0x28, 0x60, 0x0d, 0]);
/** Values that would do harm if a driver ever spliced them into shell, PowerShell or SOAP. */
export const HOSTILE = [
  "'; Remove-Item C:\\ -Recurse; '",
  '$(Remove-Item C:\\ -Recurse)',
  '</s:Envelope><s:Body>',
  ']]><![CDATA[',
  '"double" \'single\' `backtick` $env:PATH ${x} @(1) & | ; < > %PATH% ^',
  'unicode: Grüße, 日本語, emoji 😀, RTL \u202e, NBSP\u00a0',
  'line1\r\nline2\nline3\ttab',
  "__EINKLANG_PAYLOAD__ $payload = 'x'",
  "'; rm -rf / #\n$(reboot) `halt` && true || false",
];

function fakeChange(kind: string, id: string, after: Record<string, unknown>): Change {
  return {
    address: `${ENV}/${kind}/evil`,
    resource: `${ENV}/${kind}/evil`,
    kind,
    target: TARGET_ADDRESS,
    id,
    actions: ['create'],
    before: null,
    after,
    diff: [],
    liveFingerprint: liveFingerprint(null),
    dependsOn: [],
  };
}

// ---------------------------------------------------------------- suite

export function serverConformance(title: string, factory: (ctx: Mocha.Context) => Promise<TargetFixture>): void {
  describe(`server driver conformance: ${title}`, function () {
    this.timeout(30_000);
    let fx: TargetFixture;
    let P: string; // user/group prefix
    let B: string; // base dir
    let ID: number; // uid/gid base
    let OS: OsProfile;
    /** Members of fx.existingGroup before the suite added its user. */
    let existingMembers: string[] = [];

    before(async function () {
      fx = await factory(this);
      P = fx.prefix;
      B = fx.base;
      ID = fx.idBase;
      OS = fx.os;
    });
    after(async () => {
      await fx?.cleanup();
    });

    const J = (...parts: string[]) => OS.join(B, ...parts);
    const ex = (resources: Resource[]) => expand(resources, OS.server());
    /** Fields only some OSes have, set only there. */
    const mode = (m: string) => (OS.caps.mode ? { mode: m } : {});
    const posix = (fields: Record<string, unknown>) => (OS.caps.posixAccounts ? fields : {});
    const on = (spec: Record<string, unknown>) => ({ server: SERVER, ...spec });

    const files = () => [
      resource('Directory', 'sub', on({ path: J('sub'), ...mode('750') })),
      resource('File', 'tricky', on({ path: J('tricky.txt'), content: TRICKY_TEXT, ...mode('0640') })),
      resource('File', 'binary', on({ path: J('binary.dat'), contentBase64: BINARY.toString('base64'), ...mode('600') })),
      resource('File', 'empty', on({ path: J('sub', 'empty'), content: '' })),
      resource('File', 'spaces', on({ path: J('sub', OS.oddFileName), content: 'x\n', ...mode('0644') })),
      resource('Directory', 'nested', on({ path: J('a', 'b') })),
    ];

    it('plans creates, applies them byte for byte, and converges', async () => {
      const desired = ex(files());
      const changes = await converge(fx, desired);
      assert.deepEqual(
        changes.map((c) => [c.kind, c.id, c.actions.join()]),
        [
          ['Directory', J('sub'), 'create'],
          ['File', J('tricky.txt'), 'create'],
          ['File', J('binary.dat'), 'create'],
          ['File', J('sub', 'empty'), 'create'],
          ['File', J('sub', OS.oddFileName), 'create'],
          ['Directory', J('a', 'b'), 'create'],
        ],
      );
      assert.equal((await fx.host.readFile(J('tricky.txt')))!.toString('utf8'), TRICKY_TEXT);
      assert.deepEqual(await fx.host.readFile(J('binary.dat')), BINARY);
      assert.equal((await fx.host.readFile(J('sub', 'empty')))!.length, 0);
      assert.equal((await fx.host.readFile(J('sub', OS.oddFileName)))!.toString(), 'x\n');
      if (OS.caps.mode) {
        assert.equal((await fx.host.stat(J('tricky.txt')))!.mode, '0640');
        assert.equal((await fx.host.stat(J('binary.dat')))!.mode, '0600');
        assert.equal((await fx.host.stat(J('sub')))!.mode, '0750');
      }
      assert.equal((await fx.host.stat(J('sub')))!.type, 'dir');
      assert.equal((await fx.host.stat(J('a')))?.type, 'dir', 'missing parents created');
      assert.equal((await fx.host.stat(J('a', 'b')))?.type, 'dir');
      assert.deepEqual((await fx.host.listDir(B)).filter((n) => n.includes('einklang')), [], 'no temporary files left');
    });

    it('treats content and contentBase64 of the same bytes as equal', async () => {
      const same = ex([resource('File', 'tricky', on({ path: J('tricky.txt'), contentBase64: Buffer.from(TRICKY_TEXT).toString('base64'), ...mode('640') }))]);
      assert.deepEqual(await planOnly(fx, same), []);
    });

    it('passes shell, PowerShell and XML metacharacters through as data, byte for byte', async () => {
      const failed = fx.failedOps?.();
      const desired = ex(HOSTILE.map((h, i) => resource('File', `hostile${i}`, on({ path: J(`hostile${i}.txt`), content: h }))));
      assert.equal((await converge(fx, desired)).length, HOSTILE.length);
      for (const [i, h] of HOSTILE.entries()) assert.equal((await fx.host.readFile(J(`hostile${i}.txt`)))!.toString('utf8'), h);
      // nothing was executed: the sentinel is still there and every operation was one of the driver's
      assert.equal((await fx.host.stat(OS.sentinel))?.type, 'dir');
      if (failed !== undefined) assert.equal(fx.failedOps!(), failed, 'no operation failed');
    });

    it('reads all objects of a server with at most one command, whatever their number', async function () {
      if (!fx.commandCount) this.skip();
      const desired = ex(files());
      const r = await fx.driver.connectReader(fx.target);
      try {
        const before = fx.commandCount!();
        const res = await r.read(readRequest(desired));
        assert.ok(fx.commandCount!() - before <= 1, `${fx.commandCount!() - before} commands for one read`);
        assert.equal(Object.keys(res.objects).length, desired.length);
      } finally {
        await r.close();
      }
    });

    it('creates groups and users, and files owned by them', async () => {
      const G = fx.existingGroup;
      if (G) existingMembers = (await fx.host.group(G))!.members;
      const desired = ex([
        resource('Group', `${P}staff`, on(posix({ gid: ID + 1 }))),
        resource('Group', `${P}web`, on({})),
        resource('Group', `${P}gidtest`, on(posix({ gid: ID + 3 }))),
        resource('User', `${P}alice`, on({ groups: [`${P}web`, `${P}staff`, ...(G ? [G] : [])], comment: 'Alice Tëst', ...posix({ uid: ID + 5, shell: '/bin/sh', home: J('alice') }) })),
        resource('File', 'owned', on({ path: J('owned.txt'), content: 'mine\n', owner: `${P}alice`, group: `${P}staff`, ...mode('0664') })),
      ]);
      // ordering comes from expand's dependsOn: the user depends on its groups, the file on both
      const file = desired.find((o) => o.kind === 'File')!;
      assert.ok(file.dependsOn.includes(`${ENV}/User/${P}alice`) && file.dependsOn.includes(`${ENV}/Group/${P}staff`));
      const changes = await converge(fx, desired);
      assert.deepEqual(
        changes.map((c) => `${c.kind} ${c.id} ${c.actions}`),
        [`Group ${P}staff create`, `Group ${P}web create`, `Group ${P}gidtest create`, `User ${P}alice create`, `File ${J('owned.txt')} create`],
      );
      const u = await fx.host.user(`${P}alice`);
      assert.equal(u?.comment, 'Alice Tëst');
      assert.deepEqual(u?.groups.filter((g) => g !== `${P}alice`).sort(), [`${P}staff`, `${P}web`, ...(G ? [G] : [])].sort());
      if (G) assert.deepEqual((await fx.host.group(G))?.members, [...existingMembers, `${P}alice`], 'joined a group that existed before');
      if (OS.caps.posixAccounts) {
        assert.equal(u?.uid, ID + 5);
        assert.equal(u?.shell, '/bin/sh');
        assert.equal((await fx.host.group(`${P}staff`))?.gid, ID + 1);
      }
      assert.deepEqual(await fx.host.stat(J('owned.txt')), { ...mode('0664'), owner: `${P}alice`, group: `${P}staff`, type: 'file' });
    });

    it('treats names that differ only in case as the same (where the OS does)', async function () {
      if (!OS.caps.caseInsensitiveNames) this.skip();
      const G = fx.existingGroup;
      const upper = ex([
        resource('User', `${P}alice`, on({ groups: [`${P}web`.toUpperCase(), `${P}STAFF`, ...(G ? [G.toUpperCase()] : [])] })),
        resource('File', 'owned', on({ path: J('owned.txt'), owner: `${P}ALICE`, group: `${P}Staff` })),
      ]);
      assert.deepEqual(await planOnly(fx, upper), []);
    });

    it('updates content, mode, membership and attributes, keeping unmanaged fields', async () => {
      const G = fx.existingGroup;
      const desired = ex([
        resource('Group', `${P}gidtest`, on({ members: [OS.existingUser], ...posix({ gid: ID + 4 }) })),
        resource('Group', `${P}web`, on({ members: [] })),
        resource('User', `${P}alice`, on({ groups: [`${P}staff`], comment: 'Alice Changed' })),
        resource('File', 'owned', on({ path: J('owned.txt'), content: 'changed\n', ...mode('600') })),
        // only the mode changes here, so only where there are modes
        ...(OS.caps.mode ? [resource('File', 'tricky', on({ path: J('tricky.txt'), content: TRICKY_TEXT, mode: '0644' }))] : []),
      ]);
      const changes = await converge(fx, desired);
      assert.deepEqual(
        changes.map((c) => `${c.id} ${c.actions}`),
        desired.map((o) => `${o.id} update`),
      );
      assert.deepEqual(
        changes.find((c) => c.id === J('owned.txt'))!.diff.map((d) => d.path),
        OS.caps.mode ? ['/content', '/mode'] : ['/content'],
      );
      const st = await fx.host.stat(J('owned.txt'));
      assert.deepEqual(st, { ...mode('0600'), owner: `${P}alice`, group: `${P}staff`, type: 'file' }, 'owner and group kept when not managed');
      assert.equal((await fx.host.readFile(J('owned.txt')))!.toString(), 'changed\n');
      assert.deepEqual((await fx.host.group(`${P}web`))?.members, []);
      assert.deepEqual((await fx.host.group(`${P}gidtest`))?.members, [OS.existingUser]);
      assert.deepEqual((await fx.host.group(`${P}staff`))?.members, [`${P}alice`]);
      if (G) assert.deepEqual((await fx.host.group(G))?.members, existingMembers, 'removed from the group that existed before');
      const u = await fx.host.user(`${P}alice`);
      assert.equal(u?.comment, 'Alice Changed');
      assert.ok(!u?.groups.includes(`${P}web`), 'removed from groups not listed');
      if (OS.caps.posixAccounts) {
        assert.equal((await fx.host.group(`${P}gidtest`))?.gid, ID + 4);
        assert.equal(u?.uid, ID + 5, 'uid kept');
      }
    });

    it('fails a user whose group does not exist, and leaves nothing behind', async () => {
      const desired = ex([resource('User', `${P}ghost`, on({ groups: [`${P}nosuchgroup`] }))]);
      await withWriter(fx, async (w) => {
        const [c] = planChanges(desired, await w.read(readRequest(desired)));
        await assert.rejects(w.applyChange(c), (e: Error) => e instanceof DriverError && new RegExp(`group '?${P}nosuchgroup'? does not exist`).test(e.message));
      });
      assert.equal(await fx.host.user(`${P}ghost`), undefined);
    });

    it('detects drift made by hand on the host', async () => {
      const desired = ex([resource('File', 'tricky', on({ path: J('tricky.txt'), content: TRICKY_TEXT, ...mode('0644') }))]);
      assert.deepEqual(await planOnly(fx, desired), []);
      await fx.host.writeFile(J('tricky.txt'), 'edited by hand\n');
      if (OS.caps.mode) await fx.host.chmod!(J('tricky.txt'), 0o666);
      const [c] = await planOnly(fx, desired);
      assert.deepEqual(c.actions, ['update']);
      assert.deepEqual(c.diff.map((d) => d.path), OS.caps.mode ? ['/content', '/mode'] : ['/content']);
      assert.equal(c.diff[0].before, 'edited by hand\n');
      assert.equal(c.diff[0].after, TRICKY_TEXT);
      await converge(fx, desired);
    });

    it('refuses a host that does not match the pin, before sending anything', async function () {
      if (fx.unpinnable) this.skip();
      const before = fx.requestCount?.();
      const logins = fx.authAttempts?.();
      const conn = fx.target.connection as Record<string, any>;
      await assert.rejects(fx.driver.connectWriter({ ...fx.target, connection: OS.wrongPin(conn) }), (e: Error) => OS.isPinMismatch(e));
      await assert.rejects(fx.driver.connectReader({ ...fx.target, connection: OS.unpinned(conn) }), (e: Error) => OS.isUnpinnedRefusal(e));
      if (before !== undefined) assert.equal(fx.requestCount!(), before, 'no request reached the host');
      if (logins !== undefined) {
        assert.equal(fx.authAttempts!(), logins, 'no credentials were sent');
        await (await fx.driver.connectReader(fx.target)).close();
        assert.ok(fx.authAttempts!() > logins, 'a pinned connection does authenticate (the counter works)');
      }
    });

    it('keeps the old file when a write fails (atomic write)', async () => {
      await fx.host.writeFile(J('atomic.txt'), 'old content\n');
      // an owner that does not exist fails after the content is ready
      const bad = ex([resource('File', 'atomic', on({ path: J('atomic.txt'), content: 'new content\n', owner: `${P}nosuchuser` }))]);
      await withWriter(fx, async (w) => {
        const [c] = planChanges(bad, await w.read(readRequest(bad)));
        await assert.rejects(w.applyChange(c), (e: Error) => e instanceof DriverError && OS.unknownOwnerError.test(e.message));
      });
      assert.equal((await fx.host.readFile(J('atomic.txt')))!.toString(), 'old content\n');
      assert.deepEqual((await fx.host.listDir(B)).filter((n) => n.includes('einklang')), [], 'temporary file removed');
    });

    it('keeps the old file when the SFTP write itself fails', async function () {
      if (!fx.setFailWrites) this.skip();
      const desired = ex([resource('File', 'atomic', on({ path: J('atomic.txt'), content: 'new content\n' }))]);
      fx.setFailWrites!(true);
      try {
        await withWriter(fx, async (w) => {
          const [c] = planChanges(desired, await w.read(readRequest(desired)));
          await assert.rejects(w.applyChange(c), /old file is unchanged/);
        });
      } finally {
        fx.setFailWrites!(false);
      }
      assert.equal((await fx.host.readFile(J('atomic.txt')))!.toString(), 'old content\n');
      assert.deepEqual((await fx.host.listDir(B)).filter((n) => n.includes('einklang')), []);
    });

    it('refuses unsafe ids at the driver too, without touching the host', async () => {
      const pwned = J('pwned');
      const unsafe = [J(`x;touch ${pwned}`), J(`x$(touch ${pwned})`), J(`x\`touch ${pwned}\``), J(`x\ntouch ${pwned}`), OS.join('relative', 'path.txt'), J('..', 'evil.txt')];
      await withWriter(fx, async (w) => {
        const commands = fx.commandCount?.();
        const requests = fx.requestCount?.();
        for (const path of unsafe) {
          await assert.rejects(w.applyChange(fakeChange('File', path, { content: 'evil' })), (e: Error) => e instanceof DriverError && e.opts.code === 'E_UNSAFE_VALUE');
          await assert.rejects(w.read([{ kind: 'File', id: path, state: {} }]), DriverError);
        }
        await assert.rejects(w.applyChange(fakeChange('User', `${P}x;id`, {})), DriverError);
        // fields the OS does not have
        if (!OS.caps.mode) await assert.rejects(w.applyChange(fakeChange('File', J('m.txt'), { mode: '0644' })), /mode is not supported on Windows/);
        if (!OS.caps.posixAccounts) await assert.rejects(w.applyChange(fakeChange('User', `${P}u`, { uid: 1000 })), /uid is not supported on Windows/);
        if (commands !== undefined) assert.equal(fx.commandCount!(), commands, 'nothing reached the host');
        if (requests !== undefined) assert.equal(fx.requestCount!(), requests, 'no SFTP request reached the host either');
        // a member name is refused by the driver or, travelling as data, by the host
        await assert.rejects(w.applyChange(fakeChange('Group', `${P}g`, { members: ['root;id'] })), DriverError);
      });
      assert.equal(await fx.host.readFile(pwned), undefined);
      assert.ok(!(await fx.host.listDir(B)).some((n) => n.startsWith('x')));
      assert.equal(await fx.host.group(`${P}g`), undefined);
      assert.equal(await fx.host.stat(J('m.txt')), undefined);
      assert.equal(await fx.host.user(`${P}u`), undefined);
    });

    it('never follows a symbolic link at a managed path: the read names the path, every write is refused, the target is untouched', async function () {
      if (!fx.host.symlink) this.skip();
      const secret = J('secret.txt');
      const realDir = J('real-dir');
      await fx.host.writeFile(secret, 'TOPSECRET\n');
      await fx.host.chmod!(secret, 0o600);
      await converge(fx, ex([resource('Directory', 'real', on({ path: realDir, mode: '0700' }))]));
      await fx.host.symlink(secret, J('link.txt'));
      await fx.host.symlink(realDir, J('link-dir'));
      const secretBefore = await fx.host.stat(secret);
      const dirBefore = await fx.host.stat(realDir);
      const isLinkRefusal = (path: string) => (e: Error) => e instanceof DriverError && e.message.includes(path) && /symbolic link/.test(e.message) && !e.message.includes('TOPSECRET');

      // plan: the read refuses, naming the path and nothing of what it points to
      const viaFile = ex([resource('File', 'via-link', on({ path: J('link.txt'), content: 'pwned\n', mode: '0666', owner: OS.existingUser }))]);
      await assert.rejects(planOnly(fx, viaFile), (e: Error) => isLinkRefusal(J('link.txt'))(e) && (e as DriverError).opts.code === 'E_SYMLINK');
      await assert.rejects(planOnly(fx, ex([resource('File', 'attrs-only', on({ path: J('link.txt'), mode: '0666' }))])), isLinkRefusal(J('link.txt')));
      await assert.rejects(planOnly(fx, ex([resource('Directory', 'via-link-dir', on({ path: J('link-dir'), mode: '0777' }))])), isLinkRefusal(J('link-dir')));

      // apply: changes planned while the paths were a file and a folder (the link came between plan and apply)
      const change = (kind: string, id: string, actions: Change['actions'], before: Record<string, unknown> | null, after: Record<string, unknown> | null): Change => ({
        ...fakeChange(kind, id, after ?? {}),
        actions,
        before,
        after,
      });
      const writes = [
        change('File', J('link.txt'), ['update'], { content: 'old\n', mode: '0600' }, { content: 'pwned\n', mode: '0666', owner: OS.existingUser }),
        change('File', J('link.txt'), ['update'], { mode: '0600' }, { mode: '0666' }),
        change('File', J('link.txt'), ['delete'], { content: 'old\n' }, null),
        change('Directory', J('link-dir'), ['update'], { mode: '0700' }, { mode: '0777' }),
        change('Directory', J('link-dir'), ['delete'], { mode: '0700' }, null),
      ];
      await withWriter(fx, async (w) => {
        for (const c of writes) await assert.rejects(w.applyChange!(c), isLinkRefusal(c.id), `${c.kind} ${c.actions} through a link`);
      });
      assert.equal((await fx.host.readFile(secret))?.toString(), 'TOPSECRET\n', 'the target keeps its content');
      assert.deepEqual(await fx.host.stat(secret), secretBefore, 'the target keeps its mode and owner');
      assert.deepEqual(await fx.host.stat(realDir), dirBefore, 'the linked folder keeps its mode and owner');
      assert.equal((await fx.host.stat(J('link.txt')))?.type, 'link', 'the link is still there');
      assert.equal((await fx.host.stat(J('link-dir')))?.type, 'link');
      assert.deepEqual((await fx.host.listDir(B)).filter((n) => n.includes('einklang')), [], 'no temporary file left');

      // a regular file again: managed as usual
      const back = ex([resource('File', 'secret', on({ path: secret, content: 'TOPSECRET\n', mode: '0600' }))]);
      assert.deepEqual(await planOnly(fx, back), []);
    });

    it('manages packages and services', async function () {
      if (!OS.caps.packages || !fx.packages) this.skip();
      const desired = ex([
        resource('Package', 'curl', on({ version: '7.88.1-10+deb12u5' })),
        resource('Package', 'nginx', on({})),
        resource('Service', 'nginx', on({ enabled: false, state: 'stopped' })),
        resource('Service', 'cron', on({ ensure: 'absent' })),
      ]);
      const changes = await converge(fx, desired);
      assert.deepEqual(changes.map((c) => `${c.kind} ${c.id} ${c.actions}`), ['Package curl create', 'Package nginx create', 'Service nginx create', 'Service cron delete']);
      const upgrade = ex([resource('Package', 'curl', on({ version: '7.88.1-10+deb12u8' })), resource('Service', 'nginx', on({ enabled: true, state: 'running' }))]);
      assert.deepEqual((await converge(fx, upgrade)).map((c) => c.actions.join()), ['update', 'update']);
      const back = ex([resource('Service', 'cron', on({ enabled: true, state: 'running' })), resource('Package', 'curl', on({ ensure: 'absent' }))]);
      assert.deepEqual((await converge(fx, back)).map((c) => `${c.id} ${c.actions}`), ['cron create', 'curl delete']);
      const missing = ex([resource('Package', 'no-such-package', on({}))]);
      await assert.rejects(converge(fx, missing), /Unable to locate package/);
    });

    it('manages services: start mode and state; absent = disabled and stopped', async function () {
      if (!fx.services) this.skip();
      const { a, b } = fx.services!;
      const svc = (name: string) => fx.host.service!(name);
      const first = await converge(fx, ex([resource('Service', a, on({ enabled: false, state: 'stopped' })), resource('Service', b, on({ ensure: 'absent' }))]));
      assert.deepEqual(first.map((c) => `${c.id} ${c.actions}`), [`${a} update`, `${b} delete`]);
      assert.deepEqual(await svc(a), { enabled: false, running: false });
      assert.equal(await svc(b), undefined);
      const back = await converge(fx, ex([resource('Service', b, on({ enabled: false, state: 'stopped' }))]));
      assert.deepEqual(back.map((c) => `${c.id} ${c.actions}`), [`${b} create`]);
      assert.deepEqual(await svc(b), { enabled: false, running: false });
      const up = await converge(fx, ex([resource('Service', a, on({ enabled: true, state: 'running' })), resource('Service', b, on({ enabled: true, state: 'running' }))]));
      assert.deepEqual(up.map((c) => `${c.id} ${c.actions}`), [`${a} update`, `${b} update`]);
      assert.deepEqual(await svc(a), { enabled: true, running: true });
      assert.deepEqual(await svc(b), { enabled: true, running: true });
      await assert.rejects(converge(fx, ex([resource('Service', 'NoSuchSvc', on({ state: 'running' }))])), OS.missingServiceError('NoSuchSvc'));
    });

    it('reports a dropped connection as a DriverError', async function () {
      if (!fx.dropAfter) this.skip();
      const desired = ex(files());
      const r = await fx.driver.connectReader(fx.target);
      fx.dropAfter!(0);
      try {
        await assert.rejects(r.read(readRequest(desired)), (e: Error) => e instanceof DriverError && (OS.droppedCode === undefined || e.opts.code === OS.droppedCode));
      } finally {
        fx.dropAfter!(undefined);
        await r.close();
      }
    });

    it('deletes what is declared absent (directories only when empty)', async () => {
      await assert.rejects(converge(fx, ex([resource('Directory', 'sub', on({ path: J('sub'), ensure: 'absent' }))])), /not empty/);
      assert.equal((await fx.host.stat(J('sub')))?.type, 'dir');
      const desired = ex([
        resource('File', 'owned', on({ path: J('owned.txt'), ensure: 'absent' })),
        resource('File', 'empty', on({ path: J('sub', 'empty'), ensure: 'absent' })),
        resource('File', 'spaces', on({ path: J('sub', OS.oddFileName), ensure: 'absent' })),
        resource('Directory', 'sub', on({ path: J('sub'), ensure: 'absent' })),
        resource('Directory', 'nested', on({ path: J('a', 'b'), ensure: 'absent' })),
        resource('User', `${P}alice`, on({ ensure: 'absent' })),
        resource('Group', `${P}staff`, on({ ensure: 'absent' })),
        resource('Group', `${P}web`, on({ ensure: 'absent' })),
        resource('Group', `${P}gidtest`, on({ ensure: 'absent' })),
      ]);
      const changes = await converge(fx, desired);
      assert.equal(changes.length, 9);
      assert.ok(changes.every((c) => c.actions.join() === 'delete'));
      assert.equal(await fx.host.stat(J('owned.txt')), undefined);
      assert.equal(await fx.host.stat(J('sub')), undefined);
      assert.equal(await fx.host.stat(J('a', 'b')), undefined);
      assert.equal(await fx.host.user(`${P}alice`), undefined);
      assert.equal(await fx.host.group(`${P}staff`), undefined);
      assert.deepEqual(await planOnly(fx, desired), []);
    });
  });
}
