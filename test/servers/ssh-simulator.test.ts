/** The ssh driver against the lab's simulated Linux host (same conformance suite as real sshd). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519FromSeed, openSshPrivateKey } from '../../providers/lab/identity.js';
import { sshDriver } from '../../providers/servers/linux/driver.js';
import { labHostKeyFingerprint, startLinuxSimulator } from '../../providers/servers/linux/simulator/server.js';
import { LinuxHostModel } from '../../providers/servers/linux/simulator/model.js';
import type { TargetSpec } from '../../engine/types.js';
import { serverConformance, LINUX, SERVER, TARGET_ADDRESS, type HostAccess } from './conformance.js';

export function simulatorHostAccess(model: LinuxHostModel): HostAccess {
  return {
    async readFile(p) {
      return model.readFile(p);
    },
    async writeFile(p, d) {
      const old = model.files.get(p);
      model.writeFile(p, d, old ? { mode: old.mode, uid: old.uid, gid: old.gid } : {});
    },
    async chmod(p, m) {
      model.files.get(p)!.mode = m;
    },
    async stat(p) {
      const n = model.files.get(p);
      if (!n) return undefined;
      const name = (s: string, id: number) => (s === 'UNKNOWN' ? String(id) : s);
      return { mode: n.mode.toString(8).padStart(4, '0'), owner: name(model.userName(n.uid), n.uid), group: name(model.groupName(n.gid), n.gid), type: n.type };
    },
    async symlink(target, p) {
      model.symlink(target, p);
    },
    async listDir(p) {
      return [...model.files.keys()].filter((k) => k.startsWith(p + '/') && !k.slice(p.length + 1).includes('/')).map((k) => k.slice(p.length + 1));
    },
    async user(n) {
      const u = model.users.get(n);
      if (!u) return undefined;
      const primary = model.groupName(u.gid);
      const groups = [primary, ...[...model.groups].filter(([g, x]) => x.members.includes(n) && g !== primary).map(([g]) => g)];
      return { uid: u.uid, comment: u.comment, shell: u.shell, groups };
    },
    async group(n) {
      const g = model.groups.get(n);
      return g ? { gid: g.gid, members: [...g.members] } : undefined;
    },
    async service(n) {
      const s = model.services.get(n.includes('.') ? n : `${n}.service`);
      // masked is what ensure: absent makes of a unit
      return !s || (s.masked && !s.active) ? undefined : { enabled: s.enabled && !s.masked, running: s.active };
    },
  };
}

serverConformance('ssh driver against the lab simulator', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'einklang-sim-'));
  const keyFile = join(dir, 'id_ed25519');
  writeFileSync(keyFile, openSshPrivateKey(ed25519FromSeed('conformance-client')), { mode: 0o600 });
  const target: TargetSpec = {
    address: TARGET_ADDRESS,
    kind: 'Server',
    name: SERVER,
    zone: 'school',
    spec: { os: 'linux' },
    connection: { driver: 'ssh', host: '127.0.0.1', port: 0, user: 'root', privateKeyFile: keyFile, hostKeyFingerprint: labHostKeyFingerprint(TARGET_ADDRESS) },
  };
  const model = new LinuxHostModel();
  model.files.set('/srv/ektest', { type: 'dir', data: Buffer.alloc(0), mode: 0o755, uid: 0, gid: 0 });
  const sim = await startLinuxSimulator(target, { model, port: 0 });
  target.connection.port = sim.port;
  return {
    driver: sshDriver,
    target,
    os: LINUX,
    base: '/srv/ektest',
    prefix: 'ektest_',
    idBase: 29100,
    host: simulatorHostAccess(model),
    packages: true,
    services: { a: 'cron', b: 'ssh' },
    existingGroup: 'users',
    commandCount: () => model.commands,
    requestCount: () => model.requests,
    authAttempts: () => model.authAttempts,
    setFailWrites: (on) => (model.faults.failWrites = on),
    dropAfter: (n) => (model.faults.dropAfterRequests = n === undefined ? undefined : model.requests + n),
    async cleanup() {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
