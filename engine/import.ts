/**
 * `einklang import --env DIR --kind KIND`: reads the environment's targets
 * (read-only) and writes manifests for live objects of KIND that no manifest
 * declares, so that taking over an existing school network starts from what
 * is there instead of from a blank page.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ReadRequest, Resource } from './types.js';
import type { Workspace } from './workspace.js';
import { expandAll, isTargetResource, plannedTarget } from './targets.js';
import { readTargets } from './plan.js';
import { redactRefs, type Secrets } from './secrets.js';
import { API_VERSION, NAME_PATTERN } from './validate.js';

export interface ImportResult {
  file: string | null;
  count: number;
  errors: string[];
}

export async function importUnmanaged(ws: Workspace, kind: string, secrets: Secrets): Promise<ImportResult> {
  const { catalog } = ws;
  const def = catalog.kind(kind);
  if (!def || def.isMeta || def.isTarget) return { file: null, count: 0, errors: [`${kind} is not a kind of live object`] };
  if (!def.importAs) return { file: null, count: 0, errors: [`kind ${kind} cannot be imported (its driver cannot list unmanaged objects)`] };
  const env = ws.envs[0];
  const targets = ws.resources.filter((r) => isTargetResource(catalog, r));
  const byAddress = new Map(targets.map((t) => [t.address, t]));
  // Declared objects are requested too, so that the targets do not report them as unmanaged.
  const requests = new Map<string, ReadRequest[]>();
  for (const o of expandAll(catalog, ws.resources, ws.resolution.byAddress)) {
    (requests.get(o.target) ?? requests.set(o.target, []).get(o.target)!).push({ kind: o.kind, id: o.id, state: redactRefs(o.state) });
  }
  const results = await readTargets(catalog, targets.map(plannedTarget), requests, { secrets });
  const docs: string[] = [];
  const errors: string[] = [];
  const used = new Set(ws.resources.filter((r) => r.kind === kind).map((r) => r.name));
  for (const [addr, res] of results) {
    if (res instanceof Error) {
      errors.push(`${addr}: ${res.message}`);
      continue;
    }
    const target = byAddress.get(addr) as Resource;
    for (const u of res.unmanaged ?? []) {
      if (u.kind !== kind) continue;
      const m = def.importAs(u, target);
      let base = m.name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '').slice(0, 58) || 'imported';
      if (!NAME_PATTERN.test(base)) base = 'imported';
      let name = base;
      for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
      used.add(name);
      docs.push(stringify({ apiVersion: API_VERSION, kind, metadata: { name, labels: { 'einklang/imported-from': target.name } }, spec: m.spec }));
    }
  }
  if (!docs.length) return { file: null, count: 0, errors };
  let file = join(ws.folders[0].dir, `imported-${kind.toLowerCase()}.yaml`);
  for (let i = 2; existsSync(file); i++) file = join(ws.folders[0].dir, `imported-${kind.toLowerCase()}-${i}.yaml`);
  writeFileSync(file, `# Imported by einklang from the live state of ${env.name}; review before committing.\n` + docs.join('---\n'));
  return { file, count: docs.length, errors };
}
