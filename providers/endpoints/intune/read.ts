/**
 * Reading a tenant: everything one environment needs, in a handful of
 * requests, only GETs (some inside JSON batches, whose envelope is a POST).
 *
 *   groups           GET /groups?$filter=securityEnabled eq true and mailEnabled eq false
 *                        [and startswith(displayName,'<prefix>')]&$select=...&$top=999
 *   members          GET /groups/{id}/members?$select=id,deviceId, 20 per $batch
 *   devices          GET /deviceManagement/managedDevices?$select=id,serialNumber,azureADDeviceId,...
 *   profiles         GET /deviceManagement/deviceConfigurations?$expand=assignments
 *   compliance       GET /deviceManagement/deviceCompliancePolicies
 *                        ?$expand=assignments,scheduledActionsForRule($expand=scheduledActionConfigurations)
 *   apps             GET /deviceAppManagement/mobileApps?$select=id,displayName,publishingState,
 *                    then GET /mobileApps/{id}?$expand=assignments per requested app, 20 per $batch
 *                    (listing apps with $expand=assignments is deprecated: "perform the expansion on
 *                    individual applications", Graph's mobileApp model documentation)
 *   group names      GET /groups/{id}?$select=id,displayName for assignment targets outside the group list
 *
 * `$expand=assignments` on the configuration and compliance lists is what
 * Intune tooling does in v1.0 (e.g. `v1.0/deviceManagement/deviceCompliancePolicies?
 * $expand=assignments,scheduledActionsForRule($expand=scheduledActionConfigurations)`
 * in tenant export scripts), saving one request per object. Collections are
 * read to the end through `@odata.nextLink` (Intune pages managed devices by
 * 1000: powershell-intune-samples issue #2; other page sizes are the
 * server's business).
 *
 * Refusals at plan time (one DriverError naming every offender): a serial
 * number that no managed device has (E_DEVICE_NOT_ENROLLED), one that several
 * have (E_AMBIGUOUS_LIVE: re-enrolment leaves stale records), a device without
 * an Entra ID device object (E_DEVICE_NOT_IN_ENTRA: only those can be group
 * members), an App that is not in the tenant (E_APP_NOT_FOUND), two live
 * objects with one displayName (E_AMBIGUOUS_LIVE). displayNames compare
 * case-insensitively, as Graph's `$filter eq` does.
 */
import { DriverError, type ReadRequest } from '../../../engine/contract.js';
import { objectKey, type ReadResult } from '../../../engine/model.js';
import { ambiguousLiveError, NaturalKeyIndex } from '../../kit/natural-key.js';
import type { Graph } from './graph.js';
import { odataString } from './graph.js';
import { actionsOf, assignmentsOf, settingsState, type GraphAssignment, type GraphRule } from './shapes.js';
import { APP, GROUP, POLICY, PROFILE, normalizeSerial, type AssignmentState } from './state.js';

export interface LiveGroup {
  id: string;
  displayName: string;
  groupTypes?: string[];
  membershipRule?: string | null;
}

export interface LiveMember {
  '@odata.type'?: string;
  id: string;
  deviceId?: string;
}

export interface ManagedDevice {
  id: string;
  serialNumber?: string;
  azureADDeviceId?: string;
  deviceName?: string;
  operatingSystem?: string;
}

export interface LivePolicy extends Record<string, unknown> {
  id: string;
  displayName: string;
  '@odata.type': string;
  assignments?: GraphAssignment[];
  scheduledActionsForRule?: GraphRule[];
}

export interface LiveApp {
  id: string;
  displayName: string;
  publishingState?: string;
  assignments?: GraphAssignment[];
}

const NO_ENTRA_ID = /^(|0{8}-0{4}-0{4}-0{4}-0{12})$/;

export const GROUP_SELECT = 'id,displayName,groupTypes,membershipRule,membershipRuleProcessingState';
export const DEVICE_SELECT = 'id,serialNumber,azureADDeviceId,deviceName,operatingSystem';
export const MEMBER_SELECT = 'id,deviceId';
export const PROFILES = '/deviceManagement/deviceConfigurations';
export const POLICIES = '/deviceManagement/deviceCompliancePolicies';
export const APPS = '/deviceAppManagement/mobileApps';
export const PROFILE_EXPAND = 'assignments';
export const POLICY_EXPAND = 'assignments,scheduledActionsForRule($expand=scheduledActionConfigurations)';

export const isDynamic = (g: LiveGroup) => (g.groupTypes ?? []).includes('DynamicMembership');
export const lower = (s: string) => s.toLowerCase();

/** Managed devices by serial number and by Entra device id. */
export class DeviceIndex {
  readonly bySerial = new Map<string, ManagedDevice[]>();
  readonly byEntraId = new Map<string, ManagedDevice>();

  constructor(devices: ManagedDevice[]) {
    for (const d of devices) {
      if (d.serialNumber) {
        const k = normalizeSerial(d.serialNumber);
        (this.bySerial.get(k) ?? this.bySerial.set(k, []).get(k)!).push(d);
      }
      if (d.azureADDeviceId && !NO_ENTRA_ID.test(d.azureADDeviceId)) this.byEntraId.set(d.azureADDeviceId, d);
    }
  }

  /**
   * The Entra device ids of these serial numbers, or the problems that stop
   * them from being group members, each naming the serial.
   */
  resolve(serials: string[]): { ids: Map<string, string>; problems: Problem[] } {
    const ids = new Map<string, string>();
    const problems: Problem[] = [];
    for (const s of serials) {
      const found = this.bySerial.get(normalizeSerial(s)) ?? [];
      if (!found.length) problems.push({ code: 'E_DEVICE_NOT_ENROLLED', text: `serial number ${s} is not enrolled in Intune (no managed device has it)` });
      else if (found.length > 1) problems.push({ code: 'E_AMBIGUOUS_LIVE', text: ambiguousLiveError('managed device', s, found.map((d) => d.id)).message });
      else if (NO_ENTRA_ID.test(found[0].azureADDeviceId ?? '')) {
        problems.push({ code: 'E_DEVICE_NOT_IN_ENTRA', text: `serial number ${s} (${found[0].deviceName ?? found[0].id}) has no Entra ID device object, so it cannot be a group member` });
      } else ids.set(normalizeSerial(s), found[0].azureADDeviceId!);
    }
    return { ids, problems };
  }

  /** How a live group member shows in state: its serial number, else `device:<deviceId>` or `<type>:<id>`. */
  memberLabel(m: LiveMember): string {
    const type = String(m['@odata.type'] ?? '#microsoft.graph.directoryObject').replace('#microsoft.graph.', '');
    if (type === 'device' && m.deviceId) {
      const d = this.byEntraId.get(m.deviceId);
      return d?.serialNumber ? normalizeSerial(d.serialNumber) : `device:${m.deviceId}`;
    }
    return `${type}:${m.id}`;
  }
}

/** What a session learns while reading and keeps for its writes. */
export interface Directory {
  /** lower-case displayName -> group id (created groups included). */
  groupIds: Map<string, string>;
  /** group id -> displayName (as the tenant writes it). */
  groupNames: Map<string, string>;
  /** Entra device id -> directory object id (from member lists and lookups). */
  deviceObjectIds: Map<string, string>;
  devices?: DeviceIndex;
}

export function newDirectory(): Directory {
  return { groupIds: new Map(), groupNames: new Map(), deviceObjectIds: new Map() };
}

/** Learns a group's name and id. */
export function knowGroup(dir: Directory, g: { id: string; displayName: string }): void {
  dir.groupIds.set(lower(g.displayName), g.id);
  dir.groupNames.set(g.id, g.displayName);
}

/**
 * displayNames of the groups these assignments target, by id: what the
 * session knows, the rest as `GET /groups/{id}?$select=id,displayName`, 20
 * per batch (Group.Read.All suffices; getByIds would need Directory.Read.All).
 * Deleted groups (404) stay unnamed.
 */
export async function groupNames(graph: Graph, dir: Directory, assigned: Iterable<GraphAssignment>): Promise<Map<string, string>> {
  const unknown = new Set<string>();
  for (const a of assigned) if (a.target?.groupId && !dir.groupNames.has(a.target.groupId)) unknown.add(a.target.groupId);
  const ids = [...unknown];
  const found = await graph.getMany(ids.map((id) => `/groups/${encodeURIComponent(id)}?$select=id,displayName`), [404]);
  for (const r of found) if (r.status === 200 && typeof r.body?.displayName === 'string') knowGroup(dir, r.body);
  return dir.groupNames;
}

/** Something that stops a plan, found while reading (all are reported together). */
interface Problem {
  code: string;
  text: string;
}

/** What a read found in the tenant. */
interface LiveTenant {
  groups: LiveGroup[];
  members: Map<string, LiveMember[]>;
  devices: DeviceIndex;
  profiles: LivePolicy[];
  policies: LivePolicy[];
  /** The requested apps that exist, with their assignments. */
  apps: [ReadRequest, LiveApp][];
  /** group id -> displayName */
  names: Map<string, string>;
}

/** Fails once, naming every problem (the first problem's code is the error's). */
function refuse(problems: Problem[]): void {
  if (!problems.length) return;
  throw new DriverError(problems.map((p) => p.text).join('; '), { code: problems[0].code });
}

export class TenantReader {
  constructor(
    private readonly graph: Graph,
    private readonly dir: Directory,
    /** Objects this environment owns start with it (a tenant shared by environments). */
    private readonly prefix?: string,
  ) {}

  private inScope(name: string): boolean {
    return this.prefix === undefined || name.startsWith(this.prefix);
  }

  listGroups(): Promise<LiveGroup[]> {
    const filter = ['securityEnabled eq true', 'mailEnabled eq false', ...(this.prefix !== undefined ? [`startswith(displayName,${odataString(this.prefix)})`] : [])].join(' and ');
    return this.graph.list<LiveGroup>('/groups', { $filter: filter, $select: GROUP_SELECT, $top: 999 });
  }

  async devices(): Promise<DeviceIndex> {
    this.dir.devices ??= new DeviceIndex(await this.graph.list<ManagedDevice>('/deviceManagement/managedDevices', { $select: DEVICE_SELECT }));
    return this.dir.devices;
  }

  /** Members of these groups (one batch per 20), and what they teach about device object ids. */
  async members(groups: LiveGroup[]): Promise<Map<string, LiveMember[]>> {
    const res = await this.graph.getMany(groups.map((g) => `/groups/${g.id}/members?$select=${MEMBER_SELECT}&$top=999`));
    const out = new Map<string, LiveMember[]>();
    groups.forEach((g, i) => {
      const list = (res[i].body?.value ?? []) as LiveMember[];
      for (const m of list) if (m.deviceId) this.dir.deviceObjectIds.set(m.deviceId, m.id);
      out.set(g.id, list);
    });
    return out;
  }

  async read(requests: ReadRequest[]): Promise<ReadResult> {
    const other = requests.find((r) => ![GROUP, PROFILE, POLICY, APP].includes(r.kind));
    if (other) throw new DriverError(`the intune driver does not manage ${other.kind}`, { code: 'E_UNSUPPORTED' });
    const want = (kind: string) => requests.filter((r) => r.kind === kind);
    const problems: Problem[] = [];
    const live = await this.fetch(want, problems);
    const out: ReadResult = { objects: {}, unmanaged: [] };
    this.groupObjects(want(GROUP), live, out, problems);
    this.policyObjects(want, live, out, problems);
    live.apps.forEach(([r, app]) => {
      out.objects[objectKey(APP, r.id)] = { kind: APP, id: r.id, state: { assignments: this.ownAssignments(assignmentsOf(app.assignments, live.names)) } };
    });
    refuse(problems);
    return out;
  }

  /** Everything the requests need, in as few requests as Graph allows (see the module comment). */
  private async fetch(want: (kind: string) => ReadRequest[], problems: Problem[]): Promise<LiveTenant> {
    const appRequests = want(APP);
    const [groups, profiles, policies, appList, devices] = await Promise.all([
      this.listGroups(),
      this.graph.list<LivePolicy>(PROFILES, { $expand: PROFILE_EXPAND }),
      this.graph.list<LivePolicy>(POLICIES, { $expand: POLICY_EXPAND }),
      appRequests.length ? this.graph.list<LiveApp>(APPS, { $select: 'id,displayName,publishingState' }) : Promise.resolve([] as LiveApp[]),
      want(GROUP).length ? this.devices() : Promise.resolve(undefined),
    ]);
    for (const g of groups) knowGroup(this.dir, g);
    // apps must exist (and be published to be assigned); their assignments one app at a time, batched
    const appIndex = new NaturalKeyIndex(appList, { kind: APP, keyOf: (a) => a.displayName, idOf: (a) => a.id, normalize: lower });
    const found: [ReadRequest, LiveApp][] = [];
    for (const r of appRequests) {
      const known = problems.length;
      const a = this.claim(appIndex, r, problems);
      if (!a) {
        // absent, unless claim found it ambiguous
        if (problems.length === known) problems.push({ code: 'E_APP_NOT_FOUND', text: `App ${JSON.stringify(r.id)} is not in the tenant (einklang assigns apps, it does not upload them)` });
      } else if (a.publishingState && a.publishingState !== 'published' && (r.state.assignments as unknown[] | undefined)?.length) {
        problems.push({ code: 'E_APP_NOT_PUBLISHED', text: `App ${JSON.stringify(r.id)} is ${a.publishingState}, not published; Intune assigns only published apps` });
      } else found.push([r, a]);
    }
    const expanded = await this.graph.getMany(found.map(([, a]) => `${APPS}/${a.id}?$expand=assignments`));
    const apps = found.map(([r], i): [ReadRequest, LiveApp] => [r, expanded[i].body as LiveApp]);
    const assigned = [...profiles, ...policies, ...apps.map(([, a]) => a)].flatMap((o) => o.assignments ?? []);
    const [names, members] = await Promise.all([groupNames(this.graph, this.dir, assigned), groups.length ? this.members(groups) : Promise.resolve(new Map<string, LiveMember[]>())]);
    // unmanaged groups need their members' serial numbers too
    const deviceIndex = devices ?? (groups.length ? await this.devices() : new DeviceIndex([]));
    return { groups, members, devices: deviceIndex, profiles, policies, apps, names };
  }

  private groupObjects(requests: ReadRequest[], live: LiveTenant, out: ReadResult, problems: Problem[]): void {
    const index = new NaturalKeyIndex(live.groups, { kind: GROUP, keyOf: (g) => g.displayName, idOf: (g) => g.id, normalize: lower });
    const state = (g: LiveGroup) => ({
      membershipRule: isDynamic(g) ? (g.membershipRule ?? '') : null,
      members: [...new Set((live.members.get(g.id) ?? []).map((m) => live.devices.memberLabel(m)))].sort(),
    });
    for (const r of requests) {
      if (Array.isArray(r.state.members)) {
        for (const p of live.devices.resolve(r.state.members as string[]).problems) problems.push({ code: p.code, text: `DeviceGroup ${JSON.stringify(r.id)}: ${p.text}` });
      }
      const g = this.claim(index, r, problems);
      out.objects[objectKey(GROUP, r.id)] = g ? { kind: GROUP, id: r.id, state: state(g) } : null;
      // assignments name a declared group as its manifest spells it (names compare without case)
      if (g) live.names.set(g.id, r.id);
    }
    for (const g of index.unclaimed()) out.unmanaged!.push({ kind: GROUP, id: g.displayName, state: state(g) });
  }

  private policyObjects(want: (kind: string) => ReadRequest[], live: LiveTenant, out: ReadResult, problems: Problem[]): void {
    const state = (kind: string, o: LivePolicy, keys?: string[]): Record<string, unknown> => ({
      ...settingsState(o, keys),
      assignments: assignmentsOf(o.assignments, live.names),
      ...(kind === POLICY ? { actions: actionsOf(o.scheduledActionsForRule) } : {}),
    });
    for (const [kind, list] of [
      [PROFILE, live.profiles],
      [POLICY, live.policies],
    ] as const) {
      const index = new NaturalKeyIndex(list, { kind, keyOf: (o) => o.displayName, idOf: (o) => o.id, normalize: lower });
      for (const r of want(kind)) {
        const o = this.claim(index, r, problems);
        out.objects[objectKey(kind, r.id)] = o ? { kind, id: r.id, state: state(kind, o, Object.keys(r.state)) } : null;
      }
      for (const o of index.unclaimed()) if (this.inScope(o.displayName)) out.unmanaged!.push({ kind, id: o.displayName, state: state(kind, o) });
    }
  }

  /** The live object for a request (collecting E_AMBIGUOUS_LIVE instead of throwing at once). */
  private claim<T>(index: NaturalKeyIndex<T>, r: ReadRequest, problems: Problem[]): T | undefined {
    try {
      return index.get(r.id);
    } catch (e) {
      problems.push({ code: (e as DriverError).opts.code ?? 'E_AMBIGUOUS_LIVE', text: (e as Error).message });
      return undefined;
    }
  }

  /** With a prefix, an environment owns an app's assignments to its own groups only. */
  ownAssignments(list: AssignmentState[]): AssignmentState[] {
    return this.prefix === undefined ? list : list.filter((a) => a.group !== undefined && a.group.startsWith(this.prefix!));
  }
}

