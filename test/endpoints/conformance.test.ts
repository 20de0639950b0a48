/**
 * The intune driver against the Graph simulator in the API-target
 * conformance suite, once per kind einklang creates in a tenant: every write
 * path (a group's members bound 20 at a time and removed one by one, a
 * profile's create + assign, a compliance policy's assign + actions + PATCH)
 * must leave the tenant as it was when any of its requests fails.
 */
import type { DesiredObject } from '../../engine/types.js';
import { apiTargetConformance, type ApiTargetFixture } from '../support/api-conformance.js';
import { IOS_COMPLIANCE, IOS_PROFILE, desired, handMadeGroup, startLab } from './helpers.js';

const serials = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `CONF${String(from + i).padStart(4, '0')}`);

async function fixture(kind: string, variants: (key: string, v: 'a' | 'b') => Record<string, unknown>, createLive: (lab: Awaited<ReturnType<typeof startLab>>, key: string) => string): Promise<ApiTargetFixture> {
  // small pages: every read pages; groups G1 and G2 exist for assignments; 30 iPads are enrolled
  const lab = await startLab({ pageSize: 3 });
  for (const s of serials(1, 30)) lab.sim.tenant.enrol({ serialNumber: s });
  handMadeGroup(lab.sim, 'Conformance G1');
  handMadeGroup(lab.sim, 'Conformance G2');
  return {
    driver: lab.driver(),
    target: lab.target(),
    kind,
    desired: (key, v): DesiredObject => (v === 'absent' ? desired(kind, key, {}, 'absent') : desired(kind, key, variants(key, v))),
    secretFields: ['clientSecret'],
    sim: {
      writes: () => lab.sim.http.counters.writes,
      requests: () => lab.sim.http.counters.requests,
      snapshot: () => structuredClone(lab.sim.tenant.snapshot()),
      failNthWrite: (n) => lab.sim.failNthWrite(n),
      clearFaults: () => lab.sim.http.faults.clear(),
      createLive: async (key) => createLive(lab, key),
    },
    cleanup: () => lab.stop(),
  };
}

apiTargetConformance('intune DeviceGroup', () =>
  fixture(
    'DeviceGroup',
    // a: two iPads; b: 25 others (two bound batches of 20 and 5, one removal)
    (_k, v) => ({ membershipRule: null, members: v === 'a' ? serials(1, 2) : serials(2, 26) }),
    (lab, key) => lab.sim.tenant.createGroup({ displayName: key, mailEnabled: false, mailNickname: 'hand', securityEnabled: true }).id,
  ),
);

apiTargetConformance('intune ConfigurationProfile', () =>
  fixture(
    'ConfigurationProfile',
    (_k, v) =>
      v === 'a'
        ? { 'settings.@odata.type': IOS_PROFILE, 'settings.cameraBlocked': false, 'settings.passcodeMinimumLength': 6, assignments: [{ group: 'Conformance G1' }] }
        : { 'settings.@odata.type': IOS_PROFILE, 'settings.cameraBlocked': true, 'settings.passcodeMinimumLength': 8, assignments: [{ group: 'Conformance G2' }, { allDevices: true }] },
    (lab, key) => lab.sim.tenant.createPolicy('deviceConfigurations', { '@odata.type': IOS_PROFILE, displayName: key, cameraBlocked: true }).id,
  ),
);

apiTargetConformance('intune CompliancePolicy', () =>
  fixture(
    'CompliancePolicy',
    (_k, v) =>
      v === 'a'
        ? { 'settings.@odata.type': IOS_COMPLIANCE, 'settings.osMinimumVersion': '16.0', 'settings.passcodeRequired': true, actions: [{ action: 'block', gracePeriodHours: 0 }], assignments: [{ group: 'Conformance G1' }] }
        : {
            'settings.@odata.type': IOS_COMPLIANCE,
            'settings.osMinimumVersion': '17.0',
            'settings.passcodeRequired': false,
            actions: [{ action: 'block', gracePeriodHours: 72 }, { action: 'remoteLock', gracePeriodHours: 96 }],
            assignments: [{ group: 'Conformance G2', exclude: true }, { allDevices: true }],
          },
    (lab, key) =>
      lab.sim.tenant.createPolicy('deviceCompliancePolicies', {
        '@odata.type': IOS_COMPLIANCE,
        displayName: key,
        passcodeRequired: true,
        scheduledActionsForRule: [{ ruleName: 'PasswordRequired', scheduledActionConfigurations: [{ actionType: 'block', gracePeriodHours: 0 }] }],
      }).id,
  ),
);
