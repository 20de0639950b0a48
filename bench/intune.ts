/**
 * `npm run bench -- --case intune`: one school tenant for the whole city, as
 * the device-management issue sizes it: 95 schools x (4 device groups,
 * 3 configuration profiles, 1 compliance policy, 5 app assignments) and
 * 20 000 enrolled iPads (about 53 per group), in one environment.
 *
 * The Graph simulator runs in this process on 127.0.0.1 with Intune's
 * throttling on (1000 requests and 100 writes per 20 s per app and tenant,
 * each request of a JSON batch counted on its own); einklang runs as a child
 * process, as a user runs it. Measured: a first plan against an empty tenant
 * (everything to create), then the tenant is filled to match the manifests
 * (directly in the simulator: a real first apply is bound by Graph's write
 * limit, which is arithmetic, not a measurement) and no-op plans are timed:
 * wall time, HTTP requests, requests as Graph counts them, throttled answers
 * and einklang's peak RSS. Each timed plan starts in a fresh throttling
 * window (plans more than 20 s apart); three plans back to back show what
 * exceeding the tenant's limit costs. Numbers are printed, never asserted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labIntuneFingerprint } from '../providers/endpoints/intune/sim/lab.js';
import { startGraphSim, type RunningGraphSim } from '../providers/endpoints/intune/sim/index.js';
import type { SimAssignment } from '../providers/endpoints/intune/sim/tenant.js';
import { freePort } from '../test/support/sshd.js';
import { deferCleanup, fmtMB, fmtRuns, median, runEinklang, tempDir, timingRows, type BenchReport, type TimedRun } from './harness.js';

const SCHOOLS = 95;
const GROUPS = 4;
const PROFILES = 3;
const DEVICES = 20_000;
const APPS = ['ANTON', 'GeoGebra', 'Book Creator', 'Keynote', 'Pages'];
const ENV = 'schulen';
const ADDRESS = `${ENV}/MdmTenant/intune-schulen`;
const TENANT_ID = '3f2a9c3e-5b1d-4c8e-9a7b-2d6f1e0c4b5a';
const CLIENT_ID = '6b1e2f4a-9c3d-4e5f-8a7b-1c2d3e4f5a6b';
const SECRET = 'bench-graph-secret';
const PROFILE_TYPE = '#microsoft.graph.iosGeneralDeviceConfiguration';
const COMPLIANCE_TYPE = '#microsoft.graph.iosCompliancePolicy';

const school = (s: number) => `Schule ${String(s).padStart(3, '0')}`;
const groupName = (s: number, g: number) => `${school(s)} iPads ${g}`;
const profileSettings = (p: number) => ({ cameraBlocked: p === 1, appStoreBlockInAppPurchases: true, safariBlockPopups: p !== 2 });

/** Serial numbers of each group: 20 000 devices spread over the 380 groups. */
function serialsByGroup(): string[][] {
  const n = SCHOOLS * GROUPS;
  return Array.from({ length: n }, (_, i) => {
    const from = Math.floor((i * DEVICES) / n);
    const to = Math.floor(((i + 1) * DEVICES) / n);
    return Array.from({ length: to - from }, (_, k) => `DMPB${String(from + k).padStart(6, '0')}`);
  });
}

function manifests(port: number, serials: string[][]): Record<string, string> {
  const files: Record<string, string> = {
    'environment.yaml': `apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: ${ENV} }\nspec: { zone: school }\n`,
    'tenant.yaml': [
      'apiVersion: einklang/v1',
      'kind: MdmTenant',
      'metadata: { name: intune-schulen }',
      'spec:',
      `  connection: { driver: intune, host: 127.0.0.1, port: ${port}, loginHost: 127.0.0.1, loginPort: ${port}, tenantId: ${TENANT_ID}, clientId: ${CLIENT_ID},`,
      `                clientSecret: "\${secret:GRAPH_CLIENT_SECRET}", tlsFingerprint: "${labIntuneFingerprint(ADDRESS)}" }`,
      '',
    ].join('\n'),
  };
  const doc = (kind: string, name: string, spec: string) => `apiVersion: einklang/v1\nkind: ${kind}\nmetadata: { name: ${name} }\nspec: ${spec}\n`;
  for (let s = 1; s <= SCHOOLS; s++) {
    const docs: string[] = [];
    const groups = Array.from({ length: GROUPS }, (_, g) => `s${s}-ipads-${g + 1}`);
    for (let g = 1; g <= GROUPS; g++) {
      docs.push(doc('DeviceGroup', groups[g - 1], `{ tenant: intune-schulen, displayName: "${groupName(s, g)}", devices: [${serials[(s - 1) * GROUPS + g - 1].join(', ')}] }`));
    }
    const assigned = `[${groups.map((g) => `{ group: ${g} }`).join(', ')}]`;
    for (let p = 1; p <= PROFILES; p++) {
      const settings = Object.entries(profileSettings(p)).map(([k, v]) => `${k}: ${v}`).join(', ');
      docs.push(doc('ConfigurationProfile', `s${s}-profile-${p}`, `{ tenant: intune-schulen, displayName: "${school(s)} iPad ${p}", settings: { "@odata.type": "${PROFILE_TYPE}", ${settings} }, assignments: ${assigned} }`));
    }
    docs.push(
      doc(
        'CompliancePolicy',
        `s${s}-compliance`,
        `{ tenant: intune-schulen, displayName: "${school(s)} iPad Compliance", settings: { "@odata.type": "${COMPLIANCE_TYPE}", osMinimumVersion: "17.0", passcodeRequired: true }, actions: [ { action: block, gracePeriodHours: 72 } ], assignments: ${assigned} }`,
      ),
    );
    files[`school-${String(s).padStart(3, '0')}.yaml`] = docs.join('---\n');
  }
  // 5 apps, each assigned to one group of every school: 5 app assignments per school
  files['apps.yaml'] = APPS.map((a, i) =>
    doc('App', `app-${i + 1}`, `{ tenant: intune-schulen, displayName: "${a}", assignments: [${Array.from({ length: SCHOOLS }, (_, s) => `{ group: s${s + 1}-ipads-${(i % GROUPS) + 1}, intent: required }`).join(', ')}] }`),
  ).join('---\n');
  return files;
}

/** The tenant as the manifests describe it, put straight into the simulator (what a finished first apply leaves). */
function fill(sim: RunningGraphSim, serials: string[][]): void {
  const t = sim.tenant;
  const objectIds = new Map([...t.devices.values()].map((d) => [d.serialNumber, d.objectId!]));
  const groupIds: string[] = [];
  for (let s = 1; s <= SCHOOLS; s++) {
    for (let g = 1; g <= GROUPS; g++) {
      const grp = t.createGroup({ displayName: groupName(s, g), mailEnabled: false, mailNickname: `s${s}g${g}`, securityEnabled: true });
      for (const serial of serials[(s - 1) * GROUPS + g - 1]) grp.members.add(objectIds.get(serial)!);
      groupIds.push(grp.id);
    }
  }
  const to = (ids: string[]) => ids.map((groupId) => ({ target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId } }));
  for (let s = 1; s <= SCHOOLS; s++) {
    const own = groupIds.slice((s - 1) * GROUPS, s * GROUPS);
    for (let p = 1; p <= PROFILES; p++) {
      const prof = t.createPolicy('deviceConfigurations', { '@odata.type': PROFILE_TYPE, displayName: `${school(s)} iPad ${p}`, ...profileSettings(p) });
      prof.assignments = t.assignmentsFrom(prof.id, to(own), false);
    }
    const pol = t.createPolicy('deviceCompliancePolicies', {
      '@odata.type': COMPLIANCE_TYPE,
      displayName: `${school(s)} iPad Compliance`,
      osMinimumVersion: '17.0',
      passcodeRequired: true,
      scheduledActionsForRule: [{ ruleName: 'PasswordRequired', scheduledActionConfigurations: [{ actionType: 'block', gracePeriodHours: 72 }] }],
    });
    pol.assignments = t.assignmentsFrom(pol.id, to(own), false);
  }
  for (const [i, app] of [...t.apps.values()].entries()) {
    const assignments: SimAssignment[] = t.assignmentsFrom(app.id, Array.from({ length: SCHOOLS }, (_, s) => ({ intent: 'required', ...to([groupIds[s * GROUPS + (i % GROUPS)]])[0] })), true);
    app.assignments = assignments;
  }
}

interface Measured {
  run: TimedRun;
  requests: number;
  units: number;
}

async function measure(sim: RunningGraphSim, args: string[], cwd: string, expect: number[]): Promise<Measured> {
  const [requests, units] = [sim.http.counters.requests, sim.throttle.admitted];
  const run = await runEinklang(args, { cwd, env: { EINKLANG_SECRET_SCHOOL_GRAPH_CLIENT_SECRET: SECRET, EINKLANG_TIMINGS: '1' }, expect });
  return { run, requests: sim.http.counters.requests - requests, units: sim.throttle.admitted - units };
}

export async function benchIntune(runs: number): Promise<BenchReport> {
  const port = await freePort();
  const sim = await startGraphSim({ certSeed: ADDRESS, port, app: { tenantId: TENANT_ID, clientId: CLIENT_ID, clientSecret: SECRET } });
  deferCleanup('Graph simulator', () => sim.stop());
  const serials = serialsByGroup();
  for (const list of serials) for (const serialNumber of list) sim.tenant.enrol({ serialNumber });
  for (const displayName of APPS) sim.tenant.addApp({ displayName });
  const root = tempDir('einklang-bench-intune-');
  const env = join(root, 'envs', ENV);
  mkdirSync(env, { recursive: true });
  for (const [f, text] of Object.entries(manifests(port, serials))) writeFileSync(join(env, f), text);
  const objects = SCHOOLS * (GROUPS + PROFILES + 1) + APPS.length;
  process.stdout.write(`   [intune] first plan (empty tenant)...\n`);
  const first = await measure(sim, ['plan', env], root, [2]);
  fill(sim, serials);
  process.stdout.write(`   [intune] no-op plan x${runs}, each in a fresh 20 s window...\n`);
  const noops: Measured[] = [];
  for (let i = 0; i < runs; i++) {
    sim.throttle.reset(); // as when plans are more than 20 s apart
    noops.push(await measure(sim, ['plan', env], root, [0]));
  }
  const throttledBefore = sim.throttle.refused;
  process.stdout.write(`   [intune] three no-op plans back to back (one window)...\n`);
  sim.throttle.reset();
  const burst: Measured[] = [];
  for (let i = 0; i < 3; i++) burst.push(await measure(sim, ['plan', env], root, [0]));
  const noopSeconds = noops.map((m) => m.run.seconds);
  const peak = Math.max(first.run.peakRssBytes, ...noops.map((m) => m.run.peakRssBytes));
  const requests = median(noops.map((m) => m.requests));
  const units = median(noops.map((m) => m.units));
  return {
    title: `case intune: one tenant, ${SCHOOLS} schools x (${GROUPS} groups, ${PROFILES} profiles, 1 compliance policy, ${APPS.length} app assignments), ${DEVICES} enrolled devices`,
    notes: [
      `${objects} declared objects (${SCHOOLS * GROUPS} groups with ${DEVICES} members, ${SCHOOLS * PROFILES} profiles, ${SCHOOLS} compliance policies, ${APPS.length} apps with ${SCHOOLS} assignments each)`,
      `Graph simulator on 127.0.0.1 with Intune's limits on (1000 requests / 100 writes per 20 s, batch requests counted one by one); einklang as a child process`,
    ],
    rows: [
      { metric: 'first plan (empty tenant, all to create)', value: `${first.run.seconds.toFixed(2)} s, ${first.requests} HTTP requests (${first.units} as Graph counts)` },
      { metric: 'no-op plan', value: fmtRuns(noopSeconds), target: '< 10 s', ok: median(noopSeconds) < 10 },
      { metric: 'no-op plan: HTTP requests', value: `${requests} (${(requests / objects).toFixed(3)} per object)`, target: 'far fewer than one per object', ok: requests < objects / 10 },
      { metric: 'no-op plan: requests as Graph counts them (batch members one by one)', value: `${units} (limit 1000 per 20 s)` },
      { metric: 'answers 429 (throttled) during those runs', value: String(throttledBefore) },
      {
        metric: 'three no-op plans back to back (one 20 s window)',
        value: `${burst.map((m) => m.run.seconds.toFixed(1)).join(' s, ')} s; ${sim.throttle.refused - throttledBefore} answers 429, waited out`,
      },
      { metric: 'einklang peak RSS (max of runs)', value: fmtMB(peak) },
      ...timingRows(noops.map((m) => m.run), 'no-op plan'),
    ],
  };
}
