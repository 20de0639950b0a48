/**
 * `npm run bench -- --case opsi`: software distribution at the city's scale.
 * One simulated opsi server for the schools (as a city runs it: one config
 * server, one depot) with 95 schools x 300 clients and 25 products, every
 * product installed at its version on every client (712 500 product states);
 * 95 environments, each with its OpsiServer (groupScope: the school's
 * groups), one ClientGroup of 300 clients and 25 SoftwareDeployments from a
 * shared profile. einklang runs as a child process against the simulator in
 * this process:
 *
 *   1. no-op plan of all 95 environments (median of --runs): wall time, peak
 *      RSS, HTTP requests and JSON-RPC calls per environment;
 *   2. the city's release of a new firefox (one line in the profile): plan
 *      (95 changes of 300 clients each), apply, and the no-op re-plan.
 *
 * Numbers are printed, never asserted; the targets are shown as met
 * or missed.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startOpsiSimulator, type RunningOpsiSim } from '../providers/software/opsi/simulator/server.js';
import { deferCleanup, fmtMB, fmtRuns, median, repeatEinklang, runEinklang, tempDir, timingRows, type BenchReport, type Row } from './harness.js';

const USER = 'einklang';
const PASSWORD = 'bench-opsi-password';
const PRODUCTS = 25;

const school = (i: number) => `schule-${String(i + 1).padStart(3, '0')}`;
const client = (s: string, j: number) => `pc-${String(j + 1).padStart(3, '0')}.${s}.schule.local`;
const product = (p: number) => (p === 0 ? 'firefox' : `app-${String(p).padStart(2, '0')}`);

/** The simulated server with every school's clients, group and installed products. */
function seed(sim: RunningOpsiSim, schools: number, clients: number): void {
  const b = sim.backend;
  for (let p = 0; p < PRODUCTS; p++) b.addProduct(product(p), p === 0 ? '128.0.3' : '1.0', '1');
  for (let i = 0; i < schools; i++) {
    const s = school(i);
    const ids = Array.from({ length: clients }, (_, j) => b.addClient(client(s, j)));
    b.call('group_createObjects', [[{ type: 'HostGroup', id: `${s}-pcs` }]]);
    b.call('objectToGroup_createObjects', [ids.map((objectId) => ({ type: 'ObjectToGroup', groupType: 'HostGroup', groupId: `${s}-pcs`, objectId }))]);
    for (let p = 0; p < PRODUCTS; p++) {
      const version = p === 0 ? '128.0.3' : '1.0';
      b.call('productOnClient_createObjects', [ids.map((clientId) => ({ type: 'ProductOnClient', productId: product(p), productType: 'LocalbootProduct', clientId, installationStatus: 'installed', productVersion: version, packageVersion: '1', lastAction: 'setup', actionResult: 'successful' }))]);
    }
  }
}

function writeRepo(root: string, sim: RunningOpsiSim, schools: number, clients: number, firefox: string): void {
  const doc = (kind: string, name: string, spec: Record<string, unknown>) => stringify({ apiVersion: 'einklang/v1', kind, metadata: { name }, spec });
  mkdirSync(join(root, 'profiles/software'), { recursive: true });
  writeFileSync(join(root, 'profiles/software/profile.yaml'), stringify({ apiVersion: 'einklang/v1', kind: 'Profile', metadata: { name: 'software' }, spec: {} }));
  writeDeployments(root, firefox);
  for (let i = 0; i < schools; i++) {
    const s = school(i);
    mkdirSync(join(root, s), { recursive: true });
    writeFileSync(join(root, s, 'environment.yaml'), stringify({ apiVersion: 'einklang/v1', kind: 'Environment', metadata: { name: s }, spec: { zone: 'school', profiles: [{ path: 'profiles/software' }] } }));
    writeFileSync(
      join(root, s, 'opsi.yaml'),
      [
        doc('OpsiServer', 'opsi', { groupScope: `${s}-*`, connection: { driver: 'opsi', host: '127.0.0.1', port: sim.port, user: USER, password: '${secret:OPSI_PASSWORD}', tlsFingerprint: sim.fingerprint } }),
        doc('ClientGroup', 'pcs', { server: 'opsi', groupId: `${s}-pcs`, clients: Array.from({ length: clients }, (_, j) => client(s, j)) }),
      ].join('---\n'),
    );
  }
}

/** The shared profile's 25 deployments (firefox at `firefox`, the rest at 1.0-1). */
function writeDeployments(root: string, firefox: string): void {
  const docs = Array.from({ length: PRODUCTS }, (_, p) =>
    stringify({ apiVersion: 'einklang/v1', kind: 'SoftwareDeployment', metadata: { name: product(p) }, spec: { server: 'opsi', product: product(p), version: p === 0 ? firefox : '1.0-1', group: 'pcs' } }),
  );
  writeFileSync(join(root, 'profiles/software/deployments.yaml'), docs.join('---\n'));
}

/** HTTP requests and JSON-RPC calls the simulator saw during `fn`. */
async function counted<T>(sim: RunningOpsiSim, fn: () => Promise<T>): Promise<{ value: T; requests: number; calls: Map<string, number> }> {
  const requests = sim.sim.counters.requests;
  const before = new Map(sim.calls);
  const value = await fn();
  const calls = new Map([...sim.calls].map(([m, n]) => [m, n - (before.get(m) ?? 0)] as [string, number]).filter(([, n]) => n > 0));
  return { value, requests: sim.sim.counters.requests - requests, calls };
}

const perEnv = (n: number, schools: number) => (n / schools).toFixed(1);
const callList = (calls: Map<string, number>, schools: number) => [...calls].map(([m, n]) => `${m} ${perEnv(n, schools)}`).join(', ');

export async function benchOpsi(o: { schools: number; clients: number; runs: number }): Promise<BenchReport> {
  const { schools, clients, runs } = o;
  const sim = await startOpsiSimulator({ certSeed: 'bench/OpsiServer/opsi', user: USER, password: PASSWORD, configServerId: 'opsi.schulen.stadt.local' });
  deferCleanup('opsi simulator', () => sim.stop());
  const t0 = Date.now();
  seed(sim, schools, clients);
  const seeded = (Date.now() - t0) / 1000;
  const root = tempDir('einklang-bench-opsi-');
  writeRepo(root, sim, schools, clients, '128.0.3-1');
  const envs = Array.from({ length: schools }, (_, i) => school(i));
  const env = { EINKLANG_SECRET_SCHOOL_OPSI_PASSWORD: PASSWORD };
  const log = (s: string) => process.stdout.write(`   [opsi] ${s}\n`);
  const rows: Row[] = [];

  log(`no-op plan of ${schools} environments x${runs}...`);
  const load = loadavg()[0];
  const simCpu = process.cpuUsage();
  const noop = await counted(sim, () => repeatEinklang(runs, ['plan', ...envs], { cwd: root, env: { ...env, EINKLANG_TIMINGS: '1' }, expect: [0] }));
  const simCpuMs = (process.cpuUsage(simCpu).user + process.cpuUsage(simCpu).system) / 1000 / runs;
  const noopMedian = median(noop.value.map((r) => r.seconds));
  const peak = Math.max(...noop.value.map((r) => r.peakRssBytes));
  rows.push({ metric: `no-op plan, ${schools} schools x ${clients} clients x ${PRODUCTS} products`, value: fmtRuns(noop.value.map((r) => r.seconds)), target: '< 10 s', ok: noopMedian < 10 });
  rows.push({ metric: '  CPU of the simulated opsi server per plan (JSON-RPC, filters, serialisation)', value: `${(simCpuMs / 1000).toFixed(1)} s` });
  rows.push(...timingRows(noop.value, 'no-op plan'));
  rows.push({ metric: '  HTTP requests per environment (login, read batch, depot products, backend_exit)', value: perEnv(noop.requests / runs, schools), target: 'small constant' });
  rows.push({ metric: '  JSON-RPC calls per environment', value: callList(new Map([...noop.calls].map(([m, n]) => [m, n / runs])), schools) });
  rows.push({ metric: '  peak RSS of einklang', value: fmtMB(peak) });

  log('release of firefox 128.0.4-1: plan, apply, re-plan...');
  sim.backend.addProduct('firefox', '128.0.4', '1');
  writeDeployments(root, '128.0.4-1');
  const planFile = join(root, 'plan.json');
  const bump = await counted(sim, () => runEinklang(['plan', ...envs, '--out', planFile], { cwd: root, env, expect: [2] }));
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { changes: { before: { clientsNeedingAction: number } }[]; summary: Record<string, number> };
  const clientsPlanned = plan.changes.reduce((n, c) => n + c.before.clientsNeedingAction, 0);
  rows.push({ metric: `plan of the release: ${plan.changes.length} changes for ${clientsPlanned} clients (${plan.summary.noop} unchanged)`, value: `${bump.value.seconds.toFixed(2)} s, peak RSS ${fmtMB(bump.value.peakRssBytes)}` });
  const apply = await counted(sim, () => runEinklang(['apply', planFile], { cwd: root, env, expect: [0] }));
  rows.push({ metric: '  apply (re-read, one productOnClient_updateObjects per change, verify)', value: `${apply.value.seconds.toFixed(2)} s, ${apply.requests} HTTP requests, ${apply.calls.get('productOnClient_updateObjects') ?? 0} write calls` });
  const again = await runEinklang(['plan', ...envs], { cwd: root, env, expect: [0] });
  rows.push({ metric: '  re-plan after apply', value: `${again.seconds.toFixed(2)} s, exit ${again.code}` });
  rows.push({ metric: 'simulator: set-up of the city (in the bench process)', value: `${seeded.toFixed(1)} s, ${sim.backend.productOnClients.rows.size} product states, RSS ${fmtMB(process.memoryUsage().rss)}` });
  return {
    title: `case opsi: ${schools} school environments against one simulated opsi server (127.0.0.1, pinned lab certificate)`,
    notes: [
      `einklang runs as a child process; the simulator (JSON-RPC, filters, ${schools * clients * PRODUCTS} product states) runs in this process and shares the machine with it`,
      `machine: ${cpus().length} CPUs, load average ${load.toFixed(1)} when the no-op plans started (other work on the machine slows every number)`,
    ],
    rows,
  };
}
