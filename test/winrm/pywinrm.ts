/**
 * Runs ./pywinrm-client.py (pywinrm, the independent WinRM client) with
 * Debian's /usr/bin/python3, which has python3-winrm; pyenv's `python3` on
 * PATH does not. Asynchronous on purpose: the simulator it talks to runs in
 * this process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../engine/paths.js';

export const SYSTEM_PYTHON = '/usr/bin/python3';
const CLIENT = join(packageRoot, 'test/winrm/pywinrm-client.py');

/** Why pywinrm cannot run here, or null when it can. */
export function pywinrmMissing(): string | null {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found (install Debian's python3-winrm)`;
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import winrm, requests_ntlm, cryptography'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${SYSTEM_PYTHON} cannot import winrm (install Debian's python3-winrm): ${r.stderr.trim().split('\n').pop()}`;
}

export interface PywinrmJob {
  endpoint: string;
  user: string;
  password: string;
  caFile?: string;
  sendCbt?: boolean;
  messageEncryption?: 'auto' | 'always' | 'never';
  commands: { command: string; args?: string[]; stdin?: string }[];
}

export type PywinrmResult = { error: string } | { encrypted: boolean; results: { stdout: string; stderr: string; exitCode: number }[] };

export function runPywinrm(job: PywinrmJob, timeoutMs = 60_000): Promise<PywinrmResult> {
  return new Promise((resolve, reject) => {
    // loopback only: no proxy from the environment may sit in between
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_PROXY: '*', no_proxy: '*' };
    const child = spawn(SYSTEM_PYTHON, [CLIENT], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out) as PywinrmResult);
      } catch {
        reject(new Error(`pywinrm client exited ${code}: ${err.slice(-2000) || out}`));
      }
    });
    child.stdin.end(JSON.stringify(job));
  });
}
