/**
 * Writing ConfigurationProfiles (deviceManagement/deviceConfigurations) and
 * CompliancePolicies (deviceManagement/deviceCompliancePolicies).
 *
 * - create: `POST` with `@odata.type` and the settings (201 with the object);
 *   a compliance policy with `scheduledActionsForRule`, which Graph requires
 *   on create (resource page: "a required property when creating any
 *   individual per-platform compliance policies"); then `POST /{id}/assign`.
 *   If the assignment fails, the new object is deleted again.
 * - update, each step only when its part differs, in this order:
 *   `POST /{id}/assign` (200 with `value`), for compliance
 *   `POST /{id}/scheduleActionsForRules` (204, corpus
 *   deviceCompliancePolicy_scheduleActionsForRules.json), and last `PATCH
 *   /{id}` with `@odata.type` and the changed settings. A failed step undoes
 *   the earlier ones (the previous assignments and actions are sent again);
 *   the PATCH comes last so that it never needs undoing.
 * - `/assign` replaces the whole set (powershell-intune-samples#154; Graph's
 *   docs say "Not yet documented"), so it is always sent the whole desired
 *   set: read-modify-write, with the live assignment objects kept as they
 *   were (ids, filters) where their target stays. `POST .../assignments` has
 *   no route for compliance policies (microsoft-graph-docs #2326, #20615): only
 *   `/assign` is used. That an empty list clears every assignment is not
 *   documented anywhere found (UNVERIFIED; Intune tools that "remove all
 *   assignments" were no evidence either way); declaring `assignments: []`
 *   relies on it, and the simulator assumes it.
 * - delete: `DELETE /{id}` (204). A replace (another `@odata.type`) deletes
 *   and creates; if the create fails, the error says that the old object is gone.
 */
import { DriverError } from '../../../engine/contract.js';
import type { Change } from '../../../engine/model.js';
import { canonicalJson } from '../../../engine/hash.js';
import type { Graph } from './graph.js';
import type { GroupWriter } from './groups.js';
import { POLICIES, POLICY_EXPAND, PROFILE_EXPAND, PROFILES, groupNames, type Directory, type LivePolicy } from './read.js';
import { actionsOf, assignmentOf, hashType, rulesOf, targetOf, type GraphAssignment } from './shapes.js';
import { DEFAULT_ACTIONS, POLICY, SETTINGS, TYPE_KEY, canonicalActions, canonicalAssignments, settingsOf, type ActionState, type AssignmentState } from './state.js';
import { Undo, managedBy } from './undo.js';

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/**
 * The whole assignment set to send: the desired assignments, each as the live
 * assignment object when one with that target exists (kept as it is), else a
 * new one. `wrap` adds what the collection's assignment type needs.
 */
export async function assignmentSet(
  desired: AssignmentState[],
  live: GraphAssignment[],
  names: ReadonlyMap<string, string>,
  groups: GroupWriter,
  wrap: (target: GraphAssignment['target'], a: AssignmentState) => GraphAssignment,
): Promise<GraphAssignment[]> {
  const byState = new Map(live.map((a) => [canonicalJson(assignmentOf(a, names)), a]));
  const out: GraphAssignment[] = [];
  for (const a of canonicalAssignments(desired)) {
    const kept = byState.get(canonicalJson(a));
    if (kept) out.push(kept);
    else {
      const groupId = a.group === undefined ? undefined : await groups.idOf(a.group);
      out.push(wrap(targetOf(a, () => groupId!), a));
    }
  }
  return out;
}

export class PolicyWriter {
  constructor(
    private readonly graph: Graph,
    private readonly groups: GroupWriter,
    private readonly dir: Directory,
  ) {}

  private liveNames(live: GraphAssignment[]): Promise<ReadonlyMap<string, string>> {
    return groupNames(this.graph, this.dir, live);
  }

  private where(kind: string): { path: string; expand: string; assignmentType: string } {
    return kind === POLICY
      ? { path: POLICIES, expand: POLICY_EXPAND, assignmentType: '#microsoft.graph.deviceCompliancePolicyAssignment' }
      : { path: PROFILES, expand: PROFILE_EXPAND, assignmentType: '#microsoft.graph.deviceConfigurationAssignment' };
  }

  private async assign(kind: string, id: string, desired: AssignmentState[], live: GraphAssignment[]): Promise<void> {
    const { path, assignmentType } = this.where(kind);
    const names = await this.liveNames(live);
    const set = await assignmentSet(desired, live, names, this.groups, (target) => ({ '@odata.type': assignmentType, target }));
    await this.graph.http.post(`${path}/${id}/assign`, { assignments: set });
  }

  private async scheduleActions(id: string, actions: ActionState[]): Promise<void> {
    await this.graph.http.post(`${POLICIES}/${id}/scheduleActionsForRules`, { deviceComplianceScheduledActionForRules: rulesOf(actions) });
  }

  async apply(change: Change): Promise<void> {
    const object = `${change.kind} ${JSON.stringify(change.id)}`;
    const action = change.actions.join(',');
    const want = change.after;
    if (action === 'create') return this.create(change, want!, object);
    const { path, expand } = this.where(change.kind);
    const live = await this.graph.findOne<LivePolicy>(change.kind, path, change.id, { $expand: expand });
    if (action === 'delete') {
      if (live) await this.graph.http.delete(`${path}/${live.id}`);
      return;
    }
    if (action === 'delete,create') {
      if (live) await this.graph.http.delete(`${path}/${live.id}`);
      try {
        return await this.create(change, want!, object);
      } catch (e) {
        throw new DriverError(`${object}: the old object (another @odata.type) was deleted, but creating its replacement failed: ${(e as Error).message}. The tenant has no ${object} now; re-plan and apply to create it`, {
          code: (e as DriverError).opts?.code ?? 'E_API',
        });
      }
    }
    if (action !== 'update') throw new DriverError(`${object}: unsupported actions ${action}`, { code: 'E_UNSUPPORTED' });
    if (!live) throw new DriverError(`${object} no longer exists: re-plan`, { code: 'E_STALE' });
    await this.update(change.kind, live, want!, object);
  }

  private async create(change: Change, want: Record<string, unknown>, object: string): Promise<void> {
    const { path } = this.where(change.kind);
    const body: Record<string, unknown> = { ...settingsOf(want), displayName: change.id, description: managedBy(change.resource) };
    if (change.kind === POLICY) body.scheduledActionsForRule = rulesOf((want.actions as ActionState[] | undefined) ?? DEFAULT_ACTIONS);
    const created = await this.graph.http.post<LivePolicy>(path, body);
    const assignments = (want.assignments as AssignmentState[] | undefined) ?? [];
    if (!assignments.length) return;
    const undo = new Undo();
    undo.push(`delete the new ${change.kind} ${created.id}`, () => this.graph.http.delete(`${path}/${created.id}`));
    try {
      await this.assign(change.kind, created.id, assignments, []);
    } catch (e) {
      await undo.fail(e, object);
    }
  }

  private async update(kind: string, live: LivePolicy, want: Record<string, unknown>, object: string): Promise<void> {
    const { path } = this.where(kind);
    const liveAssignments = live.assignments ?? [];
    const undo = new Undo();
    try {
      if (Array.isArray(want.assignments)) {
        const names = await this.liveNames(liveAssignments);
        const current = canonicalAssignments(liveAssignments.map((a) => assignmentOf(a, names)));
        if (!same(current, canonicalAssignments(want.assignments as AssignmentState[]))) {
          await this.assign(kind, live.id, want.assignments as AssignmentState[], liveAssignments);
          undo.push(`restore the previous assignments of ${object}`, () => this.graph.http.post(`${path}/${live.id}/assign`, { assignments: liveAssignments }));
        }
      }
      if (kind === POLICY && Array.isArray(want.actions)) {
        const before = actionsOf(live.scheduledActionsForRule);
        if (!same(before, canonicalActions(want.actions as ActionState[]))) {
          await this.scheduleActions(live.id, want.actions as ActionState[]);
          undo.push(`restore the previous actions of ${object}`, () => this.scheduleActions(live.id, before));
        }
      }
      const patch: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(want)) {
        if (!k.startsWith(SETTINGS) || k === TYPE_KEY) continue;
        const name = k.slice(SETTINGS.length);
        if (!same(live[name] ?? null, v)) patch[name] = v;
      }
      if (Object.keys(patch).length) await this.graph.http.patch(`${path}/${live.id}`, { '@odata.type': hashType(live['@odata.type']), ...patch });
    } catch (e) {
      await undo.fail(e, object);
    }
  }
}
