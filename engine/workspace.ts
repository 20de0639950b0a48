/**
 * Runs the static stages for the environments named on the command line:
 * discover -> load -> expand profiles -> validate -> resolve -> graph, plus
 * the validate-time policies. Everything `validate`, `plan`, `drift` and
 * `lab` share. Produces plain data and diagnostics; never touches a device
 * and never reads a secret.
 */
import { relative } from 'node:path';
import { realpathSync } from 'node:fs';
import type { Catalog, Diagnostic, Resource, Zone } from './types.js';
import { discoverEnvironments, displayPath, siblingEnvironments, type EnvironmentFolder } from './discover.js';
import { loadFile, type LoadedDocument } from './load.js';
import { expandProfiles } from './profiles.js';
import { validateEnvironment, type ValidatedEnvironment } from './validate.js';
import { resolveReferences, type Resolution } from './resolve.js';
import { isTargetResource } from './targets.js';
import { checkManagementNetworks } from './management-networks.js';
import { sha256 } from './hash.js';
import { connectionFileDiagnostics, localRoots, pathProblem, readRegularFile, type LocalRoots } from './local-files.js';
import { MAX_FILE_BYTES } from './load.js';

export interface Workspace {
  /** Kinds, drivers and policies of the run (from the composition root). */
  catalog: Catalog;
  /** Environments named by the run. */
  envs: ValidatedEnvironment[];
  folders: EnvironmentFolder[];
  /** Resources of the run's environments. */
  resources: Resource[];
  /** Resources of every environment of the repository (for repository-wide policies). Never used to reach a device. */
  repository: Resource[];
  resolution: Resolution;
  diagnostics: Diagnostic[];
  /** The zone of the run, or null when the environments span both zones. */
  zone: Zone | null;
  /** sha256 over the manifest files read for the run. */
  manifestsHash: string;
}

function loadEnvironment(catalog: Catalog, folder: EnvironmentFolder, roots: LocalRoots): { env?: ValidatedEnvironment; diagnostics: Diagnostic[]; files: string[]; failed: string[] } {
  const diagnostics: Diagnostic[] = [];
  const documents: LoadedDocument[] = [];
  const files: string[] = [];
  for (const f of folder.files) {
    // A manifest (environment.yaml may be a symlink) must resolve inside the repository.
    const outside = pathProblem(f, roots, { keysDir: false });
    if (outside && outside !== 'does not exist') {
      diagnostics.push({ severity: 'error', code: 'E_LOCAL_PATH', message: `manifest ${outside}`, pos: { file: displayPath(f), line: 1, col: 1 } });
      continue;
    }
    const res = loadFile(f, displayPath(f));
    files.push(f);
    diagnostics.push(...res.diagnostics);
    documents.push(...res.documents);
  }
  const envFile = displayPath(folder.files[0]);
  const envDoc = documents.find((d) => d.file === envFile && (d.value as { kind?: unknown })?.kind === 'Environment');
  if (envDoc) {
    const expanded = expandProfiles(envDoc, folder.root, roots);
    diagnostics.push(...expanded.diagnostics);
    documents.push(...expanded.documents);
    for (const d of expanded.documents) if (!files.includes(d.file)) files.push(d.file);
  }
  const v = validateEnvironment({ documents, envFile }, (k) => catalog.kind(k), catalog.kinds.map((k) => k.kind));
  diagnostics.push(...v.diagnostics);
  return { env: v.env, diagnostics, files, failed: v.failed };
}

export interface LoadOptions {
  /** Also load every other environment of the repository (repository-wide policies, cross-zone checks). Default true. */
  repositoryWide?: boolean;
  /** Require the run to cover one zone only (plan, apply, drift). */
  singleZone?: boolean;
  /** --keys-dir: connection files (privateKeyFile, ...) may also resolve inside it. */
  keysDir?: string;
}

export async function loadWorkspace(catalog: Catalog, paths: string[], opts: LoadOptions = {}): Promise<Workspace> {
  const diagnostics: Diagnostic[] = [];
  const found = discoverEnvironments(paths);
  diagnostics.push(...found.diagnostics);
  const roots = localRoots(found.envs.map((e) => e.root), opts.keysDir);
  const envs: ValidatedEnvironment[] = [];
  const fileSet = new Set<string>();
  const loadedByDir = new Map<string, ValidatedEnvironment | undefined>();
  const failed: string[] = [];
  for (const folder of found.envs) {
    const r = loadEnvironment(catalog, folder, roots);
    diagnostics.push(...r.diagnostics);
    failed.push(...r.failed);
    r.files.forEach((f) => fileSet.add(f));
    loadedByDir.set(folder.dir, r.env);
    if (r.env) envs.push(r.env);
  }
  const names = new Map<string, string>();
  for (const [dir, env] of loadedByDir) {
    if (!env) continue;
    const prev = names.get(env.name);
    if (prev) diagnostics.push({ severity: 'error', code: 'E_DUPLICATE', message: `environment name ${JSON.stringify(env.name)} is also used by ${displayPath(prev)}`, pos: env.environment.pos });
    names.set(env.name, dir);
  }
  const resources = envs.flatMap((e) => e.resources);
  let repository = resources;
  if (opts.repositoryWide !== false && found.envs.length) {
    repository = [...resources];
    for (const folder of siblingEnvironments(found.envs)) {
      if (loadedByDir.has(folder.dir)) continue;
      // Other environments only feed repository-wide checks; their own errors are reported when they are validated.
      const r = loadEnvironment(catalog, folder, roots);
      if (r.env) repository.push(...r.env.resources);
    }
  }
  const zones = new Set(envs.map((e) => e.zone));
  const zone = zones.size === 1 ? [...zones][0] : null;
  if (opts.singleZone && zones.size > 1) {
    diagnostics.push({
      severity: 'error',
      code: 'E_MIXED_ZONES',
      message: `a run covers one zone only; these environments span school (${envs.filter((e) => e.zone === 'school').map((e) => e.name).join(', ')}) and administration (${envs.filter((e) => e.zone === 'administration').map((e) => e.name).join(', ')})`,
      pos: envs[0].environment.pos,
    });
  }
  await prepareKinds(catalog, resources);
  const resolution = resolveReferences(resources, (k) => catalog.kind(k), repository, failed);
  diagnostics.push(...resolution.diagnostics);
  diagnostics.push(...connectionFileDiagnostics(resources.filter((r) => isTargetResource(catalog, r)), roots));
  // Each driver checks the connections it will use (plain-HTTP WinRM, missing pins, ...); warnings reach the plan.
  for (const r of resources) {
    if (!isTargetResource(catalog, r)) continue;
    try {
      diagnostics.push(...(catalog.driverEntry(String(r.spec?.connection?.driver))?.validateConnection?.(r) ?? []));
    } catch (e) {
      diagnostics.push({ severity: 'error', code: 'E_INTERNAL', message: `checking the connection of ${r.address} failed: ${(e as Error).message}`, pos: r.pos });
    }
  }
  // Where targets may be: checked before any connection is opened or any secret is read.
  const envByName = new Map(envs.map((e) => [e.name, e.environment]));
  diagnostics.push(
    ...checkManagementNetworks(catalog, resources, (env) => {
      const e = envByName.get(env);
      const list = e?.spec?.managementNetworks;
      return { list: Array.isArray(list) ? list : undefined, pos: e };
    }),
  );
  // Paths relative to the repository, so the hash is the same wherever plan and apply run from.
  const repoRoot = roots.repository[0] ?? process.cwd();
  const h = [...fileSet]
    .map((f) => {
      let rel: string;
      try {
        rel = relative(repoRoot, realpathSync(f));
      } catch {
        rel = relative(repoRoot, f);
      }
      try {
        return `${rel}\u0000${sha256(readRegularFile(f, MAX_FILE_BYTES))}`;
      } catch {
        return `${rel}\u0000(unreadable)`;
      }
    })
    .sort();
  return { catalog, envs, folders: found.envs, resources, repository, resolution, diagnostics: sortDiagnostics(diagnostics), zone, manifestsHash: 'sha256:' + sha256(h.join('\n')) };
}

/** Lets each kind that occurs load what its validation needs (the CEL compiler for Policy), once. */
async function prepareKinds(catalog: Catalog, resources: Resource[]): Promise<void> {
  const kinds = new Set(resources.map((r) => r.kind));
  await Promise.all([...kinds].map((k) => catalog.kind(k)?.prepare?.()));
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds
    .filter((d) => {
      const k = `${d.pos?.file}:${d.pos?.line}:${d.pos?.col}:${d.code}:${d.message}`;
      return seen.has(k) ? false : (seen.add(k), true);
    })
    .sort((a, b) => (a.pos?.file ?? '').localeCompare(b.pos?.file ?? '') || (a.pos?.line ?? 0) - (b.pos?.line ?? 0) || (a.pos?.col ?? 0) - (b.pos?.col ?? 0));
}

export function hasErrors(ds: Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}
