/**
 * `npm run bench -- --case snipeit`: license management at the city's scale
 * (DESIGN.md: 500 license pools, 95 schools, 40 000 school devices).
 *
 *  1. `einklang plan` of one LicenseServer with 500 pools against the lab
 *     Snipe-IT (in this process, its 120 requests per minute on): the first
 *     plan (500 to create) and the no-op plan after they exist: wall time,
 *     requests the server saw, peak RSS of the CLI.
 *  2. Creating the 500 pools through the driver under Snipe-IT's throttle,
 *     on a virtual clock: requests, and how long the rate limit makes the
 *     apply take (computed, not slept), against a client without a budget
 *     that runs into 429s.
 *  3. The seat policies over a plan of 95 schools x (300 opsi clients, 200
 *     iPads in 4 groups, one of them dynamic with live members) and 500 pools
 *     covering their deployments and apps: evaluation time.
 * Numbers are printed, never asserted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Change, ObservedObject, Resource } from '../engine/types.js';
import { changeFor } from '../engine/plan.js';
import { Secrets } from '../engine/secrets.js';
import { VirtualClock } from '../providers/kit/clock.js';
import { licenseKind } from '../providers/licenses/kinds.js';
import { snipeitDriverWith } from '../providers/licenses/snipeit/driver.js';
import { startSnipeitSimulator, type RunningSnipeitSim } from '../providers/licenses/snipeit/simulator.js';
import { licensePolicies } from '../policies/license-seats.js';
import { testResource } from '../test/support/resource.js';
import { deferCleanup, fmtMB, fmtRuns, median, repeatEinklang, tempDir, type BenchReport, type Row } from './harness.js';

const POOLS = 500;
const SCHOOLS = 95;
const TOKEN = 'bench-snipeit-token';
const ENV = 'stadt';
const SERVER = `${ENV}/LicenseServer/snipeit`;

const poolName = (i: number) => `Pool ${String(i).padStart(3, '0')} Lernsoftware`;

async function labSim(perMinute?: number, now?: () => number): Promise<RunningSnipeitSim> {
  const sim = await startSnipeitSimulator({ token: TOKEN, certSeed: SERVER, perMinute, now });
  sim.model.addManufacturer('Westermann');
  sim.model.addCategory('Lernsoftware', 'license');
  return sim;
}

/** Plan: 500 pools to create, then (after they exist) none. */
async function planRows(runs: number): Promise<Row[]> {
  const sim = await labSim();
  const stop = deferCleanup('snipeit simulator', () => sim.stop());
  const dir = tempDir('einklang-bench-snipeit-');
  const env = join(dir, ENV);
  const docs = [
    `apiVersion: einklang/v1\nkind: LicenseServer\nmetadata: { name: snipeit }\nspec:\n  connection: { driver: snipeit, host: 127.0.0.1, port: ${sim.sim.port}, token: "\${secret:SNIPEIT_TOKEN}", tlsFingerprint: "${sim.sim.fingerprint}" }\n`,
    ...Array.from({ length: POOLS }, (_, i) => `apiVersion: einklang/v1\nkind: License\nmetadata: { name: pool-${i} }\nspec: { server: snipeit, name: "${poolName(i)}", seats: ${50 + i}, expires: "2030-07-31", manufacturer: Westermann, category: Lernsoftware }\n`),
  ];
  mkdirSync(env, { recursive: true });
  writeFileSync(join(env, 'environment.yaml'), `apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: ${ENV} }\nspec: { zone: school }\n`);
  writeFileSync(join(env, 'licenses.yaml'), docs.join('---\n'));
  const opts = { cwd: dir, env: { EINKLANG_SECRET_SCHOOL_SNIPEIT_TOKEN: TOKEN } };
  const rows: Row[] = [];
  try {
    let before = sim.sim.counters.requests;
    const first = await repeatEinklang(runs, ['plan', env], { ...opts, expect: [2] });
    const firstRequests = (sim.sim.counters.requests - before) / runs;
    for (let i = 0; i < POOLS; i++) {
      const r = sim.model.createLicense({ name: poolName(i), seats: 50 + i, category_id: 1, manufacturer_id: 1, expiration_date: '2030-07-31' });
      if (!r.ok) throw new Error(JSON.stringify(r.messages));
    }
    before = sim.sim.counters.requests;
    const noop = await repeatEinklang(runs, ['plan', env], { ...opts, expect: [0] });
    const noopRequests = (sim.sim.counters.requests - before) / runs;
    rows.push({ metric: `plan, ${POOLS} pools to create (CLI, wall incl. node start)`, value: `${fmtRuns(first.map((r) => r.seconds))}, ${firstRequests} requests` });
    rows.push({ metric: `no-op plan, ${POOLS} pools in Snipe-IT`, value: `${fmtRuns(noop.map((r) => r.seconds))}, ${noopRequests} requests, peak RSS ${fmtMB(median(noop.map((r) => r.peakRssBytes)))}` });
    rows.push({ metric: '  requests per pool (no-op plan)', value: (noopRequests / POOLS).toFixed(3) });
  } finally {
    await stop();
  }
  return rows;
}

/** Creating every pool through the driver under the 120/min limit, on a virtual clock. */
async function applyRows(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const budgeted of [true, false]) {
    const clock = new VirtualClock();
    const sim = await labSim(120, () => clock.now());
    const stop = deferCleanup('snipeit simulator', () => sim.stop());
    try {
      const target = {
        address: SERVER,
        kind: 'LicenseServer',
        name: 'snipeit',
        zone: 'school' as const,
        spec: {},
        connection: { host: '127.0.0.1', port: sim.sim.port, token: TOKEN, tlsFingerprint: sim.sim.fingerprint, requestsPerMinute: budgeted ? 120 : 1_000_000 },
      };
      const t0 = performance.now();
      const w = await snipeitDriverWith({ clock }).connectWriter(target);
      const noSecrets = new Secrets({ zone: 'school' });
      const desired = Array.from({ length: POOLS }, (_, i) => ({
        address: `${ENV}/License/pool-${i}`,
        resource: `${ENV}/License/pool-${i}`,
        kind: 'License',
        target: SERVER,
        id: poolName(i),
        ensure: 'present' as const,
        state: { name: poolName(i), seats: 50 + i, expires: '2030-07-31', manufacturer: 'Westermann', category: 'Lernsoftware' },
        dependsOn: [],
        pos: { file: 'bench', line: 1, col: 1 },
      }));
      let failed = 0;
      try {
        const read = await w.read(desired.map((d) => ({ kind: d.kind, id: d.id, state: d.state })));
        const changes = desired.map((d) => changeFor(licenseKind, d, d.state, read.objects[`License\u0000${d.id}`], noSecrets)).filter((c): c is Change => !!c);
        for (const c of changes) if (w.mode === 'change') await w.applyChange(c).catch(() => failed++);
      } finally {
        await w.close();
      }
      const wall = performance.now() - t0;
      const label = budgeted ? 'with the driver budget (120/min)' : 'without a budget (429s, backoff)';
      rows.push({
        metric: `apply ${POOLS} creates ${label}`,
        value: `${sim.sim.counters.requests} requests (${sim.limiter.refused} answered 429), ${failed} of ${POOLS} failed, ${(clock.slept / 60_000).toFixed(1)} min waited (virtual clock), ${(wall / 1000).toFixed(2)} s real`,
      });
    } finally {
      await stop();
    }
  }
  return rows;
}

/** The seat policies over the city's schools. */
function policyRows(runs: number): Row[] {
  const resources: Resource[] = [];
  const observed: ObservedObject[] = [];
  for (let s = 0; s < SCHOOLS; s++) {
    const env = `schule-${s}`;
    const r = (kind: string, name: string, spec: unknown) => resources.push(testResource(env, kind, name, spec));
    r('ClientGroup', 'pcs', { server: 'opsi', groupId: `s${s}-pcs`, clients: Array.from({ length: 300 }, (_, c) => `pc-${c}.s${s}.schule.local`) });
    for (const p of ['office', 'firefox']) r('SoftwareDeployment', p, { server: 'opsi', product: p, version: '1', group: 'pcs', action: 'setup' });
    for (let g = 0; g < 4; g++) {
      const name = `ipads-${g}`;
      if (g === 3) {
        r('DeviceGroup', name, { tenant: 'intune', displayName: `S${s} iPads ${g}`, membershipRule: '(device.devicePhysicalIds -any (_ -eq "[OrderID]:X"))' });
        observed.push({ address: `${env}/DeviceGroup/${name}`, resource: `${env}/DeviceGroup/${name}`, kind: 'DeviceGroup', target: `${env}/MdmTenant/intune`, id: name, state: { members: Array.from({ length: 50 }, (_, d) => `S${s}G${g}D${d}`) } });
      } else r('DeviceGroup', name, { tenant: 'intune', displayName: `S${s} iPads ${g}`, devices: Array.from({ length: 50 }, (_, d) => `S${s}G${g}D${d}`) });
    }
    r('App', 'anton', { tenant: 'intune', displayName: 'ANTON', assignments: [0, 1, 2, 3].map((g) => ({ group: `ipads-${g}`, intent: 'required' })) });
    for (let p = 0; p < Math.ceil(POOLS / SCHOOLS); p++) {
      const covers = p % 2 ? [{ kind: 'App', name: 'anton' }] : [{ kind: 'SoftwareDeployment', name: 'office' }];
      r('License', `pool-${p}`, { server: 'snipeit', seats: 250, category: 'Lernsoftware', expires: '2030-07-31', covers });
    }
  }
  const pools = resources.filter((x) => x.kind === 'License').length;
  const times: number[] = [];
  let violations = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const out = licensePolicies({ zoneResources: resources, changes: [], observed });
    times.push(performance.now() - t0);
    violations = out[0].violations.length;
  }
  return [
    {
      metric: `seat policies: ${SCHOOLS} schools, ${pools} pools, ${SCHOOLS * 300} clients, ${SCHOOLS * 200} iPads (median of ${runs})`,
      value: `${median(times).toFixed(0)} ms, ${violations} pools over their seats`,
    },
  ];
}

export async function benchSnipeit(runs: number): Promise<BenchReport> {
  return {
    title: 'snipeit: license pools at city scale',
    notes: [`lab Snipe-IT in this process on 127.0.0.1 (120 requests per minute and user, 500 rows per page); ${POOLS} pools`],
    rows: [...(await planRows(runs)), ...(await applyRows()), ...policyRows(runs)],
  };
}
