/**
 * The lab switches' failure modes, each through the real CLI (plan and apply
 * as a person runs them) against simulators started in this process:
 *
 * - switches that apply: an ISL-capable IOS platform (trunk mode needs
 *   `switchport trunk encapsulation dot1q` first), a hostname longer than the
 *   20 characters IOS shows in config-mode prompts, informational `%` lines,
 *   an AOS-CX port with writable attributes einklang does not manage (strict
 *   PUT), the AOS-CX auto checkpoint over SSH (and 404 for the REST path that
 *   does not exist), REST sessions logged out;
 * - switches that refuse, leaving their configuration as it was: IOS without
 *   `archive`, IOS in VTP server and in VTP client mode (a VLAN change), a
 *   `Command rejected` answer, an AOS-CX REST API that is read-only;
 * - plans that fail naming the cause, with nothing sent: an AOS-CX switch
 *   whose session limit is reached, a port range with ports the switch lacks;
 * - reviewer safety: an uplink that loses the management VLAN is flagged in
 *   the markdown plan and needs one extra approval.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetSpec } from '../../engine/types.js';
import { AoscxClient } from '../../providers/network/aoscx/client.js';
import { aoscxCertFingerprint, aoscxHostKeyFingerprint, startAoscxSimulator, type AoscxSimulatorOptions } from '../../providers/network/aoscx/simulator/index.js';
import { iosDefaultPorts, iosHostKeyFingerprint, startIosSimulator, type IosSimulatorOptions } from '../../providers/network/ios/simulator/index.js';
import type { RunningSwitchSimulator } from '../../providers/network/simcore.js';
import { hasStackTrace, runCli, writeTree } from '../support/cli.js';
import { unescapeMarkdown } from '../support/markdown.js';

const PASSWORD = 'lab-switch-password';
const SECRETS = { EINKLANG_SECRET_SCHOOL_SWITCH_PASSWORD: PASSWORD };
const MGMT = 10;

type Def = { name: string; driver: 'ios'; options?: IosSimulatorOptions } | { name: string; driver: 'aoscx'; options?: AoscxSimulatorOptions };

interface ModeLab {
  root: string;
  env: string;
  planFile: string;
  sims: Map<string, RunningSwitchSimulator>;
  stop(): Promise<void>;
}

function target(env: string, d: Def): TargetSpec {
  return {
    address: `${env}/Switch/${d.name}`,
    kind: 'Switch',
    name: d.name,
    zone: 'school',
    spec: { managementVlan: MGMT },
    connection: { driver: d.driver, host: '127.0.0.1', port: 0, user: 'admin', password: PASSWORD },
  };
}

function switchYaml(env: string, d: Def, sim: RunningSwitchSimulator): string {
  const address = `${env}/Switch/${d.name}`;
  const pins =
    d.driver === 'ios'
      ? `hostKeyFingerprint: "${iosHostKeyFingerprint(address)}"`
      : `sshPort: ${sim.sshPort}, tlsFingerprint: "${aoscxCertFingerprint({ address, name: d.name })}", hostKeyFingerprint: "${aoscxHostKeyFingerprint(address)}"`;
  return `apiVersion: einklang/v1
kind: Switch
metadata: { name: ${d.name} }
spec:
  managementVlan: ${MGMT}
  connection: { driver: ${d.driver}, host: 127.0.0.1, port: ${sim.port}, user: admin, password: "\${secret:SWITCH_PASSWORD}", revertMinutes: 1, rollbackWaitSeconds: 20, ${pins} }
---
`;
}

/** A VLAN and four classroom ports on every switch (ports 1-4 in the switch's naming), plus what `extra` adds. */
function networkYaml(defs: Def[], extra = ''): string {
  const names = defs.map((d) => d.name).join(', ');
  const ports = defs
    .map(
      (d) => `apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: ${d.name}-classroom }
spec: { switch: ${d.name}, ports: "${d.driver === 'ios' ? 'Gi1/0/1-4' : '1/1/1-1/1/4'}", mode: access, vlan: students, description: "Klassenraum" }
---
`,
    )
    .join('');
  return `apiVersion: einklang/v1
kind: Vlan
metadata: { name: students }
spec: { id: 20, name: SCHUELER, role: students, switches: [${names}] }
---
apiVersion: einklang/v1
kind: Vlan
metadata: { name: management }
spec: { id: ${MGMT}, name: MGMT, role: management, switches: [${names}] }
---
${ports}${extra}`;
}

async function startModeLab(env: string, defs: Def[], extra = ''): Promise<ModeLab> {
  const sims = new Map<string, RunningSwitchSimulator>();
  const stopAll = () => Promise.all([...sims.values()].map((s) => s.stop()));
  try {
    for (const d of defs) {
      const faults = { minuteMs: 30_000, managementPort: d.driver === 'ios' ? 'Gi1/0/48' : '1/1/48' };
      const sim =
        d.driver === 'ios'
          ? await startIosSimulator(target(env, d), { ...faults, ...d.options, listenPort: 0 })
          : await startAoscxSimulator(target(env, d), { ...faults, ...d.options, listenPort: 0, sshListenPort: 0 });
      sims.set(d.name, sim);
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  const root = writeTree({
    [`envs/${env}/environment.yaml`]: `apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: ${env} }\nspec: { zone: school }\n`,
    [`envs/${env}/switches.yaml`]: defs.map((d) => switchYaml(env, d, sims.get(d.name)!)).join(''),
    [`envs/${env}/network.yaml`]: networkYaml(defs, extra),
  });
  return {
    root,
    env: join(root, 'envs', env),
    planFile: join(root, 'plan.json'),
    sims,
    async stop() {
      await stopAll();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function cli(lab: ModeLab, args: string[], expectCode: number) {
  const r = await runCli(args, { cwd: lab.root, env: SECRETS });
  assert.equal(r.code, expectCode, `${args[0]} exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.ok(!hasStackTrace(r.stdout + r.stderr), r.stdout + r.stderr);
  return { ...r, out: r.stdout + r.stderr };
}

const plan = (lab: ModeLab, code: number, extra: string[] = []) => cli(lab, ['plan', lab.env, '--out', lab.planFile, ...extra], code);
const apply = (lab: ModeLab, code: number) => cli(lab, ['apply', lab.planFile], code);
const sim = (lab: ModeLab, name: string) => lab.sims.get(name)!.model;
/** The FAILED lines of an apply for one switch. */
const failedOn = (out: string, env: string, sw: string) => out.split('\n').filter((l) => /FAILED/.test(l) && l.includes(`${env}/Switch/${sw}:`));

describe('network lab failure modes through the CLI', function () {
  this.timeout(90_000);
  let lab: ModeLab | undefined;
  afterEach(async () => {
    await lab?.stop();
    lab = undefined;
  });

  it('applies on an ISL-capable IOS, a long hostname, informational % lines and an AOS-CX port with unmanaged attributes (kept); AOS-CX rolls back over SSH, REST has no checkpoint_auto', async () => {
    const env = 'modes-ok';
    const acl = { aclv4_in_cfg: { 'schueler-acl/ipv4': '/rest/v10.09/system/acls/schueler-acl,ipv4' }, aclv4_in_cfg_version: 3, other_config: { lldp_med_enable: 'false' } };
    const defs: Def[] = [
      { name: 'isl', driver: 'ios', options: { islCapable: true } },
      { name: 'langer-name', driver: 'ios', options: { hostname: 'gs-nord-etagenverteiler-haus-b-03' } },
      { name: 'info', driver: 'ios', options: { informational: true } },
      { name: 'cx-attrs', driver: 'aoscx', options: { portAttributes: { '1/1/1': acl } } },
    ];
    const uplink = `apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: isl-uplink }
spec: { switch: isl, ports: "Gi1/0/47", mode: trunk, nativeVlan: management, allowedVlans: [management, students] }
`;
    lab = await startModeLab(env, defs, uplink);
    await plan(lab, 2);
    await apply(lab, 0);
    await plan(lab, 0);

    const isl = sim(lab, 'isl').running;
    assert.deepEqual({ mode: isl.ports['Gi1/0/47'].mode, allowed: isl.ports['Gi1/0/47'].allowedVlans }, { mode: 'trunk', allowed: [10, 20] });
    assert.equal(isl.deviceAttributes?.ports?.['Gi1/0/47']?.encapsulation, 'dot1q', 'encapsulation set before trunk mode');
    for (const name of ['langer-name', 'info', 'isl']) {
      assert.equal(sim(lab, name).running.ports['Gi1/0/3'].accessVlan, 20, name);
      assert.ok(sim(lab, name).stats.confirms >= 1, `${name}: confirmed`);
    }
    const cx = sim(lab, 'cx-attrs');
    assert.equal(cx.running.ports['1/1/1'].accessVlan, 20);
    assert.deepEqual(cx.running.deviceAttributes?.ports?.['1/1/1'], acl, 'attributes einklang does not manage survived the PUT');
    assert.ok(cx.stats.confirms >= 1, 'aoscx: checkpoint auto confirmed over SSH');
    assert.equal(cx.openSessions, 0, 'aoscx: every REST session was logged out');

    // the auto checkpoint exists only in the CLI: the REST path answers 404
    const address = `${env}/Switch/cx-attrs`;
    const client = new AoscxClient(
      { host: '127.0.0.1', port: lab.sims.get('cx-attrs')!.port, user: 'admin', password: PASSWORD, tlsFingerprint: aoscxCertFingerprint({ address, name: 'cx-attrs' }) },
      { timeoutMs: 5000, label: address },
    );
    await client.login();
    try {
      assert.equal((await client.request('POST', '/configs/checkpoint_auto', { minutes: 1 })).status, 404);
      assert.equal((await client.request('GET', '/configs/checkpoint_auto')).status, 404);
      assert.equal((await client.request('POST', '/configs/checkpoint_auto/confirm')).status, 404);
    } finally {
      await client.close();
    }
    assert.equal(cx.revertPending, false);
  });

  it('refuses without archive, in VTP server and client mode, on a "Command rejected" and on a read-only AOS-CX API; every switch stays as it was', async () => {
    const env = 'modes-refused';
    const defs: Def[] = [
      { name: 'ohne-archiv', driver: 'ios', options: { archive: false } },
      { name: 'vtp-server', driver: 'ios', options: { vtpMode: 'server' } },
      { name: 'vtp-client', driver: 'ios', options: { vtpMode: 'client' } },
      { name: 'abgelehnt', driver: 'ios', options: { rejectCommands: ['description'] } },
      { name: 'cx-readonly', driver: 'aoscx', options: { readOnlyApi: true } },
    ];
    lab = await startModeLab(env, defs);
    const before = new Map(defs.map((d) => [d.name, structuredClone(sim(lab!, d.name).running)]));
    await plan(lab, 2);
    const r = await apply(lab, 1);
    const on = (sw: string) => failedOn(r.out, env, sw).join('\n');
    assert.match(on('ohne-archiv'), /no configuration archive, which the revert timer needs: configure `archive`/);
    assert.match(on('vtp-server'), /VTP server mode: VLANs live in vlan\.dat.*Set `vtp mode transparent` \(or `vtp mode off`\)/);
    assert.match(on('vtp-client'), /VTP client: it refuses VLAN changes.*`vtp mode transparent`/);
    assert.match(on('abgelehnt'), /"description Klassenraum" was refused: Command rejected: .*rolled back, the switch is in its previous configuration/);
    assert.match(on('cx-readonly'), /REST API is read-only .*https-server rest access-mode read-write/);
    for (const d of defs) {
      assert.ok(on(d.name), `${d.name} failed`);
      assert.deepEqual(sim(lab, d.name).running, before.get(d.name), `${d.name}: configuration as before`);
      assert.deepEqual(sim(lab, d.name).startup, before.get(d.name), `${d.name}: nothing saved`);
      assert.equal(sim(lab, d.name).revertPending, false, `${d.name}: no rollback timer left running`);
    }
    for (const name of ['ohne-archiv', 'vtp-server', 'vtp-client']) assert.equal(sim(lab, name).stats.writes, 0, `${name}: refused before any change`);
  });

  it('fails the plan naming the cause, with nothing sent: the AOS-CX session limit is reached; a range covers ports the switch lacks', async () => {
    const env = 'modes-plan';
    const defs: Def[] = [
      { name: 'cx-voll', driver: 'aoscx', options: { sessionsInUse: 6 } },
      { name: 'klein', driver: 'ios', options: { ports: iosDefaultPorts(8), managementPort: 'Gi1/0/8' } },
    ];
    const wide = `apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: klein-flur }
spec: { switch: klein, ports: "Gi1/0/5-12", mode: access, vlan: students }
`;
    lab = await startModeLab(env, defs, wide.replace('Gi1/0/5-12', 'Gi1/0/7-12'));
    const r = await plan(lab, 1);
    assert.match(r.out, new RegExp(`${env}/Switch/cx-voll: .*login refused: session limit reached \\(AOS-CX allows 6 HTTPS sessions per user`));
    assert.match(r.out, new RegExp(`${env}/Switch/klein: .*switch klein has no ports Gi1/0/9, Gi1/0/10, Gi1/0/11, Gi1/0/12 \\(ports are never created; its switchports are Gi1/0/1-8, Te1/1/1-4\\)`));
    assert.doesNotMatch(r.out, /create SwitchPort/);
    assert.ok(!existsSync(lab.planFile) || JSON.parse(readFileSync(lab.planFile, 'utf8')).applyable === false, 'no applyable plan');
    for (const d of defs) assert.equal(sim(lab, d.name).stats.writes, 0, `${d.name}: nothing written`);
    assert.equal(sim(lab, 'cx-voll').openSessions, 6, 'no session added');
  });

  it('flags an uplink that loses the management VLAN in the markdown plan (VLAN name beside its id) and needs one extra approval', async () => {
    const env = 'modes-risk';
    const defs: Def[] = [{ name: 'kern', driver: 'ios' }];
    const uplink = `apiVersion: einklang/v1
kind: SwitchPort
metadata: { name: kern-uplink }
spec: { switch: kern, ports: "Gi1/0/47", mode: trunk, nativeVlan: students, allowedVlans: [students], description: "Uplink" }
`;
    lab = await startModeLab(env, defs, uplink);
    const kern = sim(lab, 'kern');
    kern.setVlan(20, 'SCHUELER');
    kern.setPort('Gi1/0/47', { mode: 'trunk', nativeVlan: MGMT, allowedVlans: [MGMT, 20], description: 'Uplink' });
    const md = await plan(lab, 2, ['--format', 'markdown']);
    assert.match(md.stdout, /^#### ⚠️ Risk: read these first \(they add 1 approval\(s\) to those needed\)$/m);
    // The markdown escapes punctuation in plain text (engine/render/escape.ts); read it as rendered.
    assert.match(unescapeMarkdown(md.stdout), /- ⚠️ takes management VLAN 10 \(MGMT\) off port Gi1\/0\/47 of switch kern \(trunk, native 10, allowed 10,20 -> trunk, native 20, allowed 20\)/);
    const text = await plan(lab, 2);
    assert.match(text.stdout, /Risk: read these first \(they add 1 approval\(s\) to those needed\):\n\s+flag\s+! takes management VLAN 10 \(MGMT\) off port Gi1\/0\/47/);
    const file = JSON.parse(readFileSync(lab.planFile, 'utf8'));
    const risk = file.policy.find((p: { name: string }) => p.name === 'builtin/network-risk');
    assert.equal(risk.extraApprovals, 1);
    const before = structuredClone(kern.running);
    const r = await apply(lab, 1);
    assert.match(r.out, /approval/i);
    assert.deepEqual(kern.running, before, 'refused: nothing changed');
  });
});
