/**
 * Conformance suite for server drivers (File, Directory, User, Group;
 * Package and Service where the target supports them). One suite, run
 * against every target factory: real OpenSSH sshd and the lab simulator.
 *
 * Desired objects come from the kinds' own validate/expand, changes are
 * built the way the engine's plan stage builds them (diffObject on the
 * normalised states), and every apply is followed by a read that must show
 * no difference.
 */
import assert from 'node:assert/strict';
import type { Change, DesiredObject, Driver, ReadResult, Resource, TargetSpec, TargetWriter } from '../../engine/types.js';
import { DriverError, objectKey } from '../../engine/types.js';
import { liveFingerprint } from '../../engine/hash.js';
import { changeFor } from '../../engine/plan.js';
import { Secrets } from '../../engine/secrets.js';
import { kindDef } from '../../providers/registry.js';

export const ENV = 'conf';
export const SERVER = 'host';
export const TARGET_ADDRESS = `${ENV}/Server/${SERVER}`;

/** Out-of-band access to the host, to check results and cause drift by hand. */
export interface HostAccess {
  readFile(path: string): Promise<Buffer | undefined>;
  writeFile(path: string, data: Buffer | string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  /** mode as 4 octal digits, owner and group names; undefined if missing. */
  stat(path: string): Promise<{ mode: string; owner: string; group: string; type: 'file' | 'dir' } | undefined>;
  listDir(path: string): Promise<string[]>;
  user(name: string): Promise<{ uid: number; shell: string; comment: string; groups: string[] } | undefined>;
  group(name: string): Promise<{ gid: number; members: string[] } | undefined>;
}

export interface TargetFixture {
  driver: Driver;
  target: TargetSpec;
  /** An existing, empty directory on the host that the suite may fill. */
  base: string;
  /** Prefix for user and group names (`ektest_`, plus a per-run tag where runs may overlap). */
  prefix: string;
  /** First of ten free uid/gid numbers the suite may use. */
  idBase: number;
  host: HostAccess;
  /** Can install packages and manage systemd services (the simulator). */
  packagesAndServices: boolean;
  /** Count of requests the host has served so far, if it can tell (the simulator). */
  requestCount?(): number;
  /** Authentication attempts the host has seen so far, if it can tell (the simulator). */
  authAttempts?(): number;
  /** Make the next SFTP writes fail (simulator fault injection), if supported. */
  setFailWrites?(on: boolean): void;
  /** Drop the connection after N more requests, if supported. */
  dropAfter?(n: number | undefined): void;
  cleanup(): Promise<void>;
}

// ------------------------------------------------------------- helpers

export function resource(kind: string, name: string, spec: Record<string, unknown>): Resource {
  return {
    address: `${ENV}/${kind}/${name}`,
    env: ENV,
    zone: 'school',
    apiVersion: 'einklang/v1',
    kind,
    name,
    labels: {},
    spec,
    pos: { file: `${ENV}/servers.yaml`, line: 1, col: 1 },
    positions: {},
    dir: ENV,
  };
}

export function serverResource(os: 'linux' | 'windows' = 'linux'): Resource {
  return resource('Server', SERVER, { os, connection: { driver: os === 'linux' ? 'ssh' : 'winrm', host: '127.0.0.1' } });
}

/** validate (must be clean) + expand a set of object resources, plus their Server, like the engine does. Usable by every server driver's tests. */
export function expand(resources: Resource[], server: Resource = serverResource()): DesiredObject[] {
  const all = [server, ...resources];
  const byAddress = new Map(all.map((r) => [r.address, r]));
  const ctx = { byAddress, resources: all, lookup: (kind: string, name: string) => byAddress.get(`${ENV}/${kind}/${name}`) };
  const out: DesiredObject[] = [];
  for (const r of resources) {
    const def = kindDef(r.kind)!;
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
    const c = changeFor(o, o.state, live, noSecrets);
    if (c) changes.push(c);
  }
  return changes;
}

function readRequest(desired: DesiredObject[]) {
  return desired.map((o) => ({ kind: o.kind, id: o.id, state: o.state }));
}

async function withWriter<T>(fx: TargetFixture, fn: (w: TargetWriter) => Promise<T>): Promise<T> {
  const w = await fx.driver.connectWriter(fx.target, { timeoutMs: 20_000 });
  try {
    return await fn(w);
  } finally {
    await w.close();
  }
}

/** Plan, apply in the given order (deletes first), then re-read: must have converged. Returns the changes applied. */
async function converge(fx: TargetFixture, desired: DesiredObject[]): Promise<Change[]> {
  return withWriter(fx, async (w) => {
    const changes = planChanges(desired, await w.read(readRequest(desired)));
    const creates = changes.filter((c) => !(c.actions.length === 1 && c.actions[0] === 'delete'));
    const deletes = changes.filter((c) => c.actions.length === 1 && c.actions[0] === 'delete');
    for (const c of [...deletes, ...creates]) await w.applyChange!(c);
    const again = planChanges(desired, await w.read(readRequest(desired)));
    assert.deepEqual(
      again.map((c) => ({ address: c.address, actions: c.actions, diff: c.diff })),
      [],
      'a re-plan right after apply shows no changes',
    );
    return changes;
  });
}

async function planOnly(fx: TargetFixture, desired: DesiredObject[]): Promise<Change[]> {
  const r = await fx.driver.connectReader(fx.target, { timeoutMs: 20_000 });
  try {
    return planChanges(desired, await r.read(readRequest(desired)));
  } finally {
    await r.close();
  }
}

const TRICKY_TEXT = `He said "hi" and 'bye'; echo $HOME \`id\` $(whoami) \${PATH}\n\\n is not a newline, tab:\there\r\nümlaut 😀\nlast line without newline`;
const BINARY = Buffer.from([0, 1, 2, 0xff, 0xfe, 0, 10, 0x24, 0x28, 0x60, 0x0d, 0]);

// ---------------------------------------------------------------- suite

export function serverConformance(title: string, factory: (ctx: Mocha.Context) => Promise<TargetFixture>): void {
  describe(`server driver conformance: ${title}`, function () {
    this.timeout(30_000);
    let fx: TargetFixture;
    let P: string; // user/group prefix
    let B: string; // base dir
    let ID: number; // uid/gid base

    before(async function () {
      fx = await factory(this);
      P = fx.prefix;
      B = fx.base;
      ID = fx.idBase;
    });
    after(async () => {
      await fx?.cleanup();
    });

    const files = () => [
      resource('Directory', 'sub', { server: SERVER, path: `${B}/sub`, mode: '750' }),
      resource('File', 'tricky', { server: SERVER, path: `${B}/tricky.txt`, content: TRICKY_TEXT, mode: '0640' }),
      resource('File', 'binary', { server: SERVER, path: `${B}/binary.dat`, contentBase64: BINARY.toString('base64'), mode: '600' }),
      resource('File', 'empty', { server: SERVER, path: `${B}/sub/empty`, content: '' }),
      resource('File', 'spaces', { server: SERVER, path: `${B}/sub/with space's "q".txt`, content: 'x\n', mode: '0644' }),
    ];

    it('plans creates, applies them byte for byte, and converges', async () => {
      const desired = expand(files());
      const changes = await converge(fx, desired);
      assert.deepEqual(
        changes.map((c) => [c.kind, c.id.slice(B.length), c.actions.join()]),
        [
          ['Directory', '/sub', 'create'],
          ['File', '/tricky.txt', 'create'],
          ['File', '/binary.dat', 'create'],
          ['File', '/sub/empty', 'create'],
          ['File', `/sub/with space's "q".txt`, 'create'],
        ],
      );
      assert.equal((await fx.host.readFile(`${B}/tricky.txt`))!.toString('utf8'), TRICKY_TEXT);
      assert.deepEqual(await fx.host.readFile(`${B}/binary.dat`), BINARY);
      assert.equal((await fx.host.readFile(`${B}/sub/empty`))!.length, 0);
      assert.equal((await fx.host.stat(`${B}/tricky.txt`))!.mode, '0640');
      assert.equal((await fx.host.stat(`${B}/binary.dat`))!.mode, '0600');
      assert.equal((await fx.host.stat(`${B}/sub`))!.mode, '0750');
      assert.equal((await fx.host.stat(`${B}/sub`))!.type, 'dir');
      assert.deepEqual((await fx.host.listDir(B)).filter((n) => n.includes('einklang')), [], 'no temporary files left');
    });

    it('treats content and contentBase64 of the same bytes as equal', async () => {
      const same = expand([
        resource('File', 'tricky', { server: SERVER, path: `${B}/tricky.txt`, contentBase64: Buffer.from(TRICKY_TEXT).toString('base64'), mode: '640' }),
      ]);
      assert.deepEqual(await planOnly(fx, same), []);
    });

    it('reads all objects of a server in one round trip', async function () {
      if (!fx.requestCount) this.skip();
      const desired = expand(files());
      const r = await fx.driver.connectReader(fx.target);
      try {
        const before = fx.requestCount!();
        const res = await r.read(readRequest(desired));
        assert.equal(fx.requestCount!() - before, 1);
        assert.equal(Object.keys(res.objects).length, desired.length);
      } finally {
        await r.close();
      }
    });

    it('creates groups and users, and files owned by them', async () => {
      const desired = expand([
        resource('Group', `${P}staff`, { server: SERVER, gid: ID + 1 }),
        resource('Group', `${P}web`, { server: SERVER }),
        resource('Group', `${P}gidtest`, { server: SERVER, gid: ID + 3 }),
        resource('User', `${P}alice`, { server: SERVER, uid: ID + 5, groups: [`${P}web`, `${P}staff`], shell: '/bin/sh', home: `${B}/alice`, comment: 'Alice Test' }),
        resource('File', 'owned', { server: SERVER, path: `${B}/owned.txt`, content: 'mine\n', owner: `${P}alice`, group: `${P}staff`, mode: '0664' }),
      ]);
      // ordering comes from expand's dependsOn: the user depends on its groups, the file on both
      const file = desired.find((o) => o.kind === 'File')!;
      assert.ok(file.dependsOn.includes(`${ENV}/User/${P}alice`) && file.dependsOn.includes(`${ENV}/Group/${P}staff`));
      await converge(fx, desired);
      const u = await fx.host.user(`${P}alice`);
      assert.equal(u?.uid, ID + 5);
      assert.equal(u?.shell, '/bin/sh');
      assert.equal(u?.comment, 'Alice Test');
      assert.deepEqual(u?.groups.filter((g) => g !== `${P}alice`).sort(), [`${P}staff`, `${P}web`]);
      assert.equal((await fx.host.group(`${P}staff`))?.gid, ID + 1);
      assert.deepEqual(await fx.host.stat(`${B}/owned.txt`), { mode: '0664', owner: `${P}alice`, group: `${P}staff`, type: 'file' });
    });

    it('updates content, mode, membership and attributes, keeping unmanaged fields', async () => {
      const desired = expand([
        resource('Group', `${P}gidtest`, { server: SERVER, gid: ID + 4 }),
        resource('Group', `${P}web`, { server: SERVER, members: [] }),
        resource('User', `${P}alice`, { server: SERVER, groups: [`${P}staff`], comment: 'Alice Changed' }),
        resource('File', 'owned', { server: SERVER, path: `${B}/owned.txt`, content: 'changed\n', mode: '600' }),
        resource('File', 'tricky', { server: SERVER, path: `${B}/tricky.txt`, content: TRICKY_TEXT, mode: '0644' }),
      ]);
      const changes = await converge(fx, desired);
      assert.deepEqual(changes.map((c) => c.actions.join()), ['update', 'update', 'update', 'update', 'update']);
      assert.deepEqual(
        changes.find((c) => c.id === `${B}/owned.txt`)!.diff.map((d) => d.path),
        ['/content', '/mode'],
      );
      const st = await fx.host.stat(`${B}/owned.txt`);
      assert.deepEqual(st, { mode: '0600', owner: `${P}alice`, group: `${P}staff`, type: 'file' }, 'owner and group kept when not managed');
      assert.equal((await fx.host.readFile(`${B}/owned.txt`))!.toString(), 'changed\n');
      assert.equal((await fx.host.group(`${P}gidtest`))?.gid, ID + 4);
      assert.deepEqual((await fx.host.group(`${P}web`))?.members, []);
      const u = await fx.host.user(`${P}alice`);
      assert.equal(u?.comment, 'Alice Changed');
      assert.equal(u?.uid, ID + 5, 'uid kept');
      assert.ok(!u?.groups.includes(`${P}web`), 'removed from groups not listed');
    });

    it('detects drift made by hand on the host', async () => {
      const desired = expand([resource('File', 'tricky', { server: SERVER, path: `${B}/tricky.txt`, content: TRICKY_TEXT, mode: '0644' })]);
      assert.deepEqual(await planOnly(fx, desired), []);
      await fx.host.writeFile(`${B}/tricky.txt`, 'edited by hand\n');
      await fx.host.chmod(`${B}/tricky.txt`, 0o666);
      const [c] = await planOnly(fx, desired);
      assert.deepEqual(c.actions, ['update']);
      assert.deepEqual(c.diff.map((d) => d.path), ['/content', '/mode']);
      assert.equal(c.diff[0].before, 'edited by hand\n');
      assert.equal(c.diff[0].after, TRICKY_TEXT);
      await converge(fx, desired);
    });

    it('refuses a host key that does not match the pin, before sending anything', async () => {
      const before = fx.requestCount?.();
      const logins = fx.authAttempts?.();
      const wrong = { ...fx.target, connection: { ...fx.target.connection, hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43) } };
      await assert.rejects(fx.driver.connectWriter(wrong), (e: Error) => e instanceof DriverError && /host key mismatch/.test(e.message) && /nothing was sent/.test(e.message));
      const unpinned = { ...fx.target, connection: { ...fx.target.connection, hostKeyFingerprint: undefined } };
      await assert.rejects(fx.driver.connectReader(unpinned), /no hostKeyFingerprint pinned/);
      if (before !== undefined) assert.equal(fx.requestCount!(), before, 'no request reached the host');
      if (logins !== undefined) {
        assert.equal(fx.authAttempts!(), logins, 'no credentials were sent');
        await (await fx.driver.connectReader(fx.target)).close();
        assert.ok(fx.authAttempts!() > logins, 'a pinned connection does authenticate (the counter works)');
      }
    });

    it('keeps the old file when a write fails (atomic write)', async () => {
      await fx.host.writeFile(`${B}/atomic.txt`, 'old content\n');
      // chown to a user that does not exist fails after the temp file was written
      const bad = expand([resource('File', 'atomic', { server: SERVER, path: `${B}/atomic.txt`, content: 'new content\n', owner: `${P}nosuchuser` })]);
      await withWriter(fx, async (w) => {
        const [c] = planChanges(bad, await w.read(readRequest(bad)));
        await assert.rejects(w.applyChange!(c), (e: Error) => e instanceof DriverError && /chown/.test(e.message));
      });
      assert.equal((await fx.host.readFile(`${B}/atomic.txt`))!.toString(), 'old content\n');
      assert.deepEqual((await fx.host.listDir(B)).filter((n) => n.includes('einklang')), [], 'temporary file removed');
    });

    it('keeps the old file when the SFTP write itself fails', async function () {
      if (!fx.setFailWrites) this.skip();
      const desired = expand([resource('File', 'atomic', { server: SERVER, path: `${B}/atomic.txt`, content: 'new content\n' })]);
      fx.setFailWrites!(true);
      try {
        await withWriter(fx, async (w) => {
          const [c] = planChanges(desired, await w.read(readRequest(desired)));
          await assert.rejects(w.applyChange!(c), /old file is unchanged/);
        });
      } finally {
        fx.setFailWrites!(false);
      }
      assert.equal((await fx.host.readFile(`${B}/atomic.txt`))!.toString(), 'old content\n');
      assert.deepEqual((await fx.host.listDir(B)).filter((n) => n.includes('einklang')), []);
    });

    it('refuses unsafe ids at the driver too, without touching the host', async () => {
      const unsafe = [`${B}/x;touch ${B}/pwned`, `${B}/x$(touch ${B}/pwned)`, `${B}/x\`touch ${B}/pwned\``, `${B}/x\ntouch ${B}/pwned`];
      await withWriter(fx, async (w) => {
        for (const path of unsafe) {
          const change: Change = {
            address: `${ENV}/File/evil`,
            resource: `${ENV}/File/evil`,
            kind: 'File',
            target: TARGET_ADDRESS,
            id: path,
            actions: ['create'],
            before: null,
            after: { content: 'evil' },
            diff: [],
            liveFingerprint: liveFingerprint(null),
            dependsOn: [],
          };
          await assert.rejects(w.applyChange!(change), DriverError);
          await assert.rejects(w.read([{ kind: 'File', id: path, state: {} }]), DriverError);
        }
        const user: Change = { address: `${ENV}/User/evil`, resource: `${ENV}/User/evil`, kind: 'User', target: TARGET_ADDRESS, id: `${P}x;id`, actions: ['create'], before: null, after: {}, diff: [], liveFingerprint: '', dependsOn: [] };
        await assert.rejects(w.applyChange!(user), DriverError);
        const group: Change = { ...user, kind: 'Group', id: `${P}g`, after: { members: ['root;id'] } };
        await assert.rejects(w.applyChange!(group), DriverError);
      });
      assert.equal(await fx.host.readFile(`${B}/pwned`), undefined);
      assert.ok(!(await fx.host.listDir(B)).some((n) => n.startsWith('x')));
      assert.equal(await fx.host.group(`${P}g`), undefined);
    });

    it('manages packages and services', async function () {
      if (!fx.packagesAndServices) this.skip();
      const desired = expand([
        resource('Package', 'curl', { server: SERVER, version: '7.88.1-10+deb12u5' }),
        resource('Package', 'nginx', { server: SERVER }),
        resource('Service', 'nginx', { server: SERVER, enabled: false, state: 'stopped' }),
        resource('Service', 'cron', { server: SERVER, ensure: 'absent' }),
      ]);
      const changes = await converge(fx, desired);
      assert.deepEqual(changes.map((c) => `${c.kind} ${c.id} ${c.actions}`), ['Package curl create', 'Package nginx create', 'Service nginx create', 'Service cron delete']);
      const upgrade = expand([resource('Package', 'curl', { server: SERVER, version: '7.88.1-10+deb12u8' }), resource('Service', 'nginx', { server: SERVER, enabled: true, state: 'running' })]);
      assert.deepEqual((await converge(fx, upgrade)).map((c) => c.actions.join()), ['update', 'update']);
      const back = expand([resource('Service', 'cron', { server: SERVER, enabled: true, state: 'running' }), resource('Package', 'curl', { server: SERVER, ensure: 'absent' })]);
      assert.deepEqual((await converge(fx, back)).map((c) => `${c.id} ${c.actions}`), ['cron create', 'curl delete']);
      const missing = expand([resource('Package', 'no-such-package', { server: SERVER })]);
      await assert.rejects(converge(fx, missing), /Unable to locate package/);
    });

    it('reports a dropped connection as a DriverError', async function () {
      if (!fx.dropAfter) this.skip();
      const desired = expand(files());
      const r = await fx.driver.connectReader(fx.target);
      fx.dropAfter!(0);
      try {
        await assert.rejects(r.read(readRequest(desired)), DriverError);
      } finally {
        fx.dropAfter!(undefined);
        await r.close();
      }
    });

    it('deletes what is declared absent', async () => {
      const desired = expand([
        resource('File', 'owned', { server: SERVER, path: `${B}/owned.txt`, ensure: 'absent' }),
        resource('File', 'empty', { server: SERVER, path: `${B}/sub/empty`, ensure: 'absent' }),
        resource('File', 'spaces', { server: SERVER, path: `${B}/sub/with space's "q".txt`, ensure: 'absent' }),
        resource('Directory', 'sub', { server: SERVER, path: `${B}/sub`, ensure: 'absent' }),
        resource('User', `${P}alice`, { server: SERVER, ensure: 'absent' }),
        resource('Group', `${P}staff`, { server: SERVER, ensure: 'absent' }),
        resource('Group', `${P}web`, { server: SERVER, ensure: 'absent' }),
        resource('Group', `${P}gidtest`, { server: SERVER, ensure: 'absent' }),
      ]);
      const changes = await converge(fx, desired);
      assert.equal(changes.length, 8);
      assert.ok(changes.every((c) => c.actions.join() === 'delete'));
      assert.equal(await fx.host.stat(`${B}/owned.txt`), undefined);
      assert.equal(await fx.host.stat(`${B}/sub`), undefined);
      assert.equal(await fx.host.user(`${P}alice`), undefined);
      assert.equal(await fx.host.group(`${P}staff`), undefined);
      assert.deepEqual(await planOnly(fx, desired), []);
    });
  });
}
