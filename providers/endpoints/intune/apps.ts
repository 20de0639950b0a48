/**
 * Writing an App's assignments. Apps themselves exist outside einklang
 * (uploaded or bought): einklang never creates, changes or deletes one.
 *
 * `POST /deviceAppManagement/mobileApps/{id}/assign` with
 * `{mobileAppAssignments: [...]}` answers 204 and replaces every assignment of
 * the app (research/intune-graph.md; powershell-intune-samples#154), so the
 * whole set is sent: the desired assignments (live ones kept as they are,
 * with their settings, where target and intent stay) and, in a tenant shared
 * by prefix, every live assignment to another environment's groups untouched.
 * One write: nothing to undo.
 */
import { DriverError } from '../../../engine/contract.js';
import type { Change } from '../../../engine/model.js';
import type { Graph } from './graph.js';
import type { GroupWriter } from './groups.js';
import { assignmentSet } from './policies.js';
import { APPS, groupNames, type Directory, type LiveApp, type TenantReader } from './read.js';
import { assignmentOf } from './shapes.js';
import { APP, type AssignmentState } from './state.js';

export class AppWriter {
  constructor(
    private readonly graph: Graph,
    private readonly groups: GroupWriter,
    private readonly dir: Directory,
    private readonly reader: TenantReader,
  ) {}

  async apply(change: Change): Promise<void> {
    const object = `App ${JSON.stringify(change.id)}`;
    if (change.actions.join(',') !== 'update') throw new DriverError(`${object}: apps are not created or deleted by einklang (only their assignments change)`, { code: 'E_UNSUPPORTED' });
    const found = await this.graph.findOne<LiveApp>(APP, APPS, change.id, { $select: 'id,displayName' });
    if (!found) throw new DriverError(`${object} is not in the tenant any more: re-plan`, { code: 'E_STALE' });
    const app = await this.graph.http.get<LiveApp>(`${APPS}/${found.id}`, { query: { $expand: 'assignments' } });
    const live = app.assignments ?? [];
    const names = await groupNames(this.graph, this.dir, live);
    const states = live.map((a) => assignmentOf(a, names));
    const own = new Set(this.reader.ownAssignments(states));
    const others = live.filter((_, i) => !own.has(states[i]));
    const desired = (change.after?.assignments as AssignmentState[] | undefined) ?? [];
    const set = await assignmentSet(desired, live, names, this.groups, (target, a) => ({ '@odata.type': '#microsoft.graph.mobileAppAssignment', intent: a.intent, target, settings: null }));
    await this.graph.http.post(`${APPS}/${found.id}/assign`, { mobileAppAssignments: [...set, ...others] });
  }
}
