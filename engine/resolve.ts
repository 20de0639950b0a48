/**
 * Stage 4: resolve references by name. A reference is a dependency edge; a
 * reference to a name that does not exist is a diagnostic, and so is one that
 * crosses zones (a school resource naming an administration device), a
 * duplicate name, and a dependency cycle. A dangling reference says which
 * name of that kind it was probably meant to be; a reference to a document
 * that failed validation is not reported again (its own error is the cause).
 */
import type { Diagnostic, KindDef, Resource } from './types.js';
import { positionOf } from './load.js';
import { Graph } from './graph.js';
import { didYouMean } from './suggest.js';

export interface ResolvedReference {
  from: Resource;
  pointer: string;
  to: Resource;
}

export interface Resolution {
  graph: Graph;
  references: ResolvedReference[];
  byAddress: Map<string, Resource>;
  diagnostics: Diagnostic[];
}

/**
 * @param resources the run's resources (one or more environments)
 * @param repository every resource of the repository (for telling a cross-zone reference from a typo)
 * @param failed addresses of documents that failed validation (validate.ts)
 */
export function resolveReferences(resources: Resource[], kinds: (k: string) => KindDef | undefined, repository: Resource[] = resources, failed: Iterable<string> = []): Resolution {
  const failedAddresses = new Set(failed);
  const diagnostics: Diagnostic[] = [];
  const byAddress = new Map<string, Resource>();
  for (const r of resources) {
    const prev = byAddress.get(r.address);
    if (prev) {
      diagnostics.push({
        severity: 'error',
        code: 'E_DUPLICATE',
        message: `${r.kind} ${JSON.stringify(r.name)} is already declared at ${prev.pos.file}:${prev.pos.line}:${prev.pos.col}`,
        pos: positionOf(r, '/metadata/name'),
      });
      continue;
    }
    byAddress.set(r.address, r);
  }
  const elsewhere = new Map<string, Resource[]>();
  for (const r of repository) {
    const k = `${r.kind}/${r.name}`;
    (elsewhere.get(k) ?? elsewhere.set(k, []).get(k)!).push(r);
  }
  const graph = new Graph();
  const references: ResolvedReference[] = [];
  for (const r of byAddress.values()) {
    graph.addNode(r.address);
    const def = kinds(r.kind);
    for (const ref of def?.references?.(r) ?? []) {
      const to = byAddress.get(`${r.env}/${ref.kind}/${ref.name}`);
      if (to) {
        references.push({ from: r, pointer: ref.pointer, to });
        if (ref.reverse) graph.addEdge(to.address, r.address);
        else graph.addEdge(r.address, to.address);
        continue;
      }
      if (failedAddresses.has(`${r.env}/${ref.kind}/${ref.name}`)) continue;
      const pos = positionOf(r, ref.pointer);
      if (!kinds(ref.kind)) {
        // e.g. a License covering a SoftwareDeployment before the software area is part of this build
        diagnostics.push({ severity: 'error', code: 'E_REF_KIND_UNKNOWN', message: `${r.address} references ${ref.kind} ${JSON.stringify(ref.name)}, but this einklang has no kind ${ref.kind} (its area is not registered)`, pos });
        continue;
      }
      const other = (elsewhere.get(`${ref.kind}/${ref.name}`) ?? []).filter((x) => x.env !== r.env);
      const crossZone = other.find((x) => x.zone !== r.zone);
      if (crossZone) {
        diagnostics.push({
          severity: 'error',
          code: 'E_CROSS_ZONE',
          message: `${r.zone} resource ${r.address} references ${crossZone.zone} ${crossZone.kind} ${JSON.stringify(ref.name)} (${crossZone.address} at ${crossZone.pos.file}:${crossZone.pos.line}:${crossZone.pos.col}); the zones are separated`,
          pos,
        });
      } else if (other.length) {
        diagnostics.push({ severity: 'error', code: 'E_REF_OTHER_ENV', message: `${ref.kind} ${JSON.stringify(ref.name)} exists only in environment ${other[0].env}; references stay within an environment`, pos });
      } else {
        const names = [...byAddress.values()].filter((x) => x.env === r.env && x.kind === ref.kind).map((x) => x.name);
        diagnostics.push({ severity: 'error', code: 'E_REF_DANGLING', message: `no ${ref.kind} named ${JSON.stringify(ref.name)} in environment ${r.env}${didYouMean(ref.name, names)}`, pos });
      }
    }
  }
  for (const cyc of graph.cycles()) {
    const first = byAddress.get(cyc[0])!;
    diagnostics.push({ severity: 'error', code: 'E_CYCLE', message: `dependency cycle: ${cyc.join(' -> ')}`, pos: first.pos });
  }
  for (const r of byAddress.values()) {
    const def = kinds(r.kind);
    if (def?.validate) {
      try {
        diagnostics.push(...def.validate(r, { byAddress }));
      } catch (e) {
        diagnostics.push({ severity: 'error', code: 'E_INTERNAL', message: `checking ${r.address} failed: ${(e as Error).message}`, pos: r.pos });
      }
    }
  }
  return { graph, references, byAddress, diagnostics };
}
