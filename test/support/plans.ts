/**
 * Plans made by hand for governance tests that must still be true to the
 * repository they are applied in: apply re-reads the environments by name
 * and refuses a plan whose manifests hash, targets or trusted revision do not
 * match (engine/apply-checks.ts repositoryRules).
 */
import { join } from 'node:path';
import type { Change, Plan } from '../../engine/types.js';
import { loadWorkspace } from '../../engine/workspace.js';
import { computePlanHash } from '../../engine/plan-file.js';
import { isTargetResource, plannedTarget } from '../../engine/targets.js';
import { resolveTrust } from '../../engine/trust.js';
import { defaultCatalog } from '../../cli/catalog.js';
import { makePlan } from '../governance/helpers.js';

/**
 * A plan for the environments at `envDirs` (relative to `root`) with their
 * real manifests hash, targets and the repository's trusted revision; one
 * synthetic change on the first target unless `over.changes` says otherwise.
 */
export async function repositoryPlan(root: string, envDirs: string[], over: Partial<Plan> = {}): Promise<Plan> {
  const catalog = defaultCatalog();
  const ws = await loadWorkspace(catalog, envDirs.map((d) => join(root, d)), { repositoryWide: false });
  const targets = ws.resources.filter((r) => isTargetResource(catalog, r)).map(plannedTarget);
  const target = targets[0]?.address ?? '';
  const change: Change = {
    address: `${ws.envs[0]?.name}/Vlan/students[${target.split('/').pop()}]`,
    resource: `${ws.envs[0]?.name}/Vlan/students`,
    kind: 'Vlan',
    target,
    id: '20',
    actions: ['create'],
    before: null,
    after: { id: 20, name: 'SCHUELER' },
    diff: [],
    liveFingerprint: 'sha256:none',
    dependsOn: [],
  };
  const plan = makePlan({
    source: { gitRevision: null, dirty: false, manifestsHash: ws.manifestsHash, paths: envDirs },
    environments: ws.envs.map((e) => e.name).sort(),
    zone: ws.zone,
    changes: [change],
    trust: resolveTrust(root).trust,
    ...over,
  });
  (plan as Plan & { targets: unknown[] }).targets = targets;
  plan.hash = computePlanHash(plan);
  return plan;
}
