/**
 * Graph objects <-> einklang state (intune/state.ts), both ways, for the
 * reader and the writers:
 * - assignment targets (`#microsoft.graph.groupAssignmentTarget {groupId}`,
 *   `exclusionGroupAssignmentTarget`, `allDevicesAssignmentTarget`,
 *   `allLicensedUsersAssignmentTarget`; research/intune-graph.md, corpus
 *   v1.0/*_assign.json). Graph writes `@odata.type` with or without `#`
 *   (the corpus has both); both are read;
 * - compliance actions: `scheduledActionsForRule` -> `scheduledActionConfigurations`
 *   (`{actionType, gracePeriodHours, notificationTemplateId}`); the one-rule
 *   shape `[{ruleName: "PasswordRequired", scheduledActionConfigurations: [...]}]`
 *   is what Microsoft's own PowerShell samples send to the live service
 *   (corpus intune-samples/iosCompliancePolicy_create.request.json), which
 *   settles the research sheet's UNVERIFIED note on it;
 * - settings: the live object's properties minus the base ones, projected
 *   onto the settings a manifest names.
 */
import { BASE_PROPERTIES } from './odata-types.js';
import { SETTINGS, TYPE_KEY, canonicalActions, canonicalAssignments, type ActionState, type AssignmentState } from './state.js';

export const RULE_NAME = 'PasswordRequired';

const TARGET = {
  group: '#microsoft.graph.groupAssignmentTarget',
  exclude: '#microsoft.graph.exclusionGroupAssignmentTarget',
  allDevices: '#microsoft.graph.allDevicesAssignmentTarget',
  allLicensedUsers: '#microsoft.graph.allLicensedUsersAssignmentTarget',
};

/** `microsoft.graph.x` -> `#microsoft.graph.x` */
export function hashType(t: unknown): string {
  return typeof t === 'string' && !t.startsWith('#') ? `#${t}` : String(t);
}

export interface GraphAssignment {
  id?: string;
  intent?: string;
  target?: { '@odata.type'?: string; groupId?: string; collectionId?: string };
  settings?: unknown;
  [k: string]: unknown;
}

/** One live assignment as state; groups by their displayName (`names`: id -> displayName). */
export function assignmentOf(a: GraphAssignment, names: ReadonlyMap<string, string>): AssignmentState {
  const t = a.target ?? {};
  const type = hashType(t['@odata.type']);
  const s: AssignmentState = {};
  if (type === TARGET.group || type === TARGET.exclude) {
    const name = t.groupId ? names.get(t.groupId) : undefined;
    if (name !== undefined) s.group = name;
    else s.groupId = String(t.groupId);
    if (type === TARGET.exclude) s.exclude = true;
  } else if (type === TARGET.allDevices) s.allDevices = true;
  else if (type === TARGET.allLicensedUsers) s.allLicensedUsers = true;
  else s.groupId = `${type.replace('#microsoft.graph.', '')}:${t.collectionId ?? t.groupId ?? ''}`;
  if (a.intent !== undefined) s.intent = a.intent;
  return s;
}

export function assignmentsOf(list: GraphAssignment[] | undefined, names: ReadonlyMap<string, string>): AssignmentState[] {
  return canonicalAssignments((list ?? []).map((a) => assignmentOf(a, names)));
}

/** The Graph target of a declared assignment (`groupIds`: displayName -> id). */
export function targetOf(a: AssignmentState, groupIds: (name: string) => string): GraphAssignment['target'] {
  if (a.allDevices) return { '@odata.type': TARGET.allDevices };
  if (a.allLicensedUsers) return { '@odata.type': TARGET.allLicensedUsers };
  return { '@odata.type': a.exclude ? TARGET.exclude : TARGET.group, groupId: groupIds(a.group!) };
}

export interface GraphRule {
  ruleName?: string;
  scheduledActionConfigurations?: { actionType?: string; gracePeriodHours?: number; notificationTemplateId?: string | null }[];
}

export function actionsOf(rules: GraphRule[] | undefined): ActionState[] {
  const out: ActionState[] = [];
  for (const r of rules ?? []) {
    for (const c of r.scheduledActionConfigurations ?? []) {
      out.push({ action: String(c.actionType), gracePeriodHours: Number(c.gracePeriodHours ?? 0), ...(c.notificationTemplateId ? { notificationTemplateId: c.notificationTemplateId } : {}) });
    }
  }
  return canonicalActions(out);
}

export function rulesOf(actions: ActionState[]): GraphRule[] {
  return [
    {
      ruleName: RULE_NAME,
      scheduledActionConfigurations: actions.map((a) => ({ actionType: a.action, gracePeriodHours: a.gracePeriodHours, notificationTemplateId: a.notificationTemplateId ?? '' })),
    },
  ];
}

const NOT_SETTINGS = new Set([...BASE_PROPERTIES, '@odata.type', '@odata.context', 'assignments', 'scheduledActionsForRule', 'assignments@odata.context', 'scheduledActionsForRule@odata.context']);

/**
 * The live settings as state: `settings.@odata.type`, and for `keys` (the
 * managed `settings.*` keys of a request) their live values (null when not
 * set); without `keys` every setting that is set (unmanaged objects, import).
 */
export function settingsState(obj: Record<string, unknown>, keys?: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { [TYPE_KEY]: hashType(obj['@odata.type']) };
  if (keys) {
    for (const k of keys) if (k.startsWith(SETTINGS) && k !== TYPE_KEY) out[k] = obj[k.slice(SETTINGS.length)] ?? null;
    return out;
  }
  for (const [k, v] of Object.entries(obj)) if (!NOT_SETTINGS.has(k) && !k.includes('@odata.') && v !== null) out[SETTINGS + k] = v;
  return out;
}
