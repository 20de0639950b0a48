/** The reviewer-safety policy builtin/network-risk and the "Risk" list of the plan renderers. */
import assert from 'node:assert/strict';
import type { Change, Plan } from '../../engine/types.js';
import { renderMarkdown } from '../../engine/render/markdown.js';
import { renderText } from '../../engine/render/text.js';
import { networkRiskPolicy } from '../../policies/network-risk.js';
import { ENV, res } from './helpers.js';
import { unescapeMarkdown } from '../support/markdown.js';

const sw = res('Switch', 'core-01', { connection: { driver: 'ios' }, managementVlan: 10 });
const resources = [
  sw,
  res('Vlan', 'mgmt', { id: 10, name: 'MGMT', switches: ['core-01'] }),
  res('Vlan', 'students', { id: 20, name: 'SCHUELER', switches: ['core-01'] }),
];
const trunk = (native: number, allowed: number[] | 'all') => ({ mode: 'trunk', accessVlan: 1, nativeVlan: native, allowedVlans: allowed, description: '', enabled: true });
const access = (vlan: number, enabled = true) => ({ mode: 'access', accessVlan: vlan, nativeVlan: 1, allowedVlans: 'all', description: '', enabled });

function ch(kind: string, id: string, actions: Change['actions'], before: Record<string, unknown> | null, after: Record<string, unknown> | null, address?: string): Change {
  return { address: address ?? `${ENV}/${kind}/x[${id}]`, resource: `${ENV}/${kind}/x`, kind, target: sw.address, id, actions, before, after, diff: [], liveFingerprint: '', dependsOn: [] };
}

describe('builtin/network-risk', () => {
  it('flags a trunk that loses the management VLAN, with the VLAN name beside its id, and asks for one extra approval', () => {
    const r = networkRiskPolicy(resources, [ch('SwitchPort', 'Gi1/0/47', ['update'], trunk(10, [10, 20]), { mode: 'trunk', nativeVlan: 20, allowedVlans: [20] })]);
    assert.equal(r.passed, false);
    assert.equal(r.extraApprovals, 1);
    assert.equal(r.violations.length, 1);
    assert.match(r.violations[0].message, /takes management VLAN 10 \(MGMT\) off port Gi1\/0\/47 of switch core-01 \(trunk, native 10, allowed 10,20 -> trunk, native 20, allowed 20\)/);
  });

  it('flags the management access port moved, shut down or reset, and the management VLAN deleted', () => {
    const r = networkRiskPolicy(resources, [
      ch('SwitchPort', 'Gi1/0/48', ['update'], access(10), { mode: 'access', accessVlan: 20 }),
      ch('SwitchPort', 'Gi1/0/46', ['update'], access(10), { enabled: false }),
      ch('SwitchPort', 'Gi1/0/45', ['delete'], access(10), null),
      ch('Vlan', '10', ['delete'], { id: 10, name: 'MGMT' }, null),
    ]);
    assert.deepEqual(
      r.violations.map((v) => v.message.replace(/:.*$/, '')),
      [
        'takes management VLAN 10 (MGMT) off port Gi1/0/48 of switch core-01 (access VLAN 10 -> access VLAN 20)',
        'takes management VLAN 10 (MGMT) off port Gi1/0/46 of switch core-01 (shuts it down)',
        'takes management VLAN 10 (MGMT) off port Gi1/0/45 of switch core-01 (resets it to its defaults)',
        'deletes management VLAN 10 (MGMT) from switch core-01',
      ],
    );
    assert.equal(r.extraApprovals, 1, 'one extra approval however many flags');
  });

  it('flags pruning a VLAN that ports still use, not one whose ports this plan moves away', () => {
    const pruned = ch('Vlan', '30', ['delete'], { id: 30, name: 'LEHRER', ports: ['Gi1/0/5', 'Gi1/0/6'] }, null, `${ENV}/Vlan/unmanaged:30[core-01]`);
    const still = networkRiskPolicy(resources, [pruned]);
    assert.match(still.violations[0].message, /^prunes VLAN 30 \(LEHRER\) on switch core-01 while 2 port\(s\) still use it: Gi1\/0\/5, Gi1\/0\/6$/);
    const moved = networkRiskPolicy(resources, [
      pruned,
      ch('SwitchPort', 'Gi1/0/5', ['update'], access(30), { mode: 'access', accessVlan: 20 }),
      ch('SwitchPort', 'Gi1/0/6', ['update'], access(30), { mode: 'access', accessVlan: 20 }),
    ]);
    assert.deepEqual(moved.violations, []);
    assert.equal(moved.extraApprovals, 0);
  });

  it('passes changes that keep the management path: other VLANs, a trunk that still carries it, an "all" trunk', () => {
    const r = networkRiskPolicy(resources, [
      ch('SwitchPort', 'Gi1/0/1', ['update'], access(1), { mode: 'access', accessVlan: 20 }),
      ch('SwitchPort', 'Gi1/0/47', ['update'], trunk(10, [10, 20]), { allowedVlans: [10] }),
      ch('SwitchPort', 'Gi1/0/46', ['update'], trunk(1, 'all'), { nativeVlan: 10 }),
      ch('Vlan', '40', ['delete'], { id: 40, name: 'ALT' }, null),
    ]);
    assert.equal(r.passed, true);
    assert.deepEqual(r.violations, []);
  });

  it('renders its flags as a Risk list in text and markdown', () => {
    const policy = networkRiskPolicy(resources, [ch('SwitchPort', 'Gi1/0/47', ['update'], trunk(10, [10, 20]), { nativeVlan: 20, allowedVlans: [20] })]);
    assert.equal(policy.violations.length, 1);
    const plan = {
      environments: [ENV],
      zone: 'school',
      errored: [],
      warnings: [],
      changes: [],
      unmanaged: [],
      policy: [policy],
      summary: { create: 0, update: 1, delete: 0, replace: 0, noop: 0, unmanaged: 0 },
      complete: true,
      applyable: true,
      approvalsRequired: { count: 0, groups: [] },
      hash: 'sha256:x',
    } as unknown as Plan;
    assert.match(renderText(plan), /^Risk: read these first \(they add 1 approval\(s\) to those needed\):\n {2}flag {4}! takes management VLAN 10 \(MGMT\) off port Gi1\/0\/47/m);
    assert.doesNotMatch(renderText(plan), /policy advisory builtin\/network-risk/, 'listed once, as a risk');
    assert.match(unescapeMarkdown(renderMarkdown(plan)), /^#### ⚠️ Risk: read these first \(they add 1 approval\(s\) to those needed\)\n\n- ⚠️ takes management VLAN 10 \(MGMT\)/m);
  });
});
