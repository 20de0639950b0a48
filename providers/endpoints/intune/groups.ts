/**
 * Writing DeviceGroups (Entra ID security groups of devices). Devices
 * themselves are never changed, only group membership.
 *
 * - create: `POST /groups` (security, not mail-enabled, a mailNickname Entra
 *   requires) with the first 20 members bound in the same request
 *   (`members@odata.bind`, all-or-nothing); the rest 20 at a time with
 *   `PATCH /groups/{id}` and `members@odata.bind` (group-post-members: "up to 20
 *   members in one request"). A dynamic group is created with its rule
 *   (`groupTypes: ["DynamicMembership"]`, `membershipRuleProcessingState: "On"`).
 * - members one by one through `$ref`: `POST /groups/{id}/members/$ref`
 *   (204) where a bound batch is refused because one of its devices is
 *   already a member (400 "already exist" — taken as done), and
 *   `DELETE /groups/{id}/members/{objectId}/$ref` to remove (404: gone already).
 * - right after a group was created, directory replication may answer 400/404
 *   "does not exist": writes to that group are retried with growing waits.
 * - Members are Entra ID device objects: a serial number leads to the managed
 *   device, its `azureADDeviceId` to the device object (`GET /devices?$filter=deviceId eq`),
 *   whose object id goes into the reference. Neither the managed device id
 *   nor the deviceId is accepted by Graph there.
 *
 * A change that fails leaves the group as it was: a created group is deleted
 * again, added members removed and removed members added back (in reverse
 * order); if that undo fails too, the error says exactly what is left.
 */
import { DriverError } from '../../../engine/contract.js';
import type { Change } from '../../../engine/model.js';
import type { Clock } from '../../kit/clock.js';
import { managedBy } from './undo.js';
import { isAlreadyMember, isNotYetConsistent, mailNickname, odataString, type Graph } from './graph.js';
import { GROUP_SELECT, MEMBER_SELECT, isDynamic, knowGroup, lower, type Directory, type LiveGroup, type LiveMember, type TenantReader } from './read.js';
import { GROUP } from './state.js';
import { Undo } from './undo.js';

/** Members bound per request (Graph: up to 20). */
const BIND_LIMIT = 20;
/** Waits for directory replication after creating a group (ms). */
const CONSISTENCY_WAITS = [1000, 2000, 4000, 8000, 16000];

export class GroupWriter {
  /** Groups created by this session (replication may lag behind them). */
  private readonly fresh = new Set<string>();

  constructor(
    private readonly graph: Graph,
    private readonly dir: Directory,
    private readonly reader: TenantReader,
    private readonly clock: Clock,
  ) {}

  private ref(objectId: string): string {
    return `${this.graph.http.origin}/v1.0/directoryObjects/${objectId}`;
  }

  /** The live group with this displayName (E_AMBIGUOUS_LIVE for several). */
  async find(displayName: string): Promise<LiveGroup | undefined> {
    const g = await this.graph.findOne<LiveGroup>(GROUP, '/groups', displayName, { $select: GROUP_SELECT });
    if (g) knowGroup(this.dir, g);
    return g;
  }

  /** The group id of a displayName an assignment names (cached from reads and creates). */
  async idOf(displayName: string): Promise<string> {
    const known = this.dir.groupIds.get(lower(displayName));
    if (known) return known;
    const g = await this.find(displayName);
    if (!g) throw new DriverError(`an assignment names DeviceGroup ${JSON.stringify(displayName)}, which is not in the tenant`, { code: 'E_GROUP_NOT_FOUND' });
    return g.id;
  }

  /** Directory object ids of devices by serial number (refusing serials that cannot be members). */
  private async objectIds(serials: string[]): Promise<Map<string, string>> {
    const devices = await this.reader.devices();
    const { ids, problems } = devices.resolve(serials);
    if (problems.length) throw new DriverError(problems.map((p) => p.text).join('; '), { code: problems[0].code });
    const unknown = [...new Set(ids.values())].filter((d) => !this.dir.deviceObjectIds.has(d));
    const found = await this.graph.getMany(unknown.map((d) => `/devices?$filter=deviceId eq ${odataString(d)}&$select=id,deviceId`));
    unknown.forEach((d, i) => {
      const o = (found[i].body?.value ?? [])[0] as { id: string } | undefined;
      if (o) this.dir.deviceObjectIds.set(d, o.id);
    });
    const out = new Map<string, string>();
    for (const [serial, deviceId] of ids) {
      const oid = this.dir.deviceObjectIds.get(deviceId);
      if (!oid) throw new DriverError(`serial number ${serial}: Entra ID has no device object with deviceId ${deviceId}, so it cannot be a group member`, { code: 'E_DEVICE_NOT_IN_ENTRA' });
      out.set(serial, oid);
    }
    return out;
  }

  /** A write to a group, retried while a just-created group is not yet visible everywhere. */
  private async withReplication<T>(groupId: string, write: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await write();
      } catch (e) {
        if (!this.fresh.has(groupId) || !isNotYetConsistent(e) || i >= CONSISTENCY_WAITS.length) throw e;
        await this.clock.sleep(CONSISTENCY_WAITS[i]);
      }
    }
  }

  private async addOne(groupId: string, objectId: string): Promise<boolean> {
    try {
      await this.withReplication(groupId, () => this.graph.http.post(`/groups/${groupId}/members/$ref`, { '@odata.id': this.ref(objectId) }));
      return true;
    } catch (e) {
      if (isAlreadyMember(e)) return false; // already a member: done
      throw e;
    }
  }

  /** Adds members, 20 per request; `undo` learns how to remove each one again. */
  private async addMembers(groupId: string, objectIds: string[], object: string, undo?: Undo): Promise<void> {
    for (let i = 0; i < objectIds.length; i += BIND_LIMIT) {
      const chunk = objectIds.slice(i, i + BIND_LIMIT);
      let added = chunk;
      try {
        await this.withReplication(groupId, () => this.graph.http.patch(`/groups/${groupId}`, { 'members@odata.bind': chunk.map((id) => this.ref(id)) }));
      } catch (e) {
        if (!isAlreadyMember(e)) throw e;
        added = [];
        for (const id of chunk) if (await this.addOne(groupId, id)) added.push(id);
      }
      for (const id of added) undo?.push(`remove ${id} from ${object} again`, () => this.removeOne(groupId, id));
    }
  }

  private async removeOne(groupId: string, objectId: string): Promise<void> {
    await this.withReplication(groupId, () => this.graph.http.delete(`/groups/${groupId}/members/${objectId}/$ref`, { accept: [404] }));
  }

  private async members(groupId: string): Promise<LiveMember[]> {
    return this.graph.list<LiveMember>(`/groups/${groupId}/members`, { $select: MEMBER_SELECT, $top: 999 });
  }

  async apply(change: Change): Promise<void> {
    const name = change.id;
    const object = `DeviceGroup ${JSON.stringify(name)}`;
    const want = change.after as { membershipRule?: string | null; members?: string[] } | null;
    const action = change.actions.join(',');
    if (action === 'delete') {
      const live = await this.find(name);
      if (live) await this.graph.http.delete(`/groups/${live.id}`);
      this.dir.groupIds.delete(lower(name));
      return;
    }
    if (action === 'create') return this.create(change, want!, object);
    if (action !== 'update') throw new DriverError(`${object}: unsupported actions ${action}`, { code: 'E_UNSUPPORTED' });
    const live = await this.find(name);
    if (!live) throw new DriverError(`${object} no longer exists: re-plan`, { code: 'E_STALE' });
    await this.update(live, want!, object);
  }

  private async create(change: Change, want: { membershipRule?: string | null; members?: string[] }, object: string): Promise<void> {
    const dynamic = typeof want.membershipRule === 'string';
    const oids = dynamic ? [] : [...(await this.objectIds(want.members ?? [])).values()];
    const body: Record<string, unknown> = {
      displayName: change.id,
      description: managedBy(change.resource),
      mailEnabled: false,
      mailNickname: mailNickname(change.id),
      securityEnabled: true,
      groupTypes: dynamic ? ['DynamicMembership'] : [],
      ...(dynamic ? { membershipRule: want.membershipRule, membershipRuleProcessingState: 'On' } : {}),
      ...(oids.length ? { 'members@odata.bind': oids.slice(0, BIND_LIMIT).map((id) => this.ref(id)) } : {}),
    };
    const g = await this.graph.http.post<LiveGroup>('/groups', body);
    this.fresh.add(g.id);
    knowGroup(this.dir, { id: g.id, displayName: change.id });
    const undo = new Undo();
    undo.push(`delete the new group ${g.id}`, async () => {
      await this.graph.http.delete(`/groups/${g.id}`);
      this.dir.groupIds.delete(lower(change.id));
    });
    try {
      // the undo of a create is deleting the group: its members go with it
      await this.addMembers(g.id, oids.slice(BIND_LIMIT), object);
    } catch (e) {
      await undo.fail(e, object);
    }
  }

  private async update(live: LiveGroup, want: { membershipRule?: string | null; members?: string[] }, object: string): Promise<void> {
    if (typeof want.membershipRule === 'string') {
      if (!isDynamic(live) || live.membershipRule !== want.membershipRule) {
        await this.graph.http.patch(`/groups/${live.id}`, { groupTypes: ['DynamicMembership'], membershipRule: want.membershipRule, membershipRuleProcessingState: 'On' });
      }
      return;
    }
    const undo = new Undo();
    try {
      if (isDynamic(live)) {
        await this.graph.http.patch(`/groups/${live.id}`, { groupTypes: [], membershipRule: null });
        undo.push(`make ${object} dynamic again`, () =>
          this.graph.http.patch(`/groups/${live.id}`, { groupTypes: live.groupTypes, membershipRule: live.membershipRule, membershipRuleProcessingState: 'On' }),
        );
      }
      const wanted = await this.objectIds(want.members ?? []);
      const wantedIds = new Set(wanted.values());
      const current = await this.members(live.id);
      const currentIds = new Set(current.map((m) => m.id));
      await this.addMembers(live.id, [...wantedIds].filter((id) => !currentIds.has(id)), object, undo);
      for (const m of current) {
        if (wantedIds.has(m.id)) continue;
        await this.removeOne(live.id, m.id);
        undo.push(`add ${m.id} to ${object} again`, () => this.addOne(live.id, m.id));
      }
    } catch (e) {
      await undo.fail(e, object);
    }
  }
}
