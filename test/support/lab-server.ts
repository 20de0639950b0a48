/**
 * One environment with one Linux server (`server`), served by the lab's
 * simulated host on a free loopback port, for tests through the real CLI.
 * The client key lives inside the repository (`envs/keys/id`), where local
 * paths must resolve.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519FromRawSeed, openSshPrivateKey } from '../../providers/lab/identity.js';
import { labHostKeyFingerprint, startLinuxSimulator, type RunningLinuxSimulator } from '../../providers/servers/linux/simulator/server.js';
import { freePort } from './sshd.js';
import { writeTree } from './cli.js';

export interface LabServer {
  /** The temp folder (the repository). */
  root: string;
  /** The environment folder. */
  env: string;
  /** Where a test may write its plan. */
  planFile: string;
  sim: RunningLinuxSimulator;
}

export async function startLabServer(opts: { env?: string; zone?: 'school' | 'administration'; environmentSpec?: string; manifests?: string } = {}): Promise<LabServer> {
  const name = opts.env ?? 'schule-a';
  const zone = opts.zone ?? 'school';
  const port = await freePort();
  const root = writeTree({
    'envs/keys/id': openSshPrivateKey(ed25519FromRawSeed(randomBytes(32))),
    [`envs/${name}/environment.yaml`]: `apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: ${name} }\nspec: { zone: ${zone}${opts.environmentSpec ? `, ${opts.environmentSpec}` : ''} }\n`,
    [`envs/${name}/server.yaml`]: `apiVersion: einklang/v1
kind: Server
metadata: { name: server }
spec:
  os: linux
  connection: { driver: ssh, host: 127.0.0.1, port: ${port}, user: root, privateKeyFile: ../keys/id, hostKeyFingerprint: "${labHostKeyFingerprint(`${name}/Server/server`)}" }
${opts.manifests ? `---\n${opts.manifests}` : ''}`,
  });
  const keyFile = join(root, 'envs/keys/id');
  chmodSync(keyFile, 0o600);
  const sim = await startLinuxSimulator({ address: `${name}/Server/server`, kind: 'Server', name: 'server', zone, spec: {}, connection: { host: '127.0.0.1', port, user: 'root', privateKeyFile: keyFile } });
  return { root, env: join(root, 'envs', name), planFile: join(root, 'plan.json'), sim };
}
