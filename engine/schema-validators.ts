/**
 * JSON Schema validators for the kinds' specs.
 *
 * `npm run build` compiles every schema under schemas/ into one module of
 * standalone ajv code (`dist/schemas/validators.cjs`, written by
 * cli/compile-schemas.ts), so a run neither loads ajv nor generates and
 * compiles validator code at start-up (together about a third of a small
 * plan's own CPU). Each precompiled validator carries the sha256 of the
 * schema file it came from; a schema edited after the build (or a missing
 * build output) falls back to compiling with ajv at run time, so a stale
 * build can never validate against an old schema.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { sha256 } from './hash.js';
import { packageRoot, schemasDir } from './paths.js';

/** A compiled validator: true when valid; `errors` holds ajv's errors of the last call otherwise. */
export interface SpecValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** The ajv options the build and the run-time fallback share (they must agree). */
export const AJV_OPTIONS = { allErrors: true, strict: false, allowUnionTypes: true } as const;

/** Where the build writes the precompiled module. */
export const PRECOMPILED_PATH = join(packageRoot, 'dist', 'schemas', 'validators.cjs');

interface Precompiled {
  /** schema path relative to schemas/ -> sha256 of the file the validator was compiled from */
  hashes: Record<string, string>;
  validators: Record<string, SpecValidator>;
}

const require = createRequire(import.meta.url);
let precompiled: Precompiled | null | undefined;
const compiled = new Map<string, SpecValidator>();
let runtimeAjv: { compile(schema: unknown): SpecValidator } | undefined;

function loadPrecompiled(): Precompiled | null {
  if (precompiled === undefined) {
    try {
      precompiled = existsSync(PRECOMPILED_PATH) ? (require(PRECOMPILED_PATH) as Precompiled) : null;
    } catch {
      precompiled = null; // a broken build output: compile at run time
    }
  }
  return precompiled;
}

/** The ajv instance of the fallback, created on first need. */
export function makeAjv(): { compile(schema: unknown): SpecValidator } {
  const { Ajv } = require('ajv') as typeof import('ajv');
  const addFormats = require('ajv-formats') as (a: InstanceType<typeof Ajv>) => void;
  const ajv = new Ajv({ ...AJV_OPTIONS });
  addFormats(ajv);
  return ajv as unknown as { compile(schema: unknown): SpecValidator };
}

/** The schema as ajv compiles it (without `$schema`, which would make ajv look for the meta-schema). */
export function schemaForAjv(text: string): Record<string, unknown> {
  const schema = JSON.parse(text);
  delete schema.$schema;
  return schema;
}

/** Validator of the schema at `schemaPath` (relative to schemas/), compiled once per run. */
export function specValidator(schemaPath: string): SpecValidator {
  let v = compiled.get(schemaPath);
  if (v) return v;
  const text = readFileSync(join(schemasDir, schemaPath), 'utf8');
  const pre = loadPrecompiled();
  if (pre && pre.hashes[schemaPath] === sha256(text) && pre.validators[schemaPath]) v = pre.validators[schemaPath];
  else v = (runtimeAjv ??= makeAjv()).compile(schemaForAjv(text));
  compiled.set(schemaPath, v);
  return v;
}
