/**
 * Issue 15 item 3 through the real CLI: plans a reviewer can trust at a
 * glance. A lab IOS switch starts with VLAN 30 (LEHRER) on six ports, VLAN
 * 60 and the management VLAN 10 on Gi1/0/48; the manifests prune VLAN 30,
 * delete VLAN 60, move the management port, and configure a 24-port range.
 * `plan` in text and markdown must show the risk list first, in the order
 * rules, deletes, prunes, flags, VLANs still in use; the range as one block;
 * VLAN names next to ids; ports in natural order; and the approvals the plan
 * file says it needs. `show` of a plan with rule changes, a trusted ref and
 * Windows paths covers the rest, and a plan far over the limit stays under
 * 60,000 characters in both formats, saying what it left out.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Change, Plan } from '../../engine/types.js';
import { iosHostKeyFingerprint, startIosSimulator } from '../../providers/network/ios/simulator/index.js';
import { defaultPort } from '../../providers/network/model.js';
import type { RunningSwitchSimulator } from '../../providers/network/simcore.js';
import { makePlan } from '../governance/helpers.js';
import { unescapeMarkdown } from '../support/markdown.js';
import { hasStackTrace, runCli, writeTree } from '../support/cli.js';

const ENV = 'review';
const PASSWORD = 'lab-review-password';
const SECRETS = { EINKLANG_SECRET_SCHOOL_SWITCH_PASSWORD: PASSWORD };

/** Index of the first match, asserting there is one. */
function at(text: string, needle: string | RegExp): number {
  const i = typeof needle === 'string' ? text.indexOf(needle) : text.search(needle);
  assert.ok(i >= 0, `${needle} not found in:\n${text}`);
  return i;
}

function inOrder(text: string, needles: (string | RegExp)[]): void {
  const positions = needles.map((n) => at(text, n));
  for (let i = 1; i < positions.length; i++) assert.ok(positions[i - 1] < positions[i], `${needles[i - 1]} must come before ${needles[i]}:\n${text}`);
}

describe('cli: plans a reviewer can trust (risk first, ranges, VLAN names, natural order)', function () {
  this.timeout(60_000);
  let sim: RunningSwitchSimulator;
  let root: string;
  let env: string;

  before(async () => {
    sim = await startIosSimulator(
      { address: `${ENV}/Switch/core-01`, kind: 'Switch', name: 'core-01', zone: 'school', spec: { managementVlan: 10 }, connection: { driver: 'ios', host: '127.0.0.1', port: 0, user: 'admin', password: PASSWORD } },
      { listenPort: 0, minuteMs: 30_000 },
    );
    const running = sim.model.running;
    running.vlans['30'] = { name: 'LEHRER' };
    running.vlans['60'] = { name: 'ALT' };
    for (let p = 40; p <= 45; p++) running.ports[`Gi1/0/${p}`] = { ...defaultPort('dynamic auto'), mode: 'access', accessVlan: 30 };
    running.ports['Gi1/0/48'] = { ...defaultPort('dynamic auto'), mode: 'access', accessVlan: 10 };
    root = writeTree({
      [`envs/${ENV}/environment.yaml`]: `kind: Environment\nmetadata: { name: ${ENV} }\nspec: { zone: school, approvals: { required: 1, groups: [netz] }, policies: { maxDeletePercent: 100 } }\n`,
      [`envs/${ENV}/network.yaml`]: [
        'kind: Switch',
        'metadata: { name: core-01 }',
        `spec: { managementVlan: 10, prune: true, connection: { driver: ios, host: 127.0.0.1, port: ${sim.port}, user: admin, password: "\${secret:SWITCH_PASSWORD}", hostKeyFingerprint: "${iosHostKeyFingerprint(`${ENV}/Switch/core-01`)}" } }`,
        '---',
        'kind: Vlan',
        'metadata: { name: management }',
        'spec: { id: 10, name: MGMT, role: management, switches: [core-01] }',
        '---',
        'kind: Vlan',
        'metadata: { name: students }',
        'spec: { id: 40, name: SCHUELER, switches: [core-01] }',
        '---',
        'kind: Vlan',
        'metadata: { name: old }',
        'spec: { id: 60, name: ALT, switches: [core-01], ensure: absent }',
        '---',
        'kind: SwitchPort',
        'metadata: { name: classrooms }',
        'spec: { switch: core-01, ports: "Gi1/0/10-33", mode: access, vlan: students, description: "Klassenraum" }',
        '---',
        'kind: SwitchPort',
        'metadata: { name: port-a }',
        'spec: { switch: core-01, ports: "Gi1/0/36", mode: access, vlan: students, description: "Beamer" }',
        '---',
        'kind: SwitchPort',
        'metadata: { name: port-b }',
        'spec: { switch: core-01, ports: "Gi1/0/2", mode: access, vlan: students, description: "Drucker" }',
        '---',
        'kind: SwitchPort',
        'metadata: { name: port-c }',
        'spec: { switch: core-01, ports: "Gi1/0/9", mode: access, vlan: students, description: "Tafel" }',
        '---',
        'kind: SwitchPort',
        'metadata: { name: moved-mgmt }',
        'spec: { switch: core-01, ports: "Gi1/0/48", mode: access, vlan: students, description: "Raum 12" }',
        '',
      ].join('\n'),
    });
    env = join(root, 'envs', ENV);
  });

  after(async () => {
    await sim?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('text: risk list first and in order, the range as one block, VLAN names, natural order, the approvals the plan file needs', async () => {
    const planFile = join(root, 'plan.json');
    const r = await runCli(['plan', env, '--out', planFile, '--quiet'], { cwd: root, env: SECRETS });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.ok(!hasStackTrace(r.stdout + r.stderr));
    const t = r.stdout;
    inOrder(t, [
      /^Risk: read these first/m,
      /^ {2}delete {2}delete Vlan 60 \(ALT\) on core-01/m,
      /^ {2}prune {3}prune Vlan 30 \(LEHRER\) on core-01/m,
      /^ {2}flag {4}! takes management VLAN 10 \(MGMT\) off port Gi1\/0\/48/m,
      /^ {2}in use {2}! prunes VLAN 30 \(LEHRER\) on switch core-01 while 6 port\(s\) still use it: Gi1\/0\/40, Gi1\/0\/41/m,
      /^review$/m,
      /^ {2}review\/Switch\/core-01: /m,
    ]);
    // 24 identical changes are one block naming the range
    assert.match(t, /^ {4}~ {3}review\/SwitchPort\/classrooms\[Gi1\/0\/10-33\] {2}\(24 SwitchPorts on core-01\)$/m);
    assert.doesNotMatch(t, /classrooms\[Gi1\/0\/\d+\]/);
    assert.match(t, /accessVlan: 1 -> 40 \(SCHUELER\)/);
    // natural order of ports (as text, Gi1/0/10 would come before Gi1/0/2)
    inOrder(t, ['port-b[Gi1/0/2]', 'port-c[Gi1/0/9]', 'classrooms[Gi1/0/10-33]', 'port-a[Gi1/0/36]', '~   review/SwitchPort/moved-mgmt[Gi1/0/48]']);
    const plan = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
    assert.ok(plan.approvalsRequired.count >= 1);
    assert.match(t, new RegExp(`^Needs ${plan.approvalsRequired.count} approval\\(s\\) from netz before apply\\.$`, 'm'));

    const md = await runCli(['show', planFile, '--format', 'markdown'], { cwd: root });
    assert.equal(md.code, 0, md.stderr);
    const m = unescapeMarkdown(md.stdout);
    assert.match(m, new RegExp(`\\*\\*${plan.approvalsRequired.count} approval\\(s\\)\\*\\* needed from netz`));
    inOrder(m, [/^#### ⚠️ Risk: read these first/m, '🗑️ delete delete Vlan 60 (ALT)', '✂️ prune prune Vlan 30 (LEHRER)', '⚠️ takes management VLAN 10 (MGMT)', '⚠️ in use prunes VLAN 30 (LEHRER)', /^#### review$/m, '<details open>']);
    assert.match(m, /review\/SwitchPort\/classrooms\[Gi1\/0\/10-33\]\*\* — update 24 SwitchPorts on core-01/);
    inOrder(m, ['port-b[Gi1/0/2]', 'port-c[Gi1/0/9]', 'classrooms[Gi1/0/10-33]', 'port-a[Gi1/0/36]']);
  });

  it('show: rule changes come first, the trusted revision is in the header, paths are shown as written', async () => {
    const change = (address: string, kind: string, id: string, actions: Change['actions'], diff: Change['diff']): Change => ({
      address, resource: address, kind, target: `${ENV}/Server/fs-01`, id, actions, before: null, after: {}, diff, liveFingerprint: 'sha256:0', dependsOn: [],
    });
    const plan = makePlan({
      environments: [ENV],
      trust: { source: 'git', ref: 'origin/main', commit: '0123456789abcdef0123456789abcdef01234567' },
      governance: [{ address: `${ENV}/Environment/${ENV}`, kind: 'Environment', action: 'update', fields: ['approvals'] }],
      changes: [
        change(`${ENV}/Directory/shares`, 'Directory', 'C:\\Shares\\10-Hauptamt', ['create'], [{ path: '/path', before: undefined, after: 'C:\\Shares\\10-Hauptamt' }]),
        change(`${ENV}/File/old`, 'File', 'C:\\Shares\\alt.txt', ['delete'], []),
      ],
    });
    const file = join(root, 'governance-plan.json');
    writeFileSync(file, JSON.stringify(plan, null, 2));
    const r = await runCli(['show', file], { cwd: root });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}Rules from origin\/main \(0123456789ab\)$/m);
    inOrder(r.stdout, [/^ {2}rules {3}update Environment review: approvals/m, /^ {2}delete {2}delete File C:\\Shares\\alt\.txt on fs-01/m]);
    assert.match(r.stdout, /path: "C:\\Shares\\10-Hauptamt"$/m, 'one backslash, as written');
    assert.doesNotMatch(r.stdout, /\\\\/, 'no doubled backslashes');
    const md = await runCli(['show', file, '--format', 'markdown'], { cwd: root });
    const m = unescapeMarkdown(md.stdout);
    assert.match(m, /rules from origin\/main \(0123456789ab\)/);
    inOrder(m, ['🏛️ rules update Environment review: approvals', '🗑️ delete delete File C:\\Shares\\alt.txt']);
  });

  it('a plan far over the limit stays under 60,000 characters in text and markdown and says what it left out', async () => {
    const changes: Change[] = Array.from({ length: 3000 }, (_, i) => ({
      address: `${ENV}/File/f${i}`, resource: `${ENV}/File/f${i}`, kind: 'File', target: `${ENV}/Server/s${i % 40}`, id: `/srv/f${i}`, actions: ['create'], before: null, after: {},
      diff: [{ path: '/content', before: undefined, after: 'line\n'.repeat(30) }], liveFingerprint: 'sha256:0', dependsOn: [],
    }));
    const file = join(root, 'big-plan.json');
    writeFileSync(file, JSON.stringify(makePlan({ environments: [ENV], changes, summary: { create: 3000, update: 0, delete: 0, replace: 0, noop: 0, unmanaged: 0 } })));
    for (const format of ['text', 'markdown']) {
      const r = await runCli(['show', file, '--format', format], { cwd: root });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.length <= 60_000, `${format}: ${r.stdout.length} characters`);
      assert.match(unescapeMarkdown(r.stdout), /\d+ of 3000 changes are not shown/, format);
      assert.match(unescapeMarkdown(r.stdout), /big-plan\.json/, `${format} names the complete plan`);
    }
  });
});
