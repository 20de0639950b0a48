/**
 * The simulated tenant's data: enrolled devices (Intune managed devices and
 * their Entra ID device objects), groups, configuration profiles, compliance
 * policies, apps and users, with the rules Graph enforces on them. Plain data
 * and plain functions; routes.ts turns HTTP into calls here.
 *
 * Modelled facts (research/intune-graph.md and the corpus):
 * - a managed device has its own id; its `azureADDeviceId` is the `deviceId`
 *   of an Entra ID device object, which has yet another id (the directory
 *   object id group membership uses). A device enrolled without Entra ID
 *   registration has the zero GUID there and no device object;
 * - managed devices are read-only here: tests change `complianceState` and
 *   `lastSyncDateTime` directly;
 * - groups: static members, or members computed from a dynamic rule;
 * - deviceConfigurations and deviceCompliancePolicies: `@odata.type` subtypes
 *   (odata-types.ts) whose unknown properties and wrong types are refused;
 *   assignments replaced as a whole by `/assign`;
 * - mobileApps: exist (uploaded outside), assignments replaced by `/assign`.
 * Ids are random; assignment and action ids are derived from their target so
 * that sending the same set again gives the same ids.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../kit/clock.js';
import { SUBTYPES, canonicalType, settingProblem, type Platform } from '../odata-types.js';
import { graphError } from './errors.js';
import { compileRule, type RuleDevice } from './membership-rule.js';

export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

export interface SimDevice {
  id: string;
  serialNumber: string;
  deviceName: string;
  operatingSystem: Platform;
  osVersion: string;
  model: string;
  manufacturer: string;
  complianceState: string;
  enrolledDateTime: string;
  lastSyncDateTime: string;
  /** Entra ID deviceId (the managed device's azureADDeviceId), ZERO_GUID when not registered. */
  deviceId: string;
  /** Directory object id of the Entra ID device, null when not registered. */
  objectId: string | null;
  physicalIds: string[];
}

export interface SimGroup {
  id: string;
  displayName: string;
  description: string | null;
  mailEnabled: boolean;
  mailNickname: string;
  securityEnabled: boolean;
  groupTypes: string[];
  membershipRule: string | null;
  membershipRuleProcessingState: string | null;
  createdDateTime: string;
  /** Clock time of creation (replication lag). */
  createdAt: number;
  /** Directory object ids of static members. */
  members: Set<string>;
}

export interface SimAssignment {
  id: string;
  intent?: string;
  target: Record<string, unknown>;
  settings?: unknown;
}

export interface SimRule {
  id: string;
  ruleName: string | null;
  scheduledActionConfigurations: { id: string; actionType: string; gracePeriodHours: number; notificationTemplateId: string; notificationMessageCCList: string[] }[];
}

export type PolicyCollection = 'deviceConfigurations' | 'deviceCompliancePolicies';

export interface SimPolicy {
  id: string;
  collection: PolicyCollection;
  type: string;
  displayName: string;
  description: string | null;
  createdDateTime: string;
  lastModifiedDateTime: string;
  version: number;
  settings: Record<string, unknown>;
  assignments: SimAssignment[];
  rules: SimRule[];
}

export interface SimApp {
  id: string;
  type: string;
  displayName: string;
  publisher: string;
  publishingState: 'notPublished' | 'processing' | 'published';
  createdDateTime: string;
  lastModifiedDateTime: string;
  assignments: SimAssignment[];
}

export interface SimUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
}

const TARGET_TYPES = ['groupAssignmentTarget', 'exclusionGroupAssignmentTarget', 'allDevicesAssignmentTarget', 'allLicensedUsersAssignmentTarget', 'configurationManagerCollectionAssignmentTarget'];
const APP_INTENTS = ['available', 'required', 'uninstall', 'availableWithoutEnrollment'];
const ACTION_TYPES = ['noAction', 'notification', 'block', 'retire', 'wipe', 'removeResourceAccessProfiles', 'pushNotification', 'remoteLock'];
const BASE = new Set(['id', 'createdDateTime', 'lastModifiedDateTime', 'displayName', 'description', 'version', '@odata.type']);
/** mailNickname: ASCII 0-127 without @ ( ) \ [ ] " ; : < > , and space (Entra ID). */
const MAIL_NICKNAME = /^[\x21-\x7e]{1,64}$/;
const MAIL_NICKNAME_FORBIDDEN = /[@()\\[\]";:<>,]/;

const short = (t: string) => t.replace(/^#?microsoft\.graph\./, '');

export class TenantModel {
  readonly devices = new Map<string, SimDevice>();
  readonly groups = new Map<string, SimGroup>();
  readonly policies = new Map<string, SimPolicy>();
  readonly apps = new Map<string, SimApp>();
  readonly users = new Map<string, SimUser>();
  /** Entra ID device object id -> device. */
  private readonly byObjectId = new Map<string, SimDevice>();

  constructor(
    private readonly clock: Clock,
    /** How long after its creation a group's members cannot be written (directory replication). */
    public replicationDelayMs = 0,
  ) {}

  now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  // ------------------------------------------------------------ out of band (lab, tests)

  /** Enrols a device (an iPad, a Windows PC); `entra: false` enrols it without an Entra ID device object. */
  enrol(d: { serialNumber: string; operatingSystem?: Platform; deviceName?: string; physicalIds?: string[]; entra?: boolean; model?: string }): SimDevice {
    const os = d.operatingSystem ?? 'iOS';
    const entra = d.entra !== false;
    const device: SimDevice = {
      id: randomUUID(),
      serialNumber: d.serialNumber,
      deviceName: d.deviceName ?? `${os === 'iOS' ? 'iPad' : os === 'Windows' ? 'PC' : 'Android'}-${d.serialNumber}`,
      operatingSystem: os,
      osVersion: os === 'iOS' ? '17.5.1' : os === 'Windows' ? '10.0.22631.3880' : '14',
      model: d.model ?? (os === 'iOS' ? 'iPad (10th generation)' : os === 'Windows' ? 'Latitude 3440' : 'Galaxy Tab A9'),
      manufacturer: os === 'iOS' ? 'Apple' : os === 'Windows' ? 'Dell Inc.' : 'samsung',
      complianceState: 'compliant',
      enrolledDateTime: this.now(),
      lastSyncDateTime: this.now(),
      deviceId: entra ? randomUUID() : ZERO_GUID,
      objectId: entra ? randomUUID() : null,
      physicalIds: d.physicalIds ?? [],
    };
    this.devices.set(device.id, device);
    if (device.objectId) this.byObjectId.set(device.objectId, device);
    return device;
  }

  addApp(a: { displayName: string; type?: string; publishingState?: SimApp['publishingState']; publisher?: string }): SimApp {
    const app: SimApp = {
      id: randomUUID(),
      type: canonicalType(a.type ?? '#microsoft.graph.iosVppApp')!,
      displayName: a.displayName,
      publisher: a.publisher ?? 'einklang lab',
      publishingState: a.publishingState ?? 'published',
      createdDateTime: this.now(),
      lastModifiedDateTime: this.now(),
      assignments: [],
    };
    this.apps.set(app.id, app);
    return app;
  }

  addUser(displayName: string): SimUser {
    const u = { id: randomUUID(), displayName, userPrincipalName: `${displayName.replace(/\W+/g, '.').toLowerCase()}@lab.invalid` };
    this.users.set(u.id, u);
    return u;
  }

  // ------------------------------------------------------------ directory

  /** A directory object (device, user, group) by its id. */
  directoryObject(id: string): Record<string, unknown> | undefined {
    const d = this.byObjectId.get(id);
    if (d) return this.entraDeviceJson(d);
    const u = this.users.get(id);
    if (u) return { '@odata.type': '#microsoft.graph.user', ...u };
    const g = this.groups.get(id);
    return g ? { '@odata.type': '#microsoft.graph.group', ...this.groupJson(g) } : undefined;
  }

  private ruleDevice(d: SimDevice): RuleDevice {
    return { displayName: d.deviceName, deviceOSType: d.operatingSystem === 'iOS' ? 'iPad' : d.operatingSystem, deviceOSVersion: d.osVersion, deviceModel: d.model, deviceManufacturer: d.manufacturer, devicePhysicalIds: d.physicalIds };
  }

  isDynamic(g: SimGroup): boolean {
    return g.groupTypes.includes('DynamicMembership');
  }

  /** Member object ids: the static ones, or what the rule selects among Entra ID devices. */
  membersOf(g: SimGroup): string[] {
    if (!this.isDynamic(g) || !g.membershipRule) return [...g.members];
    const rule = compileRule(g.membershipRule);
    return [...this.devices.values()].filter((d) => d.objectId && rule(this.ruleDevice(d))).map((d) => d.objectId!);
  }

  /** The directory object id a `$ref` / `@odata.bind` URL names (…/directoryObjects/{id}, …/devices/{id}, …/users/{id}). */
  refId(url: unknown): string {
    const m = typeof url === 'string' ? /\/v1\.0\/(?:directoryObjects|devices|users|groups)\/([^/?#]+)$/.exec(url) : null;
    if (!m) throw graphError(400, 'Request_BadRequest', `Invalid object identifier '${String(url)}'.`);
    const id = decodeURIComponent(m[1]);
    if (!this.directoryObject(id)) throw graphError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
    return id;
  }

  /** Member writes to a group that replication has not spread yet fail as Entra ID's do. */
  checkReplicated(g: SimGroup): void {
    if (this.clock.now() < g.createdAt + this.replicationDelayMs) {
      throw graphError(400, 'Request_BadRequest', 'The source resource object or one of the objects being referenced do not exist; the directory may still be replicating a new object.');
    }
  }

  private checkStatic(g: SimGroup): void {
    if (this.isDynamic(g)) throw graphError(400, 'Request_BadRequest', 'Members of a group with dynamic membership cannot be added or removed: its membership rule decides them.');
  }

  addMember(g: SimGroup, objectId: string): void {
    this.checkStatic(g);
    this.checkReplicated(g);
    if (g.members.has(objectId)) throw graphError(400, 'Request_BadRequest', "One or more added object references already exist for the following modified properties: 'members'.");
    g.members.add(objectId);
  }

  removeMember(g: SimGroup, objectId: string): void {
    this.checkStatic(g);
    this.checkReplicated(g);
    if (!g.members.delete(objectId)) throw graphError(404, 'Request_ResourceNotFound', `Resource '${objectId}' does not exist or one of its queried reference-property objects are not present.`);
  }

  /** `members@odata.bind`: up to 20, all or nothing. */
  bindMembers(g: SimGroup, refs: unknown): void {
    if (!Array.isArray(refs)) throw graphError(400, 'Request_BadRequest', "Invalid value for 'members@odata.bind': an array of object URLs.");
    if (refs.length > 20) throw graphError(400, 'Request_BadRequest', 'The number of members to add in one request cannot exceed 20.');
    const ids = refs.map((r) => this.refId(r));
    this.checkStatic(g);
    this.checkReplicated(g);
    if (ids.some((id) => g.members.has(id)) || new Set(ids).size !== ids.length) {
      throw graphError(400, 'Request_BadRequest', "One or more added object references already exist for the following modified properties: 'members'.");
    }
    for (const id of ids) g.members.add(id);
  }

  createGroup(b: Record<string, unknown>): SimGroup {
    const bad = (prop: string, why = '') => graphError(400, 'Request_BadRequest', `Invalid value specified for property '${prop}' of resource 'Group'.${why}`);
    if (typeof b.displayName !== 'string' || !b.displayName.trim() || b.displayName.length > 256) throw bad('displayName');
    if (typeof b.mailNickname !== 'string' || !MAIL_NICKNAME.test(b.mailNickname) || MAIL_NICKNAME_FORBIDDEN.test(b.mailNickname)) throw bad('mailNickname');
    if (typeof b.mailEnabled !== 'boolean' || typeof b.securityEnabled !== 'boolean') throw bad('mailEnabled', ' mailEnabled and securityEnabled are required.');
    const types = (b.groupTypes ?? []) as unknown;
    if (!Array.isArray(types) || types.some((t) => t !== 'DynamicMembership' && t !== 'Unified')) throw bad('groupTypes');
    if (b.mailEnabled && !types.includes('Unified')) throw graphError(400, 'Request_BadRequest', 'Creating mail-enabled security groups is not supported through Microsoft Graph.');
    const dynamic = types.includes('DynamicMembership');
    if (dynamic !== (typeof b.membershipRule === 'string')) throw bad('membershipRule', ' A dynamic group needs a rule, a static group none.');
    if (dynamic) compileRule(b.membershipRule as string);
    const g: SimGroup = {
      id: randomUUID(),
      displayName: b.displayName,
      description: typeof b.description === 'string' ? b.description : null,
      mailEnabled: b.mailEnabled,
      mailNickname: b.mailNickname,
      securityEnabled: b.securityEnabled,
      groupTypes: [...types],
      membershipRule: dynamic ? (b.membershipRule as string) : null,
      membershipRuleProcessingState: dynamic ? String(b.membershipRuleProcessingState ?? 'On') : null,
      createdDateTime: this.now(),
      createdAt: this.clock.now(),
      members: new Set(),
    };
    const bind = b['members@odata.bind'];
    if (bind !== undefined) {
      if (dynamic) throw graphError(400, 'Request_BadRequest', 'Members of a group with dynamic membership cannot be added or removed: its membership rule decides them.');
      if (!Array.isArray(bind) || bind.length > 20) throw graphError(400, 'Request_BadRequest', 'The number of members to add in one request cannot exceed 20.');
      for (const id of bind.map((r) => this.refId(r))) g.members.add(id); // created with its members: no replication lag
    }
    this.groups.set(g.id, g);
    return g;
  }

  updateGroup(g: SimGroup, b: Record<string, unknown>): void {
    const allowed = new Set(['displayName', 'description', 'groupTypes', 'membershipRule', 'membershipRuleProcessingState', 'members@odata.bind', 'mailNickname']);
    const unknown = Object.keys(b).find((k) => !allowed.has(k));
    if (unknown) throw graphError(400, 'Request_BadRequest', `Property '${unknown}' is read-only or does not exist on resource 'Group'.`);
    const types = b.groupTypes !== undefined ? (b.groupTypes as string[]) : g.groupTypes;
    const rule = b.membershipRule !== undefined ? (b.membershipRule as string | null) : g.membershipRule;
    const dynamic = types.includes('DynamicMembership');
    if (dynamic && typeof rule !== 'string') throw graphError(400, 'Request_BadRequest', "Invalid value specified for property 'membershipRule' of resource 'Group'.");
    if (dynamic) compileRule(rule!);
    if (b['members@odata.bind'] !== undefined) {
      if (Object.keys(b).length > 1) throw graphError(400, 'Request_BadRequest', 'Members are added on their own, not together with other properties.');
      return this.bindMembers(g, b['members@odata.bind']);
    }
    // becoming static keeps the members the rule selected (Entra ID keeps them as assigned members)
    if (this.isDynamic(g) && !dynamic) g.members = new Set(this.membersOf(g));
    if (!this.isDynamic(g) && dynamic) g.members = new Set();
    if (typeof b.displayName === 'string') g.displayName = b.displayName;
    if (b.description !== undefined) g.description = b.description as string | null;
    g.groupTypes = [...types];
    g.membershipRule = dynamic ? rule : null;
    g.membershipRuleProcessingState = dynamic ? String(b.membershipRuleProcessingState ?? g.membershipRuleProcessingState ?? 'On') : null;
  }

  // ------------------------------------------------------------ policies

  private checkSettings(type: string, collection: PolicyCollection, body: Record<string, unknown>): Record<string, unknown> {
    const sub = SUBTYPES.get(type);
    const expected = collection === 'deviceConfigurations' ? 'deviceConfiguration' : 'deviceCompliancePolicy';
    if (!sub || sub.collection !== collection) {
      throw graphError(400, 'BadRequest', `The type '${short(type)}' is not a known subtype of 'microsoft.graph.${expected}' in this service.`);
    }
    const settings: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) {
      if (BASE.has(k) || k === 'scheduledActionsForRule' || k === 'assignments') continue;
      const problem = settingProblem(sub, k, v);
      if (problem?.includes('has no setting')) {
        throw graphError(400, 'BadRequest', `The property '${k}' does not exist on type 'microsoft.graph.${short(type)}'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
      }
      if (problem) throw graphError(400, 'BadRequest', `Cannot convert the literal '${JSON.stringify(v)}' to the expected type of '${k}': ${problem}.`);
      settings[k] = v;
    }
    return settings;
  }

  private rules(policyId: string, list: unknown): SimRule[] {
    if (!Array.isArray(list) || !list.length) throw graphError(400, 'BadRequest', 'scheduledActionsForRule is required when creating a compliance policy: at least one rule with its scheduledActionConfigurations.');
    return list.map((r: Record<string, unknown>) => {
      const configs = Array.isArray(r.scheduledActionConfigurations) ? r.scheduledActionConfigurations : [];
      const ruleName = typeof r.ruleName === 'string' ? r.ruleName : null;
      return {
        id: `${policyId}_${ruleName ?? 'rule'}`,
        ruleName,
        scheduledActionConfigurations: configs.map((c: Record<string, unknown>, i: number) => {
          if (!ACTION_TYPES.includes(String(c.actionType))) throw graphError(400, 'BadRequest', `Requested value '${String(c.actionType)}' was not found for deviceComplianceActionType.`);
          if (!Number.isInteger(c.gracePeriodHours ?? 0)) throw graphError(400, 'BadRequest', 'gracePeriodHours must be an integer.');
          return {
            id: `${policyId}_${c.actionType}_${i}`,
            actionType: String(c.actionType),
            gracePeriodHours: Number(c.gracePeriodHours ?? 0),
            notificationTemplateId: String(c.notificationTemplateId ?? ''),
            notificationMessageCCList: Array.isArray(c.notificationMessageCCList) ? (c.notificationMessageCCList as string[]) : [],
          };
        }),
      };
    });
  }

  createPolicy(collection: PolicyCollection, b: Record<string, unknown>): SimPolicy {
    const type = canonicalType(b['@odata.type']);
    if (!type) throw graphError(400, 'BadRequest', `A type name must be given for an entity of the abstract type 'microsoft.graph.${collection === 'deviceConfigurations' ? 'deviceConfiguration' : 'deviceCompliancePolicy'}'.`);
    if (typeof b.displayName !== 'string' || !b.displayName) throw graphError(400, 'BadRequest', "The property 'displayName' is required.");
    const settings = this.checkSettings(type, collection, b);
    const id = randomUUID();
    const p: SimPolicy = {
      id,
      collection,
      type,
      displayName: b.displayName,
      description: typeof b.description === 'string' ? b.description : null,
      createdDateTime: this.now(),
      lastModifiedDateTime: this.now(),
      version: 1,
      settings,
      assignments: [],
      rules: collection === 'deviceCompliancePolicies' ? this.rules(id, b.scheduledActionsForRule) : [],
    };
    this.policies.set(id, p);
    return p;
  }

  updatePolicy(p: SimPolicy, b: Record<string, unknown>): void {
    const type = canonicalType(b['@odata.type']);
    if (type && type !== p.type) throw graphError(400, 'BadRequest', `The type of an existing object cannot change (${short(p.type)} to ${short(type)}).`);
    // without @odata.type the body is read as the abstract base type, which has no settings
    const setting = Object.keys(b).find((k) => !BASE.has(k));
    if (!type && setting) {
      const base = p.collection === 'deviceConfigurations' ? 'deviceConfiguration' : 'deviceCompliancePolicy';
      throw graphError(400, 'BadRequest', `The property '${setting}' does not exist on type 'microsoft.graph.${base}'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
    }
    const settings = type ? this.checkSettings(type, p.collection, b) : {};
    Object.assign(p.settings, settings);
    if (typeof b.displayName === 'string') p.displayName = b.displayName;
    if (b.description !== undefined) p.description = b.description as string | null;
    p.version++;
    p.lastModifiedDateTime = this.now();
  }

  scheduleActions(p: SimPolicy, b: Record<string, unknown>): void {
    p.rules = this.rules(p.id, b.deviceComplianceScheduledActionForRules);
  }

  /** `/assign`: the whole set, replaced. */
  assignmentsFrom(ownerId: string, list: unknown, app: boolean): SimAssignment[] {
    if (!Array.isArray(list)) throw graphError(400, 'BadRequest', `The parameter '${app ? 'mobileAppAssignments' : 'assignments'}' must be a collection.`);
    return list.map((a: Record<string, unknown>) => {
      const t = (a.target ?? {}) as Record<string, unknown>;
      const tt = short(String(t['@odata.type'] ?? ''));
      if (!TARGET_TYPES.includes(tt)) throw graphError(400, 'BadRequest', `Unknown assignment target type '${String(t['@odata.type'])}'.`);
      if (tt.includes('Group') && !this.groups.has(String(t.groupId))) throw graphError(400, 'BadRequest', `The group '${String(t.groupId)}' of an assignment target was not found.`);
      if (app && !APP_INTENTS.includes(String(a.intent))) throw graphError(400, 'BadRequest', `Requested value '${String(a.intent)}' was not found for installIntent.`);
      const key = t.groupId ?? t.collectionId ?? tt;
      return {
        id: `${ownerId}_${tt}_${String(key)}${app ? `_${a.intent}` : ''}`,
        ...(app ? { intent: String(a.intent), settings: a.settings ?? null } : {}),
        target: { '@odata.type': `#microsoft.graph.${tt}`, ...(t.groupId !== undefined ? { groupId: t.groupId } : {}), ...(t.collectionId !== undefined ? { collectionId: t.collectionId } : {}) },
      };
    });
  }

  // ------------------------------------------------------------ JSON as Graph returns it

  managedDeviceJson(d: SimDevice): Record<string, unknown> {
    return {
      '@odata.type': '#microsoft.graph.managedDevice',
      id: d.id,
      userId: '',
      deviceName: d.deviceName,
      managedDeviceOwnerType: 'company',
      enrolledDateTime: d.enrolledDateTime,
      lastSyncDateTime: d.lastSyncDateTime,
      operatingSystem: d.operatingSystem,
      complianceState: d.complianceState,
      jailBroken: 'False',
      managementAgent: 'mdm',
      osVersion: d.osVersion,
      azureADRegistered: d.objectId !== null,
      deviceEnrollmentType: d.operatingSystem === 'iOS' ? 'appleBulkWithoutUser' : 'windowsAzureADJoin',
      emailAddress: '',
      azureADDeviceId: d.deviceId,
      deviceRegistrationState: d.objectId !== null ? 'registered' : 'notRegistered',
      isSupervised: d.operatingSystem === 'iOS',
      isEncrypted: true,
      userPrincipalName: '',
      model: d.model,
      manufacturer: d.manufacturer,
      serialNumber: d.serialNumber,
      userDisplayName: '',
      managedDeviceName: `${d.deviceName}_${d.operatingSystem}`,
      notes: null,
    };
  }

  entraDeviceJson(d: SimDevice): Record<string, unknown> {
    return {
      '@odata.type': '#microsoft.graph.device',
      id: d.objectId,
      deviceId: d.deviceId,
      displayName: d.deviceName,
      operatingSystem: d.operatingSystem === 'iOS' ? 'iPadOS' : d.operatingSystem,
      operatingSystemVersion: d.osVersion,
      physicalIds: d.physicalIds,
      accountEnabled: true,
      trustType: 'AzureAd',
    };
  }

  entraDevices(): Record<string, unknown>[] {
    return [...this.devices.values()].filter((d) => d.objectId).map((d) => this.entraDeviceJson(d));
  }

  groupJson(g: SimGroup): Record<string, unknown> {
    return {
      id: g.id,
      deletedDateTime: null,
      classification: null,
      createdDateTime: g.createdDateTime,
      description: g.description,
      displayName: g.displayName,
      groupTypes: g.groupTypes,
      mail: null,
      mailEnabled: g.mailEnabled,
      mailNickname: g.mailNickname,
      membershipRule: g.membershipRule,
      membershipRuleProcessingState: g.membershipRuleProcessingState,
      securityEnabled: g.securityEnabled,
      visibility: null,
    };
  }

  policyJson(p: SimPolicy, expand: { assignments?: boolean; rules?: boolean } = {}): Record<string, unknown> {
    return {
      '@odata.type': p.type,
      id: p.id,
      createdDateTime: p.createdDateTime,
      description: p.description,
      lastModifiedDateTime: p.lastModifiedDateTime,
      displayName: p.displayName,
      version: p.version,
      ...Object.fromEntries([...SUBTYPES.get(p.type)!.fields.keys()].map((k) => [k, p.settings[k] ?? null])),
      ...(expand.assignments ? { assignments: p.assignments.map((a) => this.assignmentJson(a, p.collection === 'deviceConfigurations' ? 'deviceConfigurationAssignment' : 'deviceCompliancePolicyAssignment')) } : {}),
      ...(expand.rules ? { scheduledActionsForRule: p.rules.map((r) => ({ '@odata.type': '#microsoft.graph.deviceComplianceScheduledActionForRule', id: r.id, ruleName: r.ruleName, scheduledActionConfigurations: r.scheduledActionConfigurations.map((c) => ({ '@odata.type': '#microsoft.graph.deviceComplianceActionItem', ...c })) })) } : {}),
    };
  }

  assignmentJson(a: SimAssignment, type: string): Record<string, unknown> {
    return { '@odata.type': `#microsoft.graph.${type}`, ...a };
  }

  appJson(a: SimApp, expand = false): Record<string, unknown> {
    return {
      '@odata.type': a.type,
      id: a.id,
      displayName: a.displayName,
      description: '',
      publisher: a.publisher,
      createdDateTime: a.createdDateTime,
      lastModifiedDateTime: a.lastModifiedDateTime,
      isFeatured: false,
      privacyInformationUrl: null,
      informationUrl: null,
      owner: '',
      developer: '',
      notes: '',
      publishingState: a.publishingState,
      ...(expand ? { assignments: a.assignments.map((x) => this.assignmentJson(x, 'mobileAppAssignment')) } : {}),
    };
  }

  /** The tenant as plain data, for tests that compare before and after (a failed change must leave it equal). */
  snapshot(): unknown {
    const sort = <T>(xs: T[], key: (x: T) => string) => [...xs].sort((a, b) => key(a).localeCompare(key(b)));
    return {
      groups: sort([...this.groups.values()], (g) => g.id).map((g) => ({ ...this.groupJson(g), members: this.membersOf(g).sort() })),
      policies: sort([...this.policies.values()], (p) => p.id).map((p) => this.policyJson(p, { assignments: true, rules: true })),
      apps: sort([...this.apps.values()], (a) => a.id).map((a) => this.appJson(a, true)),
      devices: sort([...this.devices.values()], (d) => d.id).map((d) => this.managedDeviceJson(d)),
    };
  }
}
