/**
 * The trusted revision: where the rules that gate an apply come from.
 *
 * A change under review must never decide who may approve it. So the rules
 * (Environment `approvals`, `changeWindows`, `managementNetworks`,
 * `journalSigners`, built-in policy settings; `Reviewer` and `Policy`
 * resources) are read from a git revision the change cannot touch: the
 * target branch (`--trusted-ref`, which CI passes), else the repository's
 * default branch (`origin/HEAD`, `origin/main`, `main`, ...). Outside git the
 * working tree is all there is, and the plan says so plainly.
 *
 * The trusted tree is exported with `git archive` into a temporary folder and
 * loaded with the same pipeline as the working tree; nothing of the working
 * tree (and no file the change could have replaced) is read for it.
 *
 * A change to any of those rules is a governance change: listed first in
 * every plan format, and approved under the trusted rules.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Catalog, Resource, SourcePos, Zone } from './types.js';
import { canonicalJson } from './hash.js';
import { gitTopLevel } from './repository.js';
import { loadWorkspace, type Workspace } from './workspace.js';
import { loadText } from './load.js';

export interface Trust {
  /** `git`: the rules come from `commit` (of `ref`); `working-tree`: no trusted revision exists here. */
  source: 'git' | 'working-tree';
  ref: string | null;
  commit: string | null;
}

export class TrustError extends Error {}

/** Environment fields that are rules (the rest of an Environment is ordinary configuration). */
export const GOVERNANCE_FIELDS = ['approvals', 'changeWindows', 'managementNetworks', 'journalSigners', 'policies'] as const;

/** Refs tried, in order, when no --trusted-ref is given. */
const DEFAULT_REFS = ['origin/HEAD', 'origin/main', 'origin/master', 'main', 'master'];

function git(top: string, args: string[]): string {
  return execFileSync('git', args, { cwd: top, stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000, maxBuffer: 64 * 1024 * 1024 }).toString().trim();
}

function commitOf(top: string, ref: string): string | null {
  if (!/^[A-Za-z0-9._/@{}^~-]+$/.test(ref) || ref.startsWith('-')) return null; // never an option to git
  try {
    return git(top, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  } catch {
    return null;
  }
}

/**
 * Which revision a run trusts. `explicitRef` (--trusted-ref) must exist;
 * without it the first default branch that exists is used; outside git, or
 * in a repository without any of them, the working tree.
 */
export function resolveTrust(cwd: string, explicitRef?: string): { trust: Trust; note: string } {
  const top = gitTopLevel(cwd);
  if (!top) {
    if (explicitRef) throw new TrustError(`--trusted-ref ${explicitRef}: ${cwd} is not in a git repository`);
    return { trust: { source: 'working-tree', ref: null, commit: null }, note: 'not a git repository: approval rules, reviewers and policies come from the working tree (nothing protects them from the change itself)' };
  }
  if (explicitRef) {
    const commit = commitOf(top, explicitRef);
    if (!commit) throw new TrustError(`--trusted-ref ${JSON.stringify(explicitRef)} names no commit in ${top}`);
    return { trust: { source: 'git', ref: explicitRef, commit }, note: `rules from the trusted revision ${explicitRef} (${commit.slice(0, 12)})` };
  }
  for (const ref of DEFAULT_REFS) {
    const commit = commitOf(top, ref);
    if (commit) return { trust: { source: 'git', ref, commit }, note: `no --trusted-ref given: rules from ${ref} (${commit.slice(0, 12)}); CI should pass the target branch` };
  }
  return { trust: { source: 'working-tree', ref: null, commit: null }, note: 'no --trusted-ref given and no default branch (origin/HEAD, main, master) exists: rules come from the working tree' };
}

/**
 * Whether `commit` is one the trusted branch `ref` has pointed at: on its
 * first-parent history. (The commits of a merged change are reachable from
 * the branch too, but only through a merge's second parent.)
 */
export function onTrustedHistory(cwd: string, commit: string, ref: string): boolean {
  const top = gitTopLevel(cwd);
  if (!top || !/^[0-9a-f]{40,64}$/.test(commit)) return false;
  const head = commitOf(top, ref);
  if (!head) return false;
  if (head === commit) return true;
  try {
    return git(top, ['rev-list', '--first-parent', '--max-count=100000', head]).split('\n').includes(commit);
  } catch {
    return false;
  }
}

/** Extracts `paths` (relative to the repository; folders `commit` has, as git ls-tree listed them) of `commit` into `dest` (git archive | tar). */
function exportTree(top: string, commit: string, paths: string[], dest: string): Promise<void> {
  const present = paths;
  if (!present.length) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const archive = spawn('git', ['archive', '--format=tar', commit, '--', ...present.map((p) => (p === '' ? '.' : p))], { cwd: top, stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '-f', '-', '-C', dest, '--no-same-owner', '--no-same-permissions'], { stdio: ['pipe', 'ignore', 'pipe'] });
    archive.stdout.pipe(tar.stdin);
    let err = '';
    archive.stderr.on('data', (d) => (err += d));
    tar.stderr.on('data', (d) => (err += d));
    let pending = 2;
    const done = (code: number | null) => {
      if (code !== 0) return reject(new TrustError(`cannot read the trusted revision ${commit.slice(0, 12)}: ${err.trim() || `exit ${code}`}`));
      if (--pending === 0) resolve();
    };
    archive.on('close', done);
    tar.on('close', done);
    archive.on('error', reject);
    tar.on('error', reject);
  });
}

/** The rules of the trusted revision for a run's environments. */
export interface TrustedRules {
  trust: Trust;
  /** The run's environment names that the trusted revision does not have (new in the change). */
  newEnvironments: string[];
  /** Trusted Environment resources by name (the zone's; new environments get the zone's strictest rules, see gateEnvironments). */
  environments: Map<string, Resource>;
  /** Trusted Reviewer resources of the run's environments (and of the zone's for new ones). */
  reviewers: Resource[];
  /** Trusted Policy resources of the run's environments. */
  policies: Resource[];
  /** Every trusted resource of the run's environments (files a trusted revision manages, ...). */
  resources: Resource[];
}

/**
 * The trusted rules for the run's environments out of the trusted tree's
 * environments. An environment is found by its name anywhere in the
 * repository (a change cannot escape its rules by copying the environment
 * into a new folder); where the trusted tree has one name in several folders,
 * the one at the same place as the run's wins, else the strictest.
 */
function rulesFrom(trust: Trust, envs: { environment: Resource; resources: Resource[] }[], run: { name: string; place: string }[], zone: Zone | null, placeOf: (env: Resource) => string): TrustedRules {
  const byName = new Map<string, { environment: Resource; resources: Resource[] }[]>();
  for (const e of envs) if (!zone || e.environment.zone === zone) (byName.get(e.environment.env) ?? byName.set(e.environment.env, []).get(e.environment.env)!).push(e);
  const required = (e: { environment: Resource }) => Number(e.environment.spec?.approvals?.required ?? 0);
  const chosen = new Map<string, { environment: Resource; resources: Resource[] }>();
  for (const [name, list] of byName) {
    const here = run.find((e) => e.name === name);
    const same = here && list.find((e) => placeOf(e.environment) === here.place);
    chosen.set(name, same ?? list.reduce((x, y) => (required(y) > required(x) ? y : x)));
  }
  const envNames = run.map((e) => e.name);
  const newEnvironments = envNames.filter((n) => !chosen.has(n));
  // A new environment is approved by the reviewers of the zone's trusted environments.
  const scope = newEnvironments.length ? [...chosen.values()] : envNames.map((n) => chosen.get(n)!).filter(Boolean);
  const inRun = envNames.map((n) => chosen.get(n)).filter((e): e is { environment: Resource; resources: Resource[] } => !!e);
  return {
    trust,
    newEnvironments,
    environments: new Map([...chosen].map(([n, e]) => [n, e.environment])),
    reviewers: scope.flatMap((e) => e.resources.filter((r) => r.kind === 'Reviewer')),
    policies: inRun.flatMap((e) => e.resources.filter((r) => r.kind === 'Policy')),
    resources: inRun.flatMap((e) => e.resources),
  };
}

/** Every environment.yaml of `commit`: its path, and the name and zone it declares. */
function trustedEnvironmentFiles(top: string, commit: string): { file: string; name: string; zone: unknown }[] {
  let files: string[];
  try {
    files = execFileSync('git', ['ls-tree', '-r', '-z', '--name-only', commit], { cwd: top, stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000, maxBuffer: 256 * 1024 * 1024 })
      .toString()
      .split('\0')
      .filter((f) => (f === 'environment.yaml' || f.endsWith('/environment.yaml')) && !f.split('/').some((seg) => seg === 'node_modules' || seg.startsWith('.')));
  } catch {
    return [];
  }
  if (!files.length) return [];
  // One git process for all of them: `cat-file --batch` answers "<sha> blob <size>\n<content>\n" per line asked.
  const out = execFileSync('git', ['cat-file', '--batch'], { cwd: top, input: files.map((f) => `${commit}:${f}`).join('\n') + '\n', stdio: ['pipe', 'pipe', 'ignore'], timeout: 30_000, maxBuffer: 256 * 1024 * 1024 });
  const found: { file: string; name: string; zone: unknown }[] = [];
  let at = 0;
  for (const file of files) {
    const nl = out.indexOf(0x0a, at);
    const header = out.subarray(at, nl).toString();
    const size = Number(header.split(' ')[2]);
    if (!Number.isFinite(size)) break;
    const text = out.subarray(nl + 1, nl + 1 + size).toString('utf8');
    at = nl + 1 + size + 1;
    const doc = loadText(text, file, '.').documents.find((d) => (d.value as { kind?: unknown })?.kind === 'Environment')?.value as { metadata?: { name?: unknown }; spec?: { zone?: unknown } } | undefined;
    if (typeof doc?.metadata?.name === 'string') found.push({ file, name: doc.metadata.name, zone: doc.spec?.zone });
  }
  return found;
}

const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

/**
 * Loads the trusted rules for the run `ws`. For `working-tree` trust they
 * are the working tree's own (the plan says so). Only the trusted
 * environments that matter are loaded: those with the run's names, and when
 * the run has a new one, the zone's others (its strictest rule and
 * reviewers). The temporary export is removed before this returns.
 */
export async function loadTrustedRules(catalog: Catalog, trust: Trust, ws: Workspace): Promise<TrustedRules> {
  const top = gitTopLevel(ws.folders[0]?.dir ?? process.cwd());
  const placeIn = (base: string) => (env: Resource) => relative(base, env.dir);
  const run = ws.envs.map((e) => ({ name: e.name, place: top ? relative(top, e.environment.dir) : e.environment.dir }));
  if (trust.source === 'working-tree' || !trust.commit) return rulesFrom(trust, ws.envs, run, ws.zone, placeIn(top ?? '/'));
  if (!top) throw new TrustError('the trusted revision needs a git repository');
  const all = trustedEnvironmentFiles(top, trust.commit);
  const names = new Set(run.map((e) => e.name));
  let wanted = all.filter((f) => names.has(f.name));
  if ([...names].some((n) => !wanted.some((f) => f.name === n))) wanted = all.filter((f) => names.has(f.name) || f.zone === ws.zone);
  if (!wanted.length) return rulesFrom(trust, [], run, ws.zone, placeIn(top));
  const tmp = mkdtempSync(join(tmpdir(), 'einklang-trusted-'));
  try {
    // Export whole environment roots: profiles live beside the environment folders.
    const envDirs = [...new Set(wanted.map((f) => parentOf(f.file)))];
    await exportTree(top, trust.commit, [...new Set(envDirs.map(parentOf))], tmp);
    const present = envDirs.map((d) => join(tmp, d)).filter((d) => existsSync(d));
    const trusted = await loadWorkspace(catalog, present, { repositoryWide: false });
    return rulesFrom(trust, trusted.envs, run, ws.zone, placeIn(tmp));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The Environment resources the gate checks approvals and windows against:
 * the trusted ones; a new environment gets the strictest approval rules of
 * its zone's trusted environments (and its own change windows).
 */
export function gateEnvironments(rules: TrustedRules, working: Resource[]): Resource[] {
  const out: Resource[] = [];
  const trusted = [...rules.environments.values()];
  for (const w of working.filter((r) => r.kind === 'Environment')) {
    const t = rules.environments.get(w.env);
    if (t) {
      out.push(t);
      continue;
    }
    if (!trusted.length) {
      out.push(w); // nothing trusted exists for this zone yet: the plan says so
      continue;
    }
    const strictest = trusted.reduce((a, b) => ((b.spec?.approvals?.required ?? 0) > (a.spec?.approvals?.required ?? 0) ? b : a));
    const groups = [...new Set(trusted.flatMap((e) => (Array.isArray(e.spec?.approvals?.groups) ? e.spec.approvals.groups : [])))];
    out.push({ ...w, spec: { ...w.spec, approvals: { required: strictest.spec?.approvals?.required ?? 0, ...(groups.length ? { groups } : {}) } } });
  }
  return out;
}

/** Approval rules of a plan under the trusted revision: the strictest of its environments. */
export function trustedApprovalRules(rules: TrustedRules, working: Resource[]): { count: number; groups: string[] } {
  let count = 0;
  const groups = new Set<string>();
  for (const e of gateEnvironments(rules, working)) {
    count = Math.max(count, e.spec?.approvals?.required ?? 0);
    for (const g of e.spec?.approvals?.groups ?? []) groups.add(g);
  }
  return { count, groups: [...groups].sort() };
}

/** One change to the rules, as listed first in every plan format. */
export interface GovernanceChange {
  address: string;
  kind: 'Environment' | 'Reviewer' | 'Policy';
  action: 'create' | 'update' | 'delete';
  /** Rule fields that differ (Environment), or `spec` (Reviewer, Policy). */
  fields: string[];
  pos?: SourcePos;
}

function differs(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) !== canonicalJson(b ?? null);
}

/** What the change under review does to the rules, compared with the trusted revision. */
export function governanceChanges(rules: TrustedRules, working: Resource[]): GovernanceChange[] {
  const out: GovernanceChange[] = [];
  const runEnvs = new Set(working.filter((r) => r.kind === 'Environment').map((r) => r.env));
  for (const w of working.filter((r) => r.kind === 'Environment')) {
    const t = rules.environments.get(w.env);
    if (!t) {
      out.push({ address: w.address, kind: 'Environment', action: 'create', fields: GOVERNANCE_FIELDS.filter((f) => w.spec?.[f] !== undefined), pos: w.pos });
      continue;
    }
    const fields = GOVERNANCE_FIELDS.filter((f) => differs(w.spec?.[f], t.spec?.[f]));
    if (fields.length) out.push({ address: w.address, kind: 'Environment', action: 'update', fields, pos: w.pos });
  }
  for (const kind of ['Reviewer', 'Policy'] as const) {
    const trusted = new Map(rules.resources.filter((r) => r.kind === kind && runEnvs.has(r.env)).map((r) => [r.address, r]));
    const mine = new Map(working.filter((r) => r.kind === kind).map((r) => [r.address, r]));
    for (const [addr, w] of mine) {
      const t = trusted.get(addr);
      if (!t) out.push({ address: addr, kind, action: 'create', fields: ['spec'], pos: w.pos });
      else if (differs(w.spec, t.spec)) out.push({ address: addr, kind, action: 'update', fields: Object.keys({ ...w.spec, ...t.spec }).filter((k) => differs(w.spec?.[k], t.spec?.[k])).sort(), pos: w.pos });
    }
    for (const [addr] of trusted) if (!mine.has(addr)) out.push({ address: addr, kind, action: 'delete', fields: ['spec'] });
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}

/** Policies the change removed or altered stay in force: the trusted versions are evaluated too (named `<name>@trusted`). */
export function trustedPolicyOverlay(rules: TrustedRules, working: Resource[]): Resource[] {
  const mine = new Map(working.filter((r) => r.kind === 'Policy').map((r) => [r.address, r]));
  const out: Resource[] = [];
  for (const t of rules.policies) {
    const w = mine.get(t.address);
    if (w && !differs(w.spec, t.spec)) continue;
    const name = `${t.name}@trusted`;
    out.push({ ...t, name, address: `${t.env}/Policy/${name}` });
  }
  return out;
}

/** Keys (`${target}\0${kind}\0${id}`) of the objects the trusted revision manages: their live content may be shown. */
export function trustedObjectKeys(rules: TrustedRules, expand: (resources: Resource[]) => { target: string; kind: string; id: string }[]): Set<string> {
  return new Set(expand(rules.resources).map((o) => `${o.target}\u0000${o.kind}\u0000${o.id}`));
}
