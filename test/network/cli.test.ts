/**
 * The network issue's "done when" items through the real CLI against an
 * `ios` and an `aoscx` lab switch started in this process: plan -> apply ->
 * converge with the simulators' running state checked, drift and prune,
 * injection refused at validate (nothing reaches a switch), a cut management
 * path rolled back by the switches themselves, a failed commit on one switch
 * while the other goes on, and `import` of unmanaged VLANs.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetSpec } from '../../engine/types.js';
import { aoscxCertFingerprint, startAoscxSimulator } from '../../providers/network/aoscx/simulator/index.js';
import { iosHostKeyFingerprint, startIosSimulator } from '../../providers/network/ios/simulator/index.js';
import { defaultPort, type PortConfig, type SwitchConfig } from '../../providers/network/model.js';
import type { RunningSwitchSimulator } from '../../providers/network/simcore.js';
import { hasStackTrace, runCli, writeTree } from '../support/cli.js';

const ENV = 'schule-netz';
const PASSWORD = 'lab-switch-password';
const SECRETS = { EINKLANG_SECRET_SCHOOL_SWITCH_PASSWORD: PASSWORD };
const MGMT = 10;
/** Timer minutes while nothing is meant to roll back: long enough that a slow, loaded machine never reverts a good change. */
const SLOW_MINUTE_MS = 30_000;

interface Lab {
  root: string;
  env: string;
  planFile: string;
  ios: RunningSwitchSimulator;
  aoscx: RunningSwitchSimulator;
  /** Rewrites the Switch manifests (prune flag). */
  writeSwitches(prune: boolean): void;
  stop(): Promise<void>;
}

function target(name: string, driver: 'ios' | 'aoscx'): TargetSpec {
  return {
    address: `${ENV}/Switch/${name}`,
    kind: 'Switch',
    name,
    zone: 'school',
    spec: { managementVlan: MGMT },
    connection: { driver, host: '127.0.0.1', port: 0, user: 'admin', password: PASSWORD },
  };
}

const VLANS = `apiVersion: einklang/v1
kind: Vlan
metadata: { name: teachers }
spec: { id: 30, name: LEHRER, role: teachers, subnet: 10.101.30.0/24, switches: [core-01, access-01] }
---
apiVersion: einklang/v1
kind: Vlan
metadata: { name: students }
spec: { id: 40, name: SCHUELER, role: students, subnet: 10.101.40.0/22, switches: [core-01, access-01] }
---
apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: core-classrooms }
spec: { switch: core-01, ports: "Gi1/0/1-12", mode: access, vlan: students, description: "Klassenraum", enabled: true }
---
apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: access-classrooms }
spec: { switch: access-01, ports: "1/1/1-1/1/24", mode: access, vlan: students, description: "Klassenraum", enabled: true }
---
apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: access-staff }
spec: { switch: access-01, ports: "1/1/25-1/1/30", mode: access, vlan: teachers, description: "Lehrerzimmer", enabled: false }
`;

/** The management VLAN and everything that carries it; a separate file so a test can leave it undeclared. */
function managementYaml(mgmtPortVlan = 'management'): string {
  return `apiVersion: einklang/v1
kind: Vlan
metadata: { name: management }
spec: { id: ${MGMT}, name: MGMT, role: management, switches: [core-01, access-01] }
---
apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: core-uplink }
spec: { switch: core-01, ports: "Gi1/0/47", mode: trunk, nativeVlan: management, allowedVlans: [management, teachers, students], description: "Uplink access-01" }
---
apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: core-mgmt }
spec: { switch: core-01, ports: "Gi1/0/48", mode: access, vlan: ${mgmtPortVlan}, description: "Management" }
---
apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: access-uplink }
spec: { switch: access-01, ports: "1/1/49", mode: trunk, nativeVlan: management, allowedVlans: [management, teachers, students], description: "Uplink core-01" }
---
apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: access-mgmt }
spec: { switch: access-01, ports: "1/1/48", mode: access, vlan: ${mgmtPortVlan}, description: "Management" }
`;
}

const GUESTS = `apiVersion: einklang/v1
kind: Vlan
metadata: { name: guests }
spec: { id: 50, name: GAESTE, role: guests, switches: [core-01, access-01] }
`;

/** Two lab switches (management VLAN 10 on Gi1/0/48 and 1/1/48) and an environment that manages them. */
async function startLab(): Promise<Lab> {
  const faults = { minuteMs: SLOW_MINUTE_MS, listenPort: 0 };
  const ios = await startIosSimulator(target('core-01', 'ios'), { ...faults, managementPort: 'Gi1/0/48' });
  const aoscx = await startAoscxSimulator(target('access-01', 'aoscx'), { ...faults, sshListenPort: 0, managementPort: '1/1/48' }).catch(async (e) => {
    await ios.stop();
    throw e;
  });
  // maxDeletePercent: the prune case deletes one VLAN per switch, which the destructive-change cap
  // counts as deleting 2 of this small environment's 7 resources (it would ask for an extra approval).
  const root = writeTree({
    [`envs/${ENV}/environment.yaml`]: `apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: ${ENV} }\nspec: { zone: school, policies: { maxDeletePercent: 50 } }\n`,
    [`envs/${ENV}/vlans.yaml`]: VLANS,
    [`envs/${ENV}/management.yaml`]: managementYaml(),
  });
  const env = join(root, 'envs', ENV);
  // Short revert windows (1 timer minute) and a bounded wait for a switch that went silent.
  const conn = 'host: 127.0.0.1, user: admin, password: "${secret:SWITCH_PASSWORD}", revertMinutes: 1, rollbackWaitSeconds: 30';
  const writeSwitches = (prune: boolean) =>
    writeFileSync(
      join(env, 'switches.yaml'),
      `apiVersion: einklang/v1
kind: Switch
metadata: { name: core-01 }
spec:
  managementVlan: ${MGMT}
  prune: ${prune}
  connection: { driver: ios, port: ${ios.port}, ${conn}, hostKeyFingerprint: "${iosHostKeyFingerprint(`${ENV}/Switch/core-01`)}" }
---
apiVersion: einklang/v1
kind: Switch
metadata: { name: access-01 }
spec:
  managementVlan: ${MGMT}
  prune: ${prune}
  connection: { driver: aoscx, port: ${aoscx.port}, sshPort: ${aoscx.sshPort}, ${conn}, tlsFingerprint: "${aoscxCertFingerprint({ address: `${ENV}/Switch/access-01`, name: 'access-01' })}", hostKeyFingerprint: "${iosHostKeyFingerprint(`${ENV}/Switch/access-01`)}" }
`,
    );
  writeSwitches(false);
  return {
    root,
    env,
    planFile: join(root, 'plan.json'),
    ios,
    aoscx,
    writeSwitches,
    async stop() {
      await Promise.all([ios.stop(), aoscx.stop()]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const cli = (lab: Lab, args: string[]) => runCli(args, { cwd: lab.root, env: SECRETS });

async function plan(lab: Lab, expectCode: number, extra: string[] = []) {
  const r = await cli(lab, ['plan', lab.env, '--out', lab.planFile, ...extra]);
  assert.equal(r.code, expectCode, `plan exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return { ...r, file: JSON.parse(readFileSync(lab.planFile, 'utf8')) as PlanFile };
}

async function apply(lab: Lab, expectCode: number, extra: string[] = []) {
  const r = await cli(lab, ['apply', lab.planFile, ...extra]);
  assert.equal(r.code, expectCode, `apply exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.ok(!hasStackTrace(r.stdout + r.stderr), r.stdout + r.stderr);
  return r;
}

async function converge(lab: Lab): Promise<void> {
  await plan(lab, 2);
  await apply(lab, 0);
}

interface PlanChange {
  address: string;
  kind: string;
  target: string;
  id: string;
  actions: string[];
  after: Record<string, unknown> | null;
}
interface PlanFile {
  changes: PlanChange[];
  unmanaged: { target: string; kind: string; id: string }[];
}

/** What a plan would do, independent of when it was made. */
const intent = (p: PlanFile) => p.changes.map((c) => ({ address: c.address, actions: c.actions, after: c.after })).sort((a, b) => a.address.localeCompare(b.address));

const vlanIds = (c: SwitchConfig) => Object.keys(c.vlans).sort((a, b) => Number(a) - Number(b));
const snapshot = (sim: RunningSwitchSimulator): SwitchConfig => structuredClone(sim.model.running);

function range(prefix: string, from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);
}

/** The ports of a running config that are not at the platform default, with their settings. */
function configuredPorts(c: SwitchConfig, dflt: PortConfig): Record<string, PortConfig> {
  return Object.fromEntries(Object.entries(c.ports).filter(([, p]) => JSON.stringify(p) !== JSON.stringify(dflt)));
}

const access = (vlan: number, description: string, enabled = true): PortConfig => ({ mode: 'access', accessVlan: vlan, nativeVlan: 1, allowedVlans: 'all', description, enabled });

describe('network through the CLI against an ios and an aoscx lab switch', function () {
  this.timeout(60_000);
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.stop();
    lab = undefined;
  });

  it('plans (2), applies (0), re-plans (0); the switches hold exactly the declared VLANs and ports; drift, unmanaged and prune', async () => {
    lab = await startLab();
    const first = await plan(lab, 2);
    // a port range is one change per port
    assert.equal(first.file.changes.filter((c) => c.address.startsWith(`${ENV}/SwitchPort/access-classrooms[`)).length, 24);
    assert.match(first.stdout, /\+\s+schule-netz\/Vlan\/students\[core-01\]/);
    await apply(lab, 0);
    const again = await plan(lab, 0);
    assert.match(again.stdout, /No changes/);

    // running state: exactly the declared VLANs (plus VLAN 1) and ports; every other port untouched
    const ios = lab.ios.model.running;
    const cx = lab.aoscx.model.running;
    assert.deepEqual(ios.vlans, { 1: { name: 'default' }, 10: { name: 'MGMT' }, 30: { name: 'LEHRER' }, 40: { name: 'SCHUELER' } });
    assert.deepEqual(cx.vlans, { 1: { name: 'DEFAULT_VLAN_1' }, 10: { name: 'MGMT' }, 30: { name: 'LEHRER' }, 40: { name: 'SCHUELER' } });
    const trunk = (description: string): PortConfig => ({ mode: 'trunk', accessVlan: 1, nativeVlan: MGMT, allowedVlans: [10, 30, 40], description, enabled: true });
    assert.deepEqual(configuredPorts(ios, defaultPort('dynamic auto')), {
      ...Object.fromEntries(range('Gi1/0/', 1, 12).map((p) => [p, access(40, 'Klassenraum')])),
      'Gi1/0/47': trunk('Uplink access-01'),
      'Gi1/0/48': access(MGMT, 'Management'),
    });
    assert.deepEqual(configuredPorts(cx, defaultPort('access')), {
      ...Object.fromEntries(range('1/1/', 1, 24).map((p) => [p, access(40, 'Klassenraum')])),
      ...Object.fromEntries(range('1/1/', 25, 30).map((p) => [p, access(30, 'Lehrerzimmer', false)])),
      '1/1/48': access(MGMT, 'Management'),
      '1/1/49': trunk('Uplink core-01'),
    });
    assert.deepEqual(lab.ios.model.startup, ios, 'ios: saved (write memory)');
    assert.deepEqual(lab.aoscx.model.startup, cx, 'aoscx: saved to startup-config');

    const drift0 = await cli(lab, ['drift', lab.env]);
    assert.equal(drift0.code, 0, drift0.stdout + drift0.stderr);

    // VLANs added by hand are unmanaged: drift exit 2, plan has no change for them
    lab.ios.model.setVlan(99, 'ROGUE');
    lab.aoscx.model.setVlan(98, 'BASTEL');
    const drift = await cli(lab, ['drift', lab.env]);
    assert.equal(drift.code, 2, drift.stdout + drift.stderr);
    assert.match(drift.stdout, /unmanaged Vlan 99 on schule-netz\/Switch\/core-01/);
    assert.match(drift.stdout, /unmanaged Vlan 98 on schule-netz\/Switch\/access-01/);
    const report = await plan(lab, 0);
    assert.deepEqual(report.file.unmanaged.map((u) => u.id).sort(), ['98', '99']);

    // prune: true, with the management VLAN left undeclared: the rogue VLANs are deleted, VLAN 1 and 10 never
    lab.writeSwitches(true);
    rmSync(join(lab.env, 'management.yaml'));
    const prune = await plan(lab, 2);
    assert.deepEqual(
      prune.file.changes.map((c) => [c.kind, c.id, c.target, c.actions.join()]).sort(),
      [
        ['Vlan', '98', `${ENV}/Switch/access-01`, 'delete'],
        ['Vlan', '99', `${ENV}/Switch/core-01`, 'delete'],
      ],
    );
    assert.deepEqual(prune.file.unmanaged.map((u) => `${u.id}@${u.target}`).sort(), [`10@${ENV}/Switch/access-01`, `10@${ENV}/Switch/core-01`]);
    await apply(lab, 0);
    assert.deepEqual(vlanIds(lab.ios.model.running), ['1', '10', '30', '40']);
    assert.deepEqual(vlanIds(lab.aoscx.model.running), ['1', '10', '30', '40']);
    assert.equal(lab.ios.model.reachable() && lab.aoscx.model.reachable(), true);
    writeFileSync(join(lab.env, 'management.yaml'), managementYaml());
    await plan(lab, 0);
  });

  it('refuses a description that smuggles a second command at validate (file:line:col); plan exits 1 and nothing reaches a switch', async () => {
    lab = await startLab();
    writeFileSync(
      join(lab.env, 'evil.yaml'),
      `apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: evil }
spec:
  switch: core-01
  ports: "Gi1/0/20"
  mode: access
  vlan: students
  description: "Raum 12\\nno vlan ${MGMT}"
---
apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: evil-block }
spec:
  switch: access-01
  ports: "1/1/40"
  mode: access
  vlan: students
  description: |-
    Raum 13
    interface vlan 1
`,
    );
    const file = `envs/${ENV}/evil.yaml`; // diagnostics name files relative to the working directory
    const v = await cli(lab, ['validate', lab.env]);
    assert.equal(v.code, 1, v.stdout + v.stderr);
    const out = v.stdout + v.stderr;
    assert.ok(!hasStackTrace(out), out);
    const lines = out.split('\n');
    for (const at of ['9:16', '19:16']) {
      const want = `${file}:${at}: error E_NET_CLI_UNSAFE: description contains a control character`;
      assert.ok(lines.some((l) => l.startsWith(want)), `expected a line starting ${want}\n${out}`);
    }

    const p = await cli(lab, ['plan', lab.env, '--out', lab.planFile]);
    assert.equal(p.code, 1, p.stdout + p.stderr);
    assert.match(p.stdout + p.stderr, /E_NET_CLI_UNSAFE/);
    assert.ok(!existsSync(lab.planFile), 'no plan file was written');
    for (const sim of [lab.ios, lab.aoscx]) {
      assert.deepEqual(sim.model.stats, { sessions: 0, commands: 0, writes: 0, reverts: 0, confirms: 0, saves: 0 }, 'nothing reached the switch');
    }
  });

  it('rolls back a change that cuts the management VLAN: apply fails, reports the rollback, the switches are as before, a re-plan shows the same changes', async () => {
    lab = await startLab();
    await converge(lab);
    const before = { ios: snapshot(lab.ios), aoscx: snapshot(lab.aoscx) };
    // a new VLAN plus the management ports moved to the students VLAN (cuts the path on both switches)
    writeFileSync(join(lab.env, 'guests.yaml'), GUESTS);
    writeFileSync(join(lab.env, 'management.yaml'), managementYaml('students'));
    // taking the management ports off the management VLAN is a flagged risk: one extra approval, from a reviewer
    const keys = join(lab.root, 'reviewer-keys');
    const k = await runCli(['keygen', '--out', keys, '--name', 'pruefer'], { cwd: lab.root });
    assert.equal(k.code, 0, k.stderr);
    const pub = readFileSync(join(keys, 'pruefer.pub'), 'utf8').trim();
    writeFileSync(join(lab.env, 'reviewers.yaml'), `apiVersion: einklang/v1\nkind: Reviewer\nmetadata: { name: pruefer }\nspec: { publicKey: "${pub}", groups: [netz], email: pruefer@schule.invalid }\n`);
    const planned = await plan(lab, 2);
    assert.match(planned.stdout, /Risk: read these first \(they add 1 approval\(s\) to those needed\):\n\s+flag\s+! takes management VLAN 10 \(MGMT\) off port (Gi1\/0\/48|1\/1\/48)/);
    const unapproved = await cli(lab, ['apply', lab.planFile]);
    assert.equal(unapproved.code, 1, 'refused without the extra approval');
    assert.deepEqual(lab.ios.model.running, before.ios, 'refused: nothing changed');
    const approved = await cli(lab, ['approve', lab.planFile, '--key', join(keys, 'pruefer.key')]);
    assert.equal(approved.code, 0, approved.stdout + approved.stderr);
    assert.deepEqual(
      planned.file.changes.map((c) => c.address).sort(),
      [`${ENV}/SwitchPort/access-mgmt[1/1/48]`, `${ENV}/SwitchPort/core-mgmt[Gi1/0/48]`, `${ENV}/Vlan/guests[access-01]`, `${ENV}/Vlan/guests[core-01]`],
    );
    // the revert timer: one timer minute = 2.5 s
    for (const sim of [lab.ios, lab.aoscx]) sim.model.faults.minuteMs = 2500;
    const t0 = Date.now();
    const r = await apply(lab, 1, ['--timeout', '3']);
    const elapsed = Date.now() - t0;
    for (const sw of ['core-01', 'access-01']) {
      assert.match(r.stdout, new RegExp(`FAILED\\s+${ENV}/SwitchPort/\\S+-mgmt\\S*: ${ENV}/Switch/${sw}: .*rolled back`), r.stdout);
    }
    assert.match(r.stdout, /0 applied, 4 failed/);
    assert.doesNotMatch(r.stdout, /ROLLBACK NOT VERIFIED/);
    assert.ok(lab.ios.model.stats.reverts >= 1 && lab.aoscx.model.stats.reverts >= 1, 'the switches rolled back');
    assert.deepEqual(lab.ios.model.running, before.ios, 'ios: back in its previous configuration');
    assert.deepEqual(lab.aoscx.model.running, before.aoscx, 'aoscx: back in its previous configuration');
    assert.deepEqual(lab.ios.model.startup, before.ios, 'ios: nothing saved');
    assert.deepEqual(lab.aoscx.model.startup, before.aoscx, 'aoscx: nothing saved');
    assert.ok(elapsed < 30_000, `apply took ${elapsed} ms`);

    for (const sim of [lab.ios, lab.aoscx]) sim.model.faults.minuteMs = SLOW_MINUTE_MS;
    const replan = await plan(lab, 2);
    assert.deepEqual(intent(replan.file), intent(planned.file), 'nothing was half-applied');
  });

  it('rolls back a failed commit on one switch and reports it; the other switch is applied', async () => {
    lab = await startLab();
    await converge(lab);
    const cxBefore = snapshot(lab.aoscx);
    writeFileSync(join(lab.env, 'guests.yaml'), GUESTS);
    writeFileSync(join(lab.env, 'vlans.yaml'), VLANS.replace('description: "Lehrerzimmer"', 'description: "Lehrerzimmer 2"'));
    const planned = await plan(lab, 2);
    assert.equal(planned.file.changes.length, 2 + 6);
    lab.aoscx.model.faults.failCommit = true;
    const r = await apply(lab, 1);
    assert.match(r.stdout, new RegExp(`applied\\s+${ENV}/Vlan/guests\\[core-01\\]`));
    assert.match(r.stdout, new RegExp(`FAILED\\s+${ENV}/Vlan/guests\\[access-01\\]: .*confirm failed.*rolled back, the switch is in its previous configuration`));
    assert.match(r.stdout, new RegExp(`FAILED\\s+${ENV}/SwitchPort/access-staff\\[1/1/25\\]: .*rolled back`));
    assert.match(r.stdout, /1 applied, 7 failed, 0 skipped/);
    assert.equal(lab.ios.model.running.vlans['50']?.name, 'GAESTE');
    assert.deepEqual(lab.aoscx.model.running, cxBefore, 'aoscx: back in its previous configuration');

    lab.aoscx.model.faults.failCommit = false;
    // A failed `checkpoint auto confirm` leaves auto checkpoint mode on until its timer ends (the driver already
    // restored the configuration); end it as the timer would, rather than wait a lab minute.
    assert.equal(lab.aoscx.model.revertPending, true);
    lab.aoscx.model.revertNow();
    assert.deepEqual(lab.aoscx.model.running, cxBefore);
    const rest = await plan(lab, 2);
    assert.deepEqual(new Set(rest.file.changes.map((c) => c.target)), new Set([`${ENV}/Switch/access-01`]));
    assert.equal(rest.file.changes.length, 7);
    await apply(lab, 0);
    await plan(lab, 0);
  });

  it('imports unmanaged VLANs as manifests that validate and then plan with no change', async () => {
    lab = await startLab();
    await converge(lab);
    lab.ios.model.setVlan(77, 'PROJEKT');
    lab.aoscx.model.setVlan(77, 'PROJEKT');
    lab.ios.model.setVlan(78, 'Labor_2');
    const r = await cli(lab, ['import', '--env', lab.env, '--kind', 'Vlan']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /wrote 3 Vlan manifest\(s\) to .*imported-vlan\.yaml/);
    const text = readFileSync(join(lab.env, 'imported-vlan.yaml'), 'utf8');
    assert.match(text, /id: 77/);
    assert.match(text, /name: Labor_2/);

    const v = await cli(lab, ['validate', lab.env]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const after = await plan(lab, 0);
    assert.deepEqual(after.file.changes, []);
    assert.deepEqual(after.file.unmanaged, []);
    const drift = await cli(lab, ['drift', lab.env]);
    assert.equal(drift.code, 0, drift.stdout + drift.stderr);
    const again = await cli(lab, ['import', '--env', lab.env, '--kind', 'Vlan']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /nothing to import/);
  });
});
