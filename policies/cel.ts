/**
 * CEL (Common Expression Language) behind one small interface, so that the
 * policy engine does not depend on a particular library.
 *
 * Two maintained libraries are wired in and compared by bench/policies.ts:
 *
 * - `cel-js`   (@marcbachmann/cel-js): small, no dependencies, fast; has a
 *   static type checker, so undeclared variables and unknown functions are
 *   caught when a Policy is validated, not when it first runs.
 * - `bufbuild` (@bufbuild/cel): checked against the CEL conformance suite,
 *   larger (pulls in protobuf-es), reports unknown functions only at run time.
 *
 * PRODUCTION CHOICE: `cel-js`. On the bench (bench/policies.ts: 200,000
 * generated resources of 96 environments, every built-in policy plus one CEL
 * Policy per school, ~4,000 planned changes; each library in its own process)
 * cel-js needed about 1.0 s of CPU for the whole policy stage against about
 * 2.7 s for bufbuild — the CEL part alone ~0.45 s vs ~2.9 s — at the same
 * peak RSS (~515 MB, ~300 MB of which is the generated input). Its type checker
 * also gives the better validate-time error: E_POLICY_CEL for `foo(1)` or a
 * misspelt variable, where bufbuild only fails when the rule first runs. The
 * rules einklang needs (field access, has(), size(), matches(), in,
 * exists/all, comparisons, string functions) behave the same in both (the
 * policy tests run against both); bufbuild stays selectable (`engine:
 * 'bufbuild'`) as the conformance-tested reference.
 *
 * Both engines are used defensively: compile and evaluation never throw,
 * errors come back as `{ok: false, error}` with a one-line message.
 */
import { createRequire } from 'node:module';

/**
 * cel-js loads on first need: a run without Policy resources and without a
 * resource a built-in CEL rule applies to (Windows servers, linuxmuster
 * naming) never loads it. Callers of the synchronous API await loadCel() first.
 */
type CelJs = typeof import('@marcbachmann/cel-js');
let celJs: CelJs | undefined;
export async function loadCel(): Promise<void> {
  celJs ??= await import('@marcbachmann/cel-js');
}
export function celLoaded(): boolean {
  return celJs !== undefined;
}

/** @bufbuild/cel takes ~120 ms to load; only the bench and the comparison tests use it, so it loads on first use. */
type BufCel = typeof import('@bufbuild/cel');
let bufCel: BufCel | undefined;
function loadBufCel(): BufCel {
  return (bufCel ??= createRequire(import.meta.url)('@bufbuild/cel') as BufCel);
}

export type CelEngineName = 'cel-js' | 'bufbuild';

/** The variables a policy rule can use (documented in schemas/governance/Policy.schema.json). */
export const CEL_VARIABLES = ['resource', 'environment', 'resources', 'change'] as const;

export type CelOutcome = { ok: true; value: unknown } | { ok: false; error: string };

export interface CompiledRule {
  /** Evaluate with the given variables (a subset of CEL_VARIABLES). Never throws. */
  evaluate(vars: Record<string, unknown>): CelOutcome;
  /** True if the expression mentions the identifier (used to skip binding large values). */
  uses(variable: string): boolean;
}

export type CompileOutcome = { ok: true; rule: CompiledRule } | { ok: false; error: string };

export interface CelEngine {
  name: CelEngineName;
  /** Parse (and where the library can, type-check) an expression. Never throws. Cached per expression. */
  compile(expr: string): CompileOutcome;
}

export const DEFAULT_CEL_ENGINE: CelEngineName = 'cel-js';

/** Longest rule accepted; a policy is a predicate, not a program. */
const MAX_RULE_LENGTH = 4096;

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
  return first.trim();
}

function usesFn(expr: string): (v: string) => boolean {
  return (v) => new RegExp(`\\b${v}\\b`).test(expr);
}

function preflight(expr: unknown): string | null {
  if (typeof expr !== 'string') return 'rule must be a string';
  if (expr.trim() === '') return 'rule is empty';
  if (expr.length > MAX_RULE_LENGTH) return `rule is longer than ${MAX_RULE_LENGTH} characters`;
  return null;
}

function cached(compileFn: (expr: string) => CompileOutcome): (expr: string) => CompileOutcome {
  const cache = new Map<string, CompileOutcome>();
  return (expr: string) => {
    const pre = preflight(expr);
    if (pre) return { ok: false, error: pre };
    let hit = cache.get(expr);
    if (!hit) {
      hit = compileFn(expr);
      if (cache.size > 10_000) cache.clear();
      cache.set(expr, hit);
    }
    return hit;
  };
}

/**
 * Wrap a library's compiled function as a CompiledRule: every declared
 * variable is bound (unbound ones as null), errors come back as values.
 * `run` returns the library's result, or throws; `isError` recognises a
 * returned error value.
 */
function compiledRule(expr: string, run: (ctx: Record<string, any>) => unknown, isError: (r: unknown) => boolean = () => false): CompileOutcome {
  return {
    ok: true,
    rule: {
      uses: usesFn(expr),
      evaluate(vars) {
        try {
          const ctx: Record<string, any> = {};
          for (const v of CEL_VARIABLES) ctx[v] = vars[v] ?? null;
          const r = run(ctx);
          return isError(r) ? { ok: false, error: oneLine(r) } : { ok: true, value: r };
        } catch (e) {
          return { ok: false, error: oneLine(e) };
        }
      },
    },
  };
}

function guardedCompile(fn: (expr: string) => CompileOutcome): (expr: string) => CompileOutcome {
  return cached((expr) => {
    try {
      return fn(expr);
    } catch (e) {
      return { ok: false, error: oneLine(e) };
    }
  });
}

// ------------------------------------------------------------------ cel-js

function makeCelJs(): CelEngine {
  if (!celJs) throw new Error('internal: the CEL library is not loaded (await loadCel() first)');
  const env = new celJs.Environment({
    unlistedVariablesAreDyn: false,
    homogeneousAggregateLiterals: false,
    limits: { maxAstNodes: 5000, maxDepth: 100 },
  });
  for (const v of CEL_VARIABLES) env.registerVariable(v, 'dyn');
  return {
    name: 'cel-js',
    compile: guardedCompile((expr) => {
      const fn = env.parse(expr);
      const checked = fn.check();
      if (!checked.valid) return { ok: false, error: oneLine(checked.error) };
      if (checked.type !== 'bool' && checked.type !== 'dyn') {
        return { ok: false, error: `rule must evaluate to bool, not ${checked.type}` };
      }
      return compiledRule(expr, (ctx) => fn(ctx));
    }),
  };
}

// ------------------------------------------------------------------ bufbuild

function makeBufbuild(): CelEngine {
  const { celEnv, isCelError, parse: bufParse, plan: bufPlan } = loadBufCel();
  const env = celEnv({});
  return {
    name: 'bufbuild',
    compile: guardedCompile((expr) => {
      const fn = bufPlan(env, bufParse(expr));
      return compiledRule(expr, (ctx) => fn(ctx), isCelError);
    }),
  };
}

const engines = new Map<CelEngineName, CelEngine>();

export function celEngine(name: CelEngineName = DEFAULT_CEL_ENGINE): CelEngine {
  let e = engines.get(name);
  if (!e) {
    e = name === 'bufbuild' ? makeBufbuild() : makeCelJs();
    engines.set(name, e);
  }
  return e;
}

/** Convenience for validate: the error of a rule, or null if it compiles. */
export function celCompileError(expr: unknown, engine: CelEngineName = DEFAULT_CEL_ENGINE): string | null {
  const r = celEngine(engine).compile(expr as string);
  return r.ok ? null : r.error;
}
