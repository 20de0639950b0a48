/**
 * The device-management kinds (DESIGN.md "API-managed systems"): MdmTenant
 * (a target, driver `intune`), DeviceGroup, ConfigurationProfile,
 * CompliancePolicy and App. Each object kind names its tenant (`spec.tenant`)
 * and is identified there by its `displayName`; assignments name DeviceGroups
 * by their manifest name (dependency edges). What each kind expands to is in
 * intune/state.ts.
 *
 * Checks beyond the schemas (positioned at the offending value):
 * - `settings`: the `@odata.type` must be one einklang supports (the list is
 *   in the message) and every setting must exist on that subtype with a value
 *   of its type (intune/odata-types.ts);
 * - one displayName per kind per tenant in an environment (the live side
 *   refuses to guess, E_AMBIGUOUS_LIVE, so the manifests must not ask it to);
 * - a tenant with `displayNamePrefix` (a tenant shared by several
 *   environments) owns only objects whose displayName starts with it;
 * - assignments name a DeviceGroup of the same tenant; a DeviceGroup is either
 *   static (`devices`) or dynamic (`membershipRule`), not both.
 */
import type { DesiredObject, Diagnostic, ExpandContext, KindDef, LiveObject, Resource } from '../../engine/types.js';
import { diagnosticAt as diag } from '../../engine/positions.js';
import { settingProblem, SUBTYPES, supportedTypes, type ManagedKind } from './intune/odata-types.js';
import {
  APP,
  GROUP,
  OBJECT_KINDS,
  POLICY,
  PROFILE,
  TENANT,
  TYPE_KEY,
  flattenSettings,
  importedName,
  normalizeSerial,
  normalizeState,
  settingsOf,
  type ActionState,
  type AssignmentState,
} from './intune/state.js';

const AREA = 'endpoints';
// Control characters never belong in a name that people read in the Intune portal.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const tenantAddress = (res: Resource) => `${res.env}/${TENANT}/${res.spec?.tenant}`;

function displayNameOf(res: Resource): string {
  return String(res.spec?.displayName ?? res.name);
}

// ------------------------------------------------------------- shared checks

/** Per environment, per tenant and kind: displayName (without case, as Graph compares) -> resources (built once per validation run). */
const namesByRun = new WeakMap<Map<string, Resource>, Map<string, Resource[]>>();

function sameNames(res: Resource, byAddress: Map<string, Resource>): Resource[] {
  let index = namesByRun.get(byAddress);
  if (!index) {
    index = new Map();
    for (const r of byAddress.values()) {
      if (!(OBJECT_KINDS as readonly string[]).includes(r.kind) || typeof r.spec?.displayName !== 'string') continue;
      const k = `${r.env}\u0000${r.kind}\u0000${r.spec.tenant}\u0000${r.spec.displayName.toLowerCase()}`;
      (index.get(k) ?? index.set(k, []).get(k)!).push(r);
    }
    namesByRun.set(byAddress, index);
  }
  return index.get(`${res.env}\u0000${res.kind}\u0000${res.spec?.tenant}\u0000${String(res.spec?.displayName).toLowerCase()}`) ?? [];
}

/** displayName: printable, unique per kind and tenant, inside the tenant's prefix. */
function checkDisplayName(res: Resource, byAddress: Map<string, Resource>, out: Diagnostic[]): void {
  const name = res.spec?.displayName;
  if (typeof name !== 'string') return;
  if (CONTROL.test(name)) out.push(diag(res, '/spec/displayName', 'E_INTUNE_NAME', 'displayName contains a control character'));
  if (name !== name.trim()) out.push(diag(res, '/spec/displayName', 'E_INTUNE_NAME', 'displayName starts or ends with white space (the Intune portal would show two objects that look alike)'));
  const twins = sameNames(res, byAddress).filter((r) => r !== res);
  if (twins.length) {
    out.push(diag(res, '/spec/displayName', 'E_INTUNE_DUPLICATE_NAME', `${res.kind} displayName ${JSON.stringify(name)} is also declared by ${twins.map((t) => t.address).join(', ')}; it identifies the object in the tenant`));
  }
  if (res.kind === APP) return; // apps exist outside einklang's control, whatever their name
  const prefix = byAddress.get(tenantAddress(res))?.spec?.displayNamePrefix;
  if (typeof prefix === 'string' && !name.startsWith(prefix)) {
    out.push(diag(res, '/spec/displayName', 'E_INTUNE_PREFIX', `displayName ${JSON.stringify(name)} must start with ${JSON.stringify(prefix)}, the displayNamePrefix of tenant ${res.spec?.tenant} (it shares the tenant with other environments)`));
  }
}

function groupRefs(res: Resource): { pointer: string; name: string }[] {
  const list = res.spec?.assignments;
  if (!Array.isArray(list)) return [];
  return list.flatMap((a: unknown, i: number) => (a && typeof (a as { group?: unknown }).group === 'string' ? [{ pointer: `/spec/assignments/${i}/group`, name: (a as { group: string }).group }] : []));
}

function references(res: Resource): { pointer: string; kind: string; name: string }[] {
  const out = typeof res.spec?.tenant === 'string' ? [{ pointer: '/spec/tenant', kind: TENANT, name: res.spec.tenant as string }] : [];
  return [...out, ...groupRefs(res).map((g) => ({ ...g, kind: GROUP }))];
}

/** One target per assignment; exclusions only of groups (Graph has exclusionGroupAssignmentTarget only); groups of the same tenant. */
function checkAssignments(res: Resource, byAddress: Map<string, Resource>, out: Diagnostic[]): void {
  const list = res.spec?.assignments;
  if (!Array.isArray(list)) return;
  const prefix = byAddress.get(tenantAddress(res))?.spec?.displayNamePrefix;
  list.forEach((a: Record<string, unknown>, i: number) => {
    const at = `/spec/assignments/${i}`;
    const targets = ['group', 'allDevices', 'allLicensedUsers'].filter((k) => a?.[k] !== undefined);
    if (targets.length !== 1) {
      out.push(diag(res, at, 'E_INTUNE_ASSIGNMENT', `assignment ${i + 1} must name exactly one target: group, allDevices: true or allLicensedUsers: true (it names ${targets.length ? targets.join(' and ') : 'none'})`));
      return;
    }
    if (a.exclude === true && typeof a.group !== 'string') out.push(diag(res, `${at}/exclude`, 'E_INTUNE_ASSIGNMENT', 'exclude: true is only possible for a group (Graph excludes groups, not all devices or users)'));
    if (res.kind === APP && typeof prefix === 'string' && typeof a.group !== 'string') {
      out.push(diag(res, at, 'E_INTUNE_PREFIX', `tenant ${res.spec?.tenant} is shared (displayNamePrefix ${JSON.stringify(prefix)}): an app's assignment to all devices or users would belong to every environment; assign it to this environment's groups`));
    }
    if (typeof a.group === 'string') {
      const g = byAddress.get(`${res.env}/${GROUP}/${a.group}`);
      if (g && g.spec?.tenant !== res.spec?.tenant) {
        out.push(diag(res, `${at}/group`, 'E_INTUNE_TENANT', `DeviceGroup ${a.group} lives in tenant ${g.spec?.tenant}, this ${res.kind} in tenant ${res.spec?.tenant}; an assignment stays within one tenant`));
      }
    }
  });
}

/** The assignments as state: groups by their displayName. */
function assignmentState(res: Resource, ctx: ExpandContext): AssignmentState[] {
  return (res.spec.assignments as Record<string, unknown>[]).map((a) => {
    const s: AssignmentState = {};
    if (typeof a.group === 'string') s.group = String(ctx.lookup(GROUP, a.group)?.spec?.displayName ?? a.group);
    if (a.allDevices === true) s.allDevices = true;
    if (a.allLicensedUsers === true) s.allLicensedUsers = true;
    if (a.exclude === true) s.exclude = true;
    if (typeof a.intent === 'string') s.intent = a.intent;
    return s;
  });
}

function desired(res: Resource, state: Record<string, unknown>): DesiredObject {
  return {
    address: res.address,
    resource: res.address,
    kind: res.kind,
    target: tenantAddress(res),
    id: displayNameOf(res),
    ensure: res.spec?.ensure === 'absent' ? 'absent' : 'present',
    state: normalizeState(state),
    dependsOn: [],
    pos: res.pos,
  };
}

/** Live assignments as manifest entries (groups by the name `einklang import` gives them). */
function importAssignments(list: unknown): Record<string, unknown>[] | undefined {
  if (!Array.isArray(list)) return undefined;
  return (list as AssignmentState[]).flatMap((a): Record<string, unknown>[] => {
    const base = a.intent ? { intent: a.intent } : {};
    if (a.group) return [{ group: importedName(a.group), ...(a.exclude ? { exclude: true } : {}), ...base }];
    if (a.allDevices) return [{ allDevices: true, ...base }];
    if (a.allLicensedUsers) return [{ allLicensedUsers: true, ...base }];
    return []; // an assignment to a deleted group cannot be declared
  });
}

// ------------------------------------------------------------------ kinds

export const mdmTenantKind: KindDef = {
  kind: TENANT,
  area: AREA,
  schema: 'endpoints/MdmTenant.schema.json',
  isTarget: true,
  validate(res) {
    const p = res.spec?.displayNamePrefix;
    if (typeof p === 'string' && (CONTROL.test(p) || p.trim() === '')) return [diag(res, '/spec/displayNamePrefix', 'E_INTUNE_PREFIX', 'displayNamePrefix must be printable text that is not only white space')];
    return [];
  },
};

export const deviceGroupKind: KindDef = {
  kind: GROUP,
  area: AREA,
  schema: 'endpoints/DeviceGroup.schema.json',
  references,
  validate(res, ctx) {
    const out: Diagnostic[] = [];
    checkDisplayName(res, ctx.byAddress, out);
    const s = res.spec ?? {};
    if (s.ensure !== 'absent') {
      if (s.devices !== undefined && s.membershipRule !== undefined) {
        out.push(diag(res, '/spec/membershipRule', 'E_INTUNE_GROUP', 'a DeviceGroup has either devices (static members) or a membershipRule (dynamic members), not both'));
      } else if (s.devices === undefined && s.membershipRule === undefined) {
        out.push(diag(res, '/spec', 'E_INTUNE_GROUP', 'a DeviceGroup needs devices (serial numbers) or a membershipRule'));
      }
    }
    const seen = new Map<string, number>();
    (Array.isArray(s.devices) ? s.devices : []).forEach((serial: unknown, i: number) => {
      if (typeof serial !== 'string') return;
      const k = normalizeSerial(serial);
      if (seen.has(k)) out.push(diag(res, `/spec/devices/${i}`, 'E_INTUNE_GROUP', `serial number ${serial} is listed twice (also as device ${seen.get(k)! + 1})`));
      seen.set(k, i);
    });
    if (typeof s.membershipRule === 'string') {
      const problem = membershipRuleProblem(s.membershipRule);
      if (problem) out.push(diag(res, '/spec/membershipRule', 'E_INTUNE_RULE', problem));
    }
    return out;
  },
  expand(res) {
    const s = res.spec;
    const state = typeof s.membershipRule === 'string' ? { membershipRule: s.membershipRule } : { membershipRule: null, members: (s.devices ?? []) as string[] };
    return [desired(res, s.ensure === 'absent' ? {} : state)];
  },
  normalize: normalizeState,
  importAs(obj: LiveObject, target: Resource) {
    const st = obj.state;
    const members = typeof st.membershipRule === 'string' ? { membershipRule: st.membershipRule } : { devices: ((st.members as string[]) ?? []).filter((m) => !m.includes(':')) };
    return { name: obj.id, spec: { tenant: target.name, displayName: obj.id, ...members } };
  },
};

/**
 * What is wrong with a dynamic membership rule, as far as einklang can tell
 * without Entra ID's parser: it must be about devices (a DeviceGroup holds
 * devices), and its quotes and parentheses must balance.
 */
export function membershipRuleProblem(rule: string): string | undefined {
  if (CONTROL.test(rule)) return 'membershipRule contains a control character';
  if (!/\bdevice\.[A-Za-z]/.test(rule)) return 'membershipRule must select devices (device.<property>); a DeviceGroup holds devices';
  if (/\buser\.[A-Za-z]/.test(rule)) return 'membershipRule mixes user properties into a device group';
  let depth = 0;
  let quoted = false;
  for (const ch of rule) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')' && --depth < 0) return 'membershipRule has a ")" without its "("';
  }
  if (quoted) return 'membershipRule has an unclosed quote';
  if (depth !== 0) return 'membershipRule has a "(" without its ")"';
  return undefined;
}

/** ConfigurationProfile and CompliancePolicy: settings of a supported subtype, assignments, and (compliance) actions. */
function policyKind(kind: ManagedKind, schema: string): KindDef {
  return {
    kind,
    area: AREA,
    schema,
    references,
    replaceOn: [TYPE_KEY],
    validate(res, ctx) {
      const out: Diagnostic[] = [];
      checkDisplayName(res, ctx.byAddress, out);
      checkAssignments(res, ctx.byAddress, out);
      const settings = res.spec?.settings as Record<string, unknown> | undefined;
      if (!settings) return out;
      const type = settings['@odata.type'];
      const sub = typeof type === 'string' ? SUBTYPES.get(type) : undefined;
      if (!sub || sub.kind !== kind) {
        out.push(diag(res, '/spec/settings/@odata.type', 'E_INTUNE_ODATA_TYPE', `${kind} @odata.type ${JSON.stringify(type)} is not supported; supported: ${supportedTypes(kind).join(', ')}`));
        return out;
      }
      for (const [k, v] of Object.entries(settings)) {
        if (k === '@odata.type') continue;
        const problem = settingProblem(sub, k, v);
        if (problem) out.push(diag(res, `/spec/settings/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, 'E_INTUNE_SETTING', problem));
      }
      const actions = res.spec?.actions;
      if (Array.isArray(actions)) {
        const seen = new Set<string>();
        actions.forEach((a: ActionState, i: number) => {
          if (a.action !== 'notification' && seen.has(a.action)) out.push(diag(res, `/spec/actions/${i}`, 'E_INTUNE_ACTION', `action ${a.action} is listed twice`));
          if (a.action === 'notification' && !a.notificationTemplateId) out.push(diag(res, `/spec/actions/${i}`, 'E_INTUNE_ACTION', 'a notification action needs notificationTemplateId (the Intune message template of the e-mail)'));
          seen.add(a.action);
        });
      }
      return out;
    },
    expand(res, ctx) {
      const s = res.spec;
      if (s.ensure === 'absent') return [desired(res, {})];
      const state: Record<string, unknown> = flattenSettings(s.settings);
      if (Array.isArray(s.assignments)) state.assignments = assignmentState(res, ctx);
      if (Array.isArray(s.actions)) state.actions = s.actions;
      return [desired(res, state)];
    },
    normalize: normalizeState,
    importAs(obj, target) {
      const spec: Record<string, unknown> = { tenant: target.name, displayName: obj.id, settings: settingsOf(obj.state) };
      const assignments = importAssignments(obj.state.assignments);
      if (assignments?.length) spec.assignments = assignments;
      if (Array.isArray(obj.state.actions)) spec.actions = obj.state.actions;
      return { name: obj.id, spec };
    },
  };
}

export const configurationProfileKind = policyKind(PROFILE, 'endpoints/ConfigurationProfile.schema.json');
export const compliancePolicyKind = policyKind(POLICY, 'endpoints/CompliancePolicy.schema.json');

export const appKind: KindDef = {
  kind: APP,
  area: AREA,
  schema: 'endpoints/App.schema.json',
  references,
  validate(res, ctx) {
    const out: Diagnostic[] = [];
    checkDisplayName(res, ctx.byAddress, out);
    checkAssignments(res, ctx.byAddress, out);
    return out;
  },
  expand(res, ctx) {
    return [desired(res, { assignments: assignmentState(res, ctx) })];
  },
  normalize: normalizeState,
};

export const endpointKinds: KindDef[] = [mdmTenantKind, deviceGroupKind, configurationProfileKind, compliancePolicyKind, appKind];
