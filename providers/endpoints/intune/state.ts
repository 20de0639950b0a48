/**
 * The state einklang compares for Intune objects: what the kinds put into a
 * DesiredObject and what the intune driver reports as live, in one place so
 * both sides agree. Light: the kinds import it at validate time.
 *
 * Object identity (`DesiredObject.id`) is the object's `displayName`, per kind
 * per tenant (DESIGN.md: manifests never carry server ids).
 *
 *   DeviceGroup           { membershipRule: string | null, members: [serial, ...] }
 *     `members` are serial numbers (upper case, sorted). A static group declares
 *     them (spec.devices) and `membershipRule: null`; a dynamic group declares only
 *     `membershipRule` and its live `members` are what the rule selects (read by
 *     plan-stage policies such as the license seat count). A live member that is not
 *     an Intune-managed device is listed as `device:<deviceId>` or `<type>:<id>`.
 *   ConfigurationProfile  { "settings.@odata.type": "#microsoft.graph...", "settings.<name>": value, ..., assignments }
 *   CompliancePolicy      the same, plus actions: [{ action, gracePeriodHours, notificationTemplateId? }]
 *   App                   { assignments }
 *
 * Settings are flattened (`settings.cameraBlocked`) so that a plan shows one
 * line per changed setting, and only the settings a manifest names are
 * compared. Assignments are a sorted list of
 *   { group: "<displayName>" [, exclude: true] } | { allDevices: true } | { allLicensedUsers: true }
 * with `intent` for apps; a live assignment to a group that no longer exists
 * shows as { groupId }.
 */
import { canonicalJson } from '../../../engine/hash.js';

export const TENANT = 'MdmTenant';
export const GROUP = 'DeviceGroup';
export const PROFILE = 'ConfigurationProfile';
export const POLICY = 'CompliancePolicy';
export const APP = 'App';

/** Kinds whose objects live in a tenant. */
export const OBJECT_KINDS = [GROUP, PROFILE, POLICY, APP] as const;

export const SETTINGS = 'settings.';
export const TYPE_KEY = 'settings.@odata.type';

export type AppIntent = 'required' | 'available' | 'uninstall';
export const APP_INTENTS: readonly AppIntent[] = ['required', 'available', 'uninstall'];

export interface AssignmentState {
  group?: string;
  /** Live only: a target group that no longer exists (or cannot be resolved). */
  groupId?: string;
  allDevices?: true;
  allLicensedUsers?: true;
  exclude?: true;
  intent?: string;
}

export const COMPLIANCE_ACTIONS = ['block', 'notification', 'pushNotification', 'remoteLock', 'retire'] as const;

export interface ActionState {
  action: string;
  gracePeriodHours: number;
  notificationTemplateId?: string;
}

/** What Intune's portal sets when a policy says nothing: mark noncompliant at once. `scheduledActionsForRule` is required on create. */
export const DEFAULT_ACTIONS: ActionState[] = [{ action: 'block', gracePeriodHours: 0 }];

/** Serial numbers compare case-insensitively (Intune keeps what the device reports). */
export function normalizeSerial(s: string): string {
  return s.trim().toUpperCase();
}

function sortedUnique<T>(items: T[]): T[] {
  const byKey = new Map<string, T>();
  for (const x of items) byKey.set(canonicalJson(x), x);
  return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
}

/** One assignment in canonical form (no undefined fields, flags only when true). */
export function canonicalAssignment(a: AssignmentState): AssignmentState {
  const out: AssignmentState = {};
  if (a.group !== undefined) out.group = a.group;
  if (a.groupId !== undefined) out.groupId = a.groupId;
  if (a.allDevices) out.allDevices = true;
  if (a.allLicensedUsers) out.allLicensedUsers = true;
  if (a.exclude) out.exclude = true;
  if (a.intent !== undefined) out.intent = a.intent;
  return out;
}

export function canonicalAssignments(list: AssignmentState[]): AssignmentState[] {
  return sortedUnique(list.map(canonicalAssignment));
}

export function canonicalActions(list: ActionState[]): ActionState[] {
  return sortedUnique(
    list.map((a) => ({ action: a.action, gracePeriodHours: a.gracePeriodHours, ...(a.notificationTemplateId ? { notificationTemplateId: a.notificationTemplateId } : {}) })),
  );
}

/** `{ "@odata.type": t, cameraBlocked: false }` -> `{ "settings.@odata.type": t, "settings.cameraBlocked": false }` */
export function flattenSettings(settings: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings)) out[SETTINGS + k] = v;
  return out;
}

/** The settings held by a flattened state (with `@odata.type`). */
export function settingsOf(state: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state)) if (k.startsWith(SETTINGS)) out[k.slice(SETTINGS.length)] = v;
  return out;
}

/** Canonical form of a state of any Intune kind (desired and live alike). */
export function normalizeState(state: Record<string, unknown>): Record<string, unknown> {
  const out = { ...state };
  if (Array.isArray(out.members)) out.members = [...new Set((out.members as string[]).map((s) => (s.includes(':') ? s : normalizeSerial(s))))].sort();
  if (Array.isArray(out.assignments)) out.assignments = canonicalAssignments(out.assignments as AssignmentState[]);
  if (Array.isArray(out.actions)) out.actions = canonicalActions(out.actions as ActionState[]);
  return out;
}

/**
 * A manifest name for a live object, the way `einklang import` derives it
 * (engine/import.ts): imported assignments name their groups by it, so that
 * groups imported in the same run line up.
 */
export function importedName(displayName: string): string {
  return displayName.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '').slice(0, 58) || 'imported';
}
