/**
 * The ssh driver against a real OpenSSH sshd on 127.0.0.1 (started by the
 * harness). Files only under a temp dir, users and groups only with the
 * `ektest_` prefix; everything is removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sshDriver } from '../../providers/servers/linux/driver.js';
import { requireSshd, startSshd } from '../support/sshd.js';
import { serverConformance, LINUX, SERVER, TARGET_ADDRESS, type HostAccess, type TargetFixture } from './conformance.js';

// A per-run tag, so that two test runs on one machine never touch each other's accounts.
const TAG = randomBytes(3).toString('hex');
const PREFIX = `ektest_${TAG}_`;
const ID_BASE = 30000 + (parseInt(TAG, 16) % 3000) * 10;

function getent(db: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    return execFileSync('getent', [db, key], { encoding: 'utf8' }).trim().split(':');
  } catch {
    return undefined;
  }
}

function removeTestAccounts(): void {
  const names = (db: string) =>
    readFileSync(`/etc/${db}`, 'utf8')
      .split('\n')
      .map((l) => l.split(':')[0])
      .filter((n) => n.startsWith(PREFIX));
  for (const u of names('passwd')) execFileSync('userdel', [u], { stdio: 'ignore' });
  for (const g of names('group')) execFileSync('groupdel', [g], { stdio: 'ignore' });
}

const host: HostAccess = {
  async readFile(p) {
    return existsSync(p) ? readFileSync(p) : undefined;
  },
  async writeFile(p, d) {
    writeFileSync(p, d);
  },
  async chmod(p, m) {
    chmodSync(p, m);
  },
  async stat(p) {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return undefined;
    }
    const name = (db: 'passwd' | 'group', id: number) => getent(db, String(id))?.[0] ?? String(id);
    return {
      mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
      owner: name('passwd', st.uid),
      group: name('group', st.gid),
      type: st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file',
    };
  },
  async symlink(target, p) {
    symlinkSync(target, p);
  },
  async listDir(p) {
    return readdirSync(p);
  },
  async user(n) {
    const e = getent('passwd', n);
    if (!e) return undefined;
    const groups = execFileSync('id', ['-Gn', n], { encoding: 'utf8' }).trim().split(' ');
    return { uid: Number(e[2]), comment: e[4], shell: e[6], groups };
  },
  async group(n) {
    const e = getent('group', n);
    return e ? { gid: Number(e[2]), members: e[3] ? e[3].split(',') : [] } : undefined;
  },
};

// Files and directories are read over SFTP by default (no command, no login shell) and by the read script with
// sftpReads: false (or where SFTP cannot answer exactly): the real sshd checks both paths.
const sshdFixture = (sftpReads: boolean) => async (ctx: Mocha.Context): Promise<TargetFixture> => {
  requireSshd(ctx);
  removeTestAccounts();
  const sshd = await startSshd();
  const base = mkdtempSync(join(tmpdir(), 'einklang-conf-'));
  return {
    driver: sshDriver,
    target: {
      address: TARGET_ADDRESS,
      kind: 'Server',
      name: SERVER,
      zone: 'school',
      spec: { os: 'linux' },
      connection: { driver: 'ssh', host: '127.0.0.1', port: sshd.port, user: 'root', privateKeyFile: sshd.privateKeyFile, hostKeyFingerprint: sshd.hostKeyFingerprint, sftpReads },
    },
    os: LINUX,
    base,
    prefix: PREFIX,
    idBase: ID_BASE,
    host,
    packages: false,
    async cleanup() {
      removeTestAccounts();
      rmSync(base, { recursive: true, force: true });
      await sshd.stop();
    },
  };
};

serverConformance('ssh driver against real OpenSSH sshd (reads over SFTP)', sshdFixture(true));
serverConformance('ssh driver against real OpenSSH sshd (reads by the read script)', sshdFixture(false));
