/**
 * The quickstart's approval step: two demo reviewers sign each plan. Their
 * key pairs are derived from public seeds (see
 * environments/demo-city/profiles/reviewers), which is fine for a demo and
 * nothing else.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519FromSeed } from '../providers/lab/identity.js';

const SIGNERS: Record<string, string[]> = { administration: ['anna', 'clara'], school: ['anna', 'ben'] };

/** CLI argument lists for `einklang approve`, one per reviewer of the zone. */
export function prepareDemoApprovals(planFile: string, workDir: string, zone: string): string[][] {
  const dir = join(workDir, 'reviewer-keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return (SIGNERS[zone] ?? []).map((name) => {
    const keyFile = join(dir, `${name}.key`);
    writeFileSync(keyFile, ed25519FromSeed(`demo-reviewer:${name}`).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
    return ['approve', planFile, '--key', keyFile];
  });
}
