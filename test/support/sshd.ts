/**
 * Test harness: a real OpenSSH sshd on a free 127.0.0.1 port, with a host key
 * and a client key generated into a temp dir. Root login with that key only.
 *
 * If /usr/sbin/sshd is missing, `sshdAvailable()` says why, and suites skip,
 * except in CI (CI=true) where a missing sshd is a failure.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SSHD = process.env.EINKLANG_SSHD ?? '/usr/sbin/sshd';

export interface RunningSshd {
  port: number;
  hostKeyFingerprint: string;
  privateKeyFile: string;
  /** The temp dir with keys and config (removed by stop). */
  dir: string;
  stop(): Promise<void>;
}

/** Why real-sshd tests cannot run here, or null if they can. */
export function sshdUnavailableReason(): string | null {
  if (!existsSync(SSHD)) return `${SSHD} not found (install openssh-server)`;
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'ssh-keygen not found';
  }
  if (process.getuid?.() !== 0) return 'real-sshd tests need root (they log in as root)';
  return null;
}

/**
 * Call in a mocha `before`: skips the suite with a clear message when sshd is
 * unavailable, but fails in CI.
 */
export function requireSshd(ctx: Mocha.Context): void {
  const why = sshdUnavailableReason();
  if (!why) return;
  if (process.env.CI === 'true') throw new Error(`real sshd required in CI: ${why}`);
  console.warn(`    (skipping real-sshd tests: ${why})`);
  ctx.skip();
}

/**
 * An environment `real` (zone administration) with a Server `host` on this
 * sshd, as manifest files for writeTree. The client key stays in sshd's temp
 * dir: runs need `--keys-dir <sshd.dir>`.
 */
export function sshdEnvironment(sshd: RunningSshd): Record<string, string> {
  return {
    'envs/real/environment.yaml': 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: real }\nspec: { zone: administration }\n',
    'envs/real/server.yaml': `apiVersion: einklang/v1
kind: Server
metadata: { name: host }
spec:
  os: linux
  connection: { driver: ssh, host: 127.0.0.1, port: ${sshd.port}, user: root, privateKeyFile: ${JSON.stringify(sshd.privateKeyFile)}, hostKeyFingerprint: "${sshd.hostKeyFingerprint}" }
`,
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'einklang-test', '-f', file], { stdio: 'ignore' });
}

export async function startSshd(): Promise<RunningSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'einklang-sshd-'));
  keygen(join(dir, 'host_ed25519'));
  keygen(join(dir, 'id_ed25519'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id_ed25519.pub')));
  const fp = execFileSync('ssh-keygen', ['-lf', join(dir, 'host_ed25519.pub')], { encoding: 'utf8' }).split(' ')[1];
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const cfg = join(dir, 'sshd_config');
    writeFileSync(
      cfg,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_ed25519')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin yes',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'StrictModes no',
        'UsePAM no',
        'MaxSessions 20',
        'Subsystem sftp internal-sftp',
        'LogLevel INFO',
        '',
      ].join('\n'),
    );
    const child = spawn(SSHD, ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    const ok = await waitListening(child);
    if (ok === true) {
      return {
        port,
        hostKeyFingerprint: fp,
        privateKeyFile: join(dir, 'id_ed25519'),
        dir,
        stop: () => stopChild(child).then(() => rmSync(dir, { recursive: true, force: true })),
      };
    }
    await stopChild(child);
    if (attempt >= 3) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start: ${ok}`);
    }
  }
}

function waitListening(child: ChildProcess): Promise<true | string> {
  return new Promise((resolve) => {
    let log = '';
    const timer = setTimeout(() => resolve(`timeout; log: ${log}`), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (/Server listening on 127\.0\.0\.1/.test(log)) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(`exited with ${code}: ${log}`);
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}
