/**
 * `npm run bench`: performance numbers, printed (never asserted in tests).
 * Ratios are against a baseline measured in the same run. Everything binds to
 * 127.0.0.1 only; nothing goes to the network.
 *
 *   npm run bench -- [--case ssh|network|winrm|policies|all] [options]
 *
 * Cases:
 *   ssh       N real sshd hosts x M files: einklang plan vs ansible-playbook
 *             --check --diff on the same hosts, apply, no-op re-plan (bench/ssh.ts)
 *   network   simulated switches x 48 ports (bench/network.ts, benchNetworkSimulators)
 *   winrm     simulated Windows hosts x 20 resources: plan, apply, no-op plan
 *             (simulators from bench/winrm.ts, benchWinrmSimulators)
 *   policies  built-in policies over generated resources (bench/policies.ts, benchPolicies)
 *   kit       the provider kit's HTTPS client, paging, JSON-RPC and budget on its simulator (bench/kit.ts)
 *   snipeit   500 license pools on a lab Snipe-IT: plan, apply under its throttle, seat policies (bench/snipeit.ts)
 *   opnsense  simulated OPNsense firewalls: plan, apply, no-op plan, requests per read, lockout recovery (bench/opnsense.ts)
 *   intune    one Intune tenant, 95 schools, 20 000 devices: first and no-op plans over Graph (bench/intune.ts)
 *   opsi      95 schools x 300 clients x 25 products against one simulated opsi server (bench/opsi.ts)
 * The last three are wired in bench/cases.ts; a case whose module is not
 * there (yet) is reported as not available.
 */
import { parseArgs } from 'node:util';
import { packageRoot } from '../engine/paths.js';
import { benchSsh } from './ssh.js';
import { benchKit } from './kit.js';
import { benchSnipeit } from './snipeit.js';
import { benchOpnsense } from './opnsense.js';
import { benchIntune } from './intune.js';
import { benchOpsi } from './opsi.js';
import { networkCase, policiesCase, winrmCase } from './cases.js';
import { cleanupAll, installCleanupHandlers, printReport, type BenchReport } from './harness.js';

const HELP = `npm run bench -- [options]

  --case NAME        ssh | network | winrm | policies | kit | snipeit | opnsense | intune | opsi | all (default all)
  --hosts N          ssh: sshd hosts (default 10)
  --files N          ssh: File resources per host (default 10)
  --runs N           einklang runs per measurement, median reported (default 5)
  --no-ansible       ssh: skip the Ansible baseline (it takes about two minutes)
  --switches N       network: simulated switches (default 200)
  --winrm-hosts N    winrm: simulated Windows hosts (default 50)
  --winrm-transport T  winrm: https (default; pinned certificate) or http (NTLM-sealed messages)
  --resources N      policies: generated resources (default 200000)
  --firewalls N      opnsense: simulated firewalls (default 95, one per school)
  --fw-rules N       opnsense: rules per firewall (default 20)
  --fw-window S      opnsense: the lockout case's rollback window in seconds (default 5; the real one is 60)
  --schools N        opsi: school environments (default 95)
  --clients N        opsi: clients per school (default 300)
`;

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'all' },
    hosts: { type: 'string', default: '10' },
    files: { type: 'string', default: '10' },
    runs: { type: 'string', default: '5' },
    'no-ansible': { type: 'boolean', default: false },
    switches: { type: 'string', default: '200' },
    'winrm-hosts': { type: 'string', default: '50' },
    'winrm-transport': { type: 'string', default: 'https' },
    resources: { type: 'string', default: '200000' },
    firewalls: { type: 'string', default: '95' },
    'fw-rules': { type: 'string', default: '20' },
    'fw-window': { type: 'string', default: '5' },
    schools: { type: 'string', default: '95' },
    clients: { type: 'string', default: '300' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

function int(name: keyof typeof values): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`bench: --${name} must be a positive integer\n`);
    process.exit(1);
  }
  return n;
}

const CASES: Record<string, () => Promise<BenchReport>> = {
  ssh: () => benchSsh({ hosts: int('hosts'), files: int('files'), runs: int('runs'), ansible: !values['no-ansible'] }),
  network: () => networkCase(int('switches'), int('runs')),
  winrm: () => {
    const transport = values['winrm-transport'];
    if (transport !== 'http' && transport !== 'https') throw new Error('--winrm-transport must be http or https');
    return winrmCase(int('winrm-hosts'), int('runs'), transport);
  },
  policies: () => policiesCase(int('resources')),
  kit: () => benchKit(int('runs')),
  snipeit: () => benchSnipeit(int('runs')),
  opnsense: () => benchOpnsense(int('firewalls'), int('fw-rules'), int('runs'), int('fw-window')),
  intune: () => benchIntune(int('runs')),
  opsi: () => benchOpsi({ schools: int('schools'), clients: int('clients'), runs: int('runs') }),
};

async function main(): Promise<number> {
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const names = values.case === 'all' ? Object.keys(CASES) : [values.case!];
  const unknown = names.filter((n) => !CASES[n]);
  if (unknown.length) {
    process.stderr.write(`bench: unknown case ${unknown.join(', ')}\n\n${HELP}`);
    return 1;
  }
  process.chdir(packageRoot);
  installCleanupHandlers();
  let failed = 0;
  for (const name of names) {
    try {
      printReport(await CASES[name]());
    } catch (e) {
      failed++;
      process.stdout.write(`\n== case ${name}: FAILED\n   ${(e as Error).message.replace(/\n/g, '\n   ')}\n`);
    } finally {
      // Each case leaves nothing running for the next one.
      await cleanupAll();
    }
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (e) => {
    process.stderr.write(`bench: ${(e as Error)?.stack ?? e}\n`);
    await cleanupAll();
    process.exit(1);
  },
);
