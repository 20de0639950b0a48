/**
 * CEL rule policies: the built-in ones written in CEL and every `Policy`
 * resource an environment declares run through this one evaluator.
 *
 * A rule is a CEL predicate that must return `true` for a matching resource
 * (like a Kubernetes ValidatingAdmissionPolicy validation). Variables:
 *   resource     {address, env, zone, kind, name, labels, spec}
 *   environment  {name, zone, spec} of the resource's Environment (spec {} if none)
 *   resources    list of every resource of the run, same shape as `resource`
 *   change       plan stage only: the planned Change (actions, before, after, diff, ...)
 * `false`, a non-bool result or an evaluation error is a violation: a broken
 * rule fails closed rather than passing silently.
 *
 * Scope: a Policy declared in an environment (directly or through a profile)
 * applies only to that environment's resources; `match` narrows further.
 */
import type { Change, PolicyResult, PolicyViolation, Resource, SourcePos, Zone } from '../engine/types.js';
import { celEngine, type CelEngineName, type CompiledRule } from './cel.js';
import { environmentsByName, isPlainObject, META_KINDS, posAt } from './util.js';

export interface RuleMatch {
  kinds?: string[];
  zones?: Zone[];
  labels?: Record<string, string>;
}

export interface RuleDef {
  name: string;
  match: RuleMatch;
  rule: string;
  message: string;
  enforcement: 'mandatory' | 'advisory';
  stage: 'validate' | 'plan';
  /** Environment-declared policies apply to their own environment only. */
  scopeEnv?: string;
  /** The Policy resource (for positions of compile errors). */
  source?: Resource;
  /** Where in a violating resource to point (default: the document). */
  pointer?: (res: Resource) => string | undefined;
  /**
   * Built-in rules only: a cheap test of whether the rule can fail for a
   * resource at all. Resources it rejects are not evaluated, and a run where
   * it rejects everything never loads the CEL library. Must be conservative:
   * true whenever the CEL rule could return false.
   */
  prefilter?: (res: Resource, environment: Resource | undefined) => boolean;
}

/** Windows (NetBIOS) and linuxmuster.net host names: 1-15 of a-z, 0-9, '-', not starting or ending with '-'. */
export const HOSTNAME_RULE = [
  '!((has(resource.spec.os) && resource.spec.os == "windows")',
  ' || ("naming" in resource.labels && resource.labels["naming"] == "linuxmuster")',
  ' || (has(environment.spec.policies) && has(environment.spec.policies.naming)',
  '     && environment.spec.policies.naming == "linuxmuster"))',
  '|| string(has(resource.spec.hostname) ? resource.spec.hostname : resource.name)',
  '   .matches("^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")',
].join('\n');

export const HOSTNAME_NAMING = 'builtin/hostname-naming';

export const builtinRuleDefs: RuleDef[] = [
  {
    name: HOSTNAME_NAMING,
    match: { kinds: ['Server'] },
    rule: HOSTNAME_RULE,
    message:
      'host name must be 1-15 characters of a-z, 0-9 and "-" (Windows NetBIOS limit; linuxmuster naming). ' +
      'Applies to Windows servers, resources labelled naming: linuxmuster, and environments with spec.policies.naming: linuxmuster',
    enforcement: 'mandatory',
    stage: 'validate',
    pointer: (r) => (r.spec && typeof r.spec === 'object' && 'hostname' in r.spec ? '/spec/hostname' : '/metadata/name'),
    // The CEL rule's own guard, in TypeScript: only these resources can violate it.
    prefilter: (r, env) => r.spec?.os === 'windows' || r.labels?.naming === 'linuxmuster' || env?.spec?.policies?.naming === 'linuxmuster',
  },
];

/** Turn the run's Policy resources into rule definitions (invalid ones keep enough to fail closed). */
export function policyResourceDefs(zoneResources: Resource[]): RuleDef[] {
  const out: RuleDef[] = [];
  for (const r of zoneResources) {
    if (r.kind !== 'Policy') continue;
    const s = isPlainObject(r.spec) ? r.spec : {};
    const m = isPlainObject(s.match) ? s.match : {};
    out.push({
      name: r.address,
      match: {
        kinds: Array.isArray(m.kinds) ? m.kinds.map(String) : undefined,
        zones: Array.isArray(m.zones) ? (m.zones.map(String) as Zone[]) : undefined,
        labels: isPlainObject(m.labels) ? (m.labels as Record<string, string>) : undefined,
      },
      rule: typeof s.rule === 'string' ? s.rule : '',
      message: typeof s.message === 'string' && s.message ? s.message : `violates policy ${r.name}`,
      enforcement: s.enforcement === 'advisory' ? 'advisory' : 'mandatory',
      stage: s.stage === 'plan' ? 'plan' : 'validate',
      scopeEnv: r.env,
      source: r,
    });
  }
  return out;
}

function matches(def: RuleDef, res: Resource): boolean {
  if (def.scopeEnv !== undefined && res.env !== def.scopeEnv) return false;
  const m = def.match;
  if (m.kinds && m.kinds.length && !m.kinds.includes(res.kind) && !m.kinds.includes('*')) return false;
  if (!m.kinds?.length && META_KINDS.has(res.kind)) return false;
  if (m.zones && m.zones.length && !m.zones.includes(res.zone)) return false;
  if (m.labels) {
    for (const [k, v] of Object.entries(m.labels)) if (res.labels?.[k] !== String(v)) return false;
  }
  return true;
}

function passesPrefilter(def: RuleDef, res: Resource, ctx: CelContext): boolean {
  return !def.prefilter || def.prefilter(res, ctx.envs.get(res.env));
}

/** True when evaluating `defs` over `zoneResources` compiles any CEL (so the library must be loaded). */
export function rulesNeedCel(defs: RuleDef[], zoneResources: Resource[], ctx: CelContext): boolean {
  return defs.some((d) => d.source !== undefined || zoneResources.some((r) => matches(d, r) && passesPrefilter(d, r, ctx)));
}

/** CEL views of resources and environments, built once per evaluation. */
export class CelContext {
  private views = new Map<Resource, Record<string, unknown>>();
  private envViews = new Map<string, Record<string, unknown>>();
  private all: Record<string, unknown>[] | null = null;
  private index: Map<string, Resource> | null = null;
  readonly envs: Map<string, Resource>;

  constructor(private zoneResources: Resource[]) {
    this.envs = environmentsByName(zoneResources);
  }

  resource(r: Resource): Record<string, unknown> {
    let v = this.views.get(r);
    if (!v) {
      v = {
        address: r.address,
        env: r.env,
        zone: r.zone,
        kind: r.kind,
        name: r.name,
        labels: isPlainObject(r.labels) ? r.labels : {},
        spec: isPlainObject(r.spec) ? r.spec : {},
      };
      this.views.set(r, v);
    }
    return v;
  }

  environment(r: Resource): Record<string, unknown> {
    let v = this.envViews.get(r.env);
    if (!v) {
      const e = this.envs.get(r.env);
      v = { name: r.env, zone: r.zone, spec: isPlainObject(e?.spec) ? e!.spec : {} };
      this.envViews.set(r.env, v);
    }
    return v;
  }

  /** The run's resources by address (built on first use). */
  byAddress(): Map<string, Resource> {
    if (!this.index) this.index = new Map(this.zoneResources.map((r) => [r.address, r]));
    return this.index;
  }

  resources(): Record<string, unknown>[] {
    if (!this.all) this.all = this.zoneResources.map((r) => this.resource(r));
    return this.all;
  }
}

function rulePos(def: RuleDef): SourcePos | undefined {
  return def.source ? posAt(def.source, '/spec/rule') : undefined;
}

interface Subject {
  res: Resource;
  address: string;
  change?: Change;
}

function runRule(def: RuleDef, compiled: CompiledRule, subjects: Subject[], ctx: CelContext): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const related = def.source ? [{ address: def.source.address, pos: rulePos(def) }] : undefined;
  const needAll = compiled.uses('resources');
  for (const s of subjects) {
    const vars: Record<string, unknown> = {
      resource: ctx.resource(s.res),
      environment: ctx.environment(s.res),
    };
    if (needAll) vars.resources = ctx.resources();
    if (s.change) vars.change = s.change;
    const out = compiled.evaluate(vars);
    let msg: string | null = null;
    if (!out.ok) msg = `${def.message} (rule failed: ${out.error})`;
    else if (out.value !== true) msg = out.value === false ? def.message : `${def.message} (rule returned ${typeof out.value}, not bool)`;
    if (msg !== null) {
      const pointer = def.pointer?.(s.res);
      violations.push({
        address: s.address,
        message: msg,
        pos: s.res.pos?.file ? posAt(s.res, pointer) : s.change?.pos,
        ...(related ? { related } : {}),
      });
    }
  }
  return violations;
}

function evaluateDef(def: RuleDef, subjects: Subject[], ctx: CelContext, engine: CelEngineName): PolicyResult {
  // A built-in rule with nothing to check passes without compiling; a Policy resource always compiles (fails closed).
  if (!def.source && subjects.length === 0) return { name: def.name, enforcement: def.enforcement, passed: true, violations: [] };
  const c = celEngine(engine).compile(def.rule);
  if (!c.ok) {
    // A rule that does not compile fails closed (validate also reports E_POLICY_CEL).
    const v: PolicyViolation = {
      address: def.source?.address ?? def.name,
      message: `policy rule does not compile: ${c.error}`,
      pos: rulePos(def),
    };
    return { name: def.name, enforcement: def.enforcement, passed: false, violations: [v] };
  }
  const violations = runRule(def, c.rule, subjects, ctx);
  return { name: def.name, enforcement: def.enforcement, passed: violations.length === 0, violations };
}

function byEnv<T>(items: T[], env: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of items) {
    const k = env(x);
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(x);
  }
  return m;
}

/** Validate-stage rules over the run's resources. */
export function evaluateResourceRules(
  defs: RuleDef[],
  zoneResources: Resource[],
  ctx: CelContext,
  engine: CelEngineName,
): PolicyResult[] {
  const perEnv = byEnv(zoneResources, (r) => r.env);
  return defs
    .filter((d) => d.stage === 'validate')
    .map((def) => {
      const candidates = def.scopeEnv !== undefined ? (perEnv.get(def.scopeEnv) ?? []) : zoneResources;
      const subjects = candidates.filter((r) => matches(def, r) && passesPrefilter(def, r, ctx)).map((r) => ({ res: r, address: r.address }));
      return evaluateDef(def, subjects, ctx, engine);
    });
}

/** Plan-stage rules, once per planned change whose resource matches. */
export function evaluateChangeRules(
  defs: RuleDef[],
  zoneResources: Resource[],
  changes: Change[],
  ctx: CelContext,
  engine: CelEngineName,
): PolicyResult[] {
  const byAddress = ctx.byAddress();
  const subjects: Subject[] = changes.map((ch) => {
    const resAddr = typeof ch.resource === 'string' ? ch.resource : String(ch.address);
    let res = byAddress.get(resAddr);
    if (!res) {
      // A delete of a resource no longer in the manifests: a minimal stand-in.
      const [env = '', kind = ch.kind, ...rest] = resAddr.split('/');
      const zone = (ctx.envs.get(env)?.zone ?? zoneResources[0]?.zone ?? 'school') as Zone;
      res = {
        address: resAddr, env, zone, apiVersion: 'einklang/v1', kind, name: rest.join('/'), labels: {}, spec: {},
        pos: ch.pos ?? { file: '', line: 0, col: 0 }, positions: {}, dir: '',
      };
    }
    return { res, address: ch.address, change: ch };
  });
  const perEnv = byEnv(subjects, (s) => s.res.env);
  return defs
    .filter((d) => d.stage === 'plan')
    .map((def) => {
      const candidates = def.scopeEnv !== undefined ? (perEnv.get(def.scopeEnv) ?? []) : subjects;
      return evaluateDef(def, candidates.filter((s) => matches(def, s.res) && passesPrefilter(def, s.res, ctx)), ctx, engine);
    });
}
